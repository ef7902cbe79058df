//! A procedure's graph as SVG, drawn on the server: laid out by `layout-rs` (pure Rust, no
//! `dot` binary to install at a department) and written by this module's own canvas.
//!
//! The graph is built from the model, not parsed back from `render::dot`: layout-rs's dot
//! reader turns most Graphviz shapes into circles, ignores pen widths and cannot mark a node,
//! and its SVG writer sizes the picture from byte counts and scales nothing. Here the boxes
//! carry the same lines as the dot output (`render::state_lines`, budgets in Vietnamese),
//! long labels wrap, the dossier's active states are marked, and the SVG gets a `viewBox`
//! with its natural size times the zoom, so the page scrolls (pans) a legible drawing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::Point;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
use layout::topo::layout::VisualGraph;
use motcua::procedure::{Procedure, State, StateKind};

/// The zoom levels the page offers, in percent of the natural size.
pub const ZOOMS: [u16; 5] = [50, 75, 100, 150, 200];
/// At 100 % one unit of the drawing is one CSS pixel, so the fonts below are the sizes read.
pub const DEFAULT_ZOOM: u16 = 100;
/// States' text, in drawing units.
pub const NODE_FONT: usize = 15;
/// Actions' text, in drawing units: the smallest text drawn, at least 12 px at 100 %.
pub const EDGE_FONT: usize = 12;

/// Characters per line before a state's text wraps; keeps boxes narrow enough that a
/// procedure's ranks fit a screen's width at 100 %.
const NODE_WRAP: usize = 30;
/// Characters per line of an action's label, and the lines shown before it is shortened.
const EDGE_WRAP: usize = 24;
const EDGE_LINES: usize = 3;
/// Average advance of a sans-serif glyph, in ems: how wide a line is estimated to be.
const GLYPH: f64 = 0.6;
const LINE: f64 = 1.25;
/// Inside a box, around its text.
const PAD: f64 = 12.0;
/// Around the whole drawing.
const MARGIN: f64 = 12.0;

/// Fill and stroke of the dossier's active states (the page's legend repeats them).
pub const CURRENT_FILL: &str = "#ffe08a";
pub const CURRENT_STROKE: &str = "#c2410c";

/// The zoom a query asked for, if it is one the page offers; else the default. Unknown
/// values are not an error: a typed URL still gets a diagram.
pub fn zoom(asked: Option<&str>) -> u16 {
    asked
        .and_then(|z| z.trim().trim_end_matches('%').parse::<u16>().ok())
        .filter(|z| ZOOMS.contains(z))
        .unwrap_or(DEFAULT_ZOOM)
}

/// The diagram of `p` with the states in `current` marked, `zoom` percent of its natural
/// size, or why it could not be drawn.
pub fn svg(p: &Procedure, current: &[String], zoom: u16) -> Result<String, String> {
    svg_marked(p, current, &BTreeMap::new(), zoom)
}

/// A state's look on a diagram of observed waits: its fill and a line added under its text.
pub struct Mark {
    pub fill: &'static str,
    pub line: String,
}

/// [`svg`] with the states in `marks` filled in their mark's colour, its line added to their
/// box (class `waited`): the leader's diagram of where dossiers really wait.
pub fn svg_marked(
    p: &Procedure,
    current: &[String],
    marks: &BTreeMap<String, Mark>,
    zoom: u16,
) -> Result<String, String> {
    let current: BTreeSet<&str> = current.iter().map(String::as_str).collect();
    // The layout library asserts on graphs it does not expect; an uploaded procedure must
    // not take the request's worker down with it.
    std::panic::catch_unwind(|| {
        let mut graph = graph(p, &current, marks);
        let mut canvas = Canvas::default();
        graph.do_it(false, false, false, &mut canvas);
        canvas.finish(zoom)
    })
    .map_err(|_| "Không dựng được sơ đồ của quy trình này.".to_string())?
}

fn graph(p: &Procedure, current: &BTreeSet<&str>, marks: &BTreeMap<String, Mark>) -> VisualGraph {
    let dir = Orientation::TopToBottom;
    let mut g = VisualGraph::new(dir);
    let nodes: Vec<_> = p
        .states
        .iter()
        .map(|s| {
            g.add_node(node(
                p,
                s,
                current.contains(s.id.as_str()),
                marks.get(&s.id),
                dir,
            ))
        })
        .collect();
    let index = |id: &str| p.states.iter().position(|s| s.id == id);
    let edge_look = StyleAttr::new(Color::new(0x4b5563ff), 1, None, 0, EDGE_FONT);
    for (i, s) in p.states.iter().enumerate() {
        if s.kind != StateKind::Fork {
            continue;
        }
        for b in &s.branches {
            if let Some(t) = index(b) {
                let arrow = Arrow::new(
                    LineEndKind::None,
                    LineEndKind::Arrow,
                    LineStyleKind::Dashed,
                    "song song",
                    &edge_look,
                    &None,
                    &None,
                );
                g.add_edge(arrow, nodes[i], nodes[t]);
            }
        }
    }
    for a in &p.actions {
        if let (Some(f), Some(t)) = (index(&a.from), index(&a.to)) {
            let arrow = Arrow::new(
                LineEndKind::None,
                LineEndKind::Arrow,
                LineStyleKind::Normal,
                &wrap(&a.label, EDGE_WRAP, EDGE_LINES).join("\n"),
                &edge_look,
                &None,
                &None,
            );
            g.add_edge(arrow, nodes[f], nodes[t]);
        }
    }
    g
}

/// A state's box: its lines wrapped, its kind in its look, and the classes the canvas
/// writes on it (`current` for the dossier's active states).
fn node(p: &Procedure, s: &State, current: bool, mark: Option<&Mark>, dir: Orientation) -> Element {
    let mut lines: Vec<String> =
        motcua::procedure::render::state_lines(p, s, &motcua::messages::format::duration)
            .iter()
            // The kind's sign (⑂ ⑃ ⏸) is missing from common screen fonts; the box's style
            // already says the kind.
            .map(|l| l.trim_start_matches(['⑂', '⑃', '⏸']).trim_start())
            .flat_map(|l| wrap(l, NODE_WRAP, usize::MAX))
            .collect();
    if let Some(m) = mark {
        lines.extend(wrap(&m.line, NODE_WRAP, usize::MAX));
    }
    let (fill, rounded, kind) = match s.kind {
        StateKind::Task => (0xffffffff, 6, "task"),
        StateKind::Applicant => (0xf3f4f6ff, 0, "applicant"),
        StateKind::Automatic => (0xe0f2feff, 0, "automatic"),
        StateKind::Fork | StateKind::Join => (0xe5e7ebff, 0, "parallel"),
        StateKind::Terminal => (0xffffffff, 16, "terminal"),
    };
    let width = match s.kind {
        _ if current => 3,
        _ if s.start => 3,
        StateKind::Terminal => 2,
        _ => 1,
    };
    let (line, fill) = if current {
        (web(CURRENT_STROKE), web(CURRENT_FILL))
    } else if let Some(m) = mark {
        (Color::new(0x1f2937ff), web(m.fill))
    } else {
        (Color::new(0x1f2937ff), Color::new(fill))
    };
    let look = StyleAttr::new(line, width, Some(fill), rounded, NODE_FONT);
    let size = text_size(&lines, NODE_FONT);
    let size = Point::new(size.x + 2.0 * PAD, size.y + 2.0 * PAD);
    let mut classes = format!("state {kind}");
    if s.start {
        classes.push_str(" start");
    }
    if current {
        classes.push_str(" current");
    }
    if mark.is_some() {
        classes.push_str(" waited");
    }
    Element::create_with_properties(ShapeKind::Box(lines.join("\n")), look, dir, size, classes)
}

fn web(hex: &str) -> Color {
    Color::from_name(hex).unwrap_or_else(|| Color::new(0x000000ff))
}

/// Words into lines of at most `width` characters (a longer word stands alone), at most
/// `max` lines, the last ending in "…" when text was left out. Lines that fit are balanced
/// (the narrowest width giving as few lines), so no word is left alone on the last line.
fn wrap(text: &str, width: usize, max: usize) -> Vec<String> {
    let lines = greedy(text, width);
    if lines.len() > max {
        let mut lines = lines;
        lines.truncate(max);
        if let Some(last) = lines.last_mut() {
            let kept: String = last.chars().take(width.saturating_sub(1)).collect();
            *last = format!("{}…", kept.trim_end_matches([',', ' ', ';', ':']));
        }
        return lines;
    }
    (1..width)
        .rev()
        .map_while(|w| Some(greedy(text, w)).filter(|l| l.len() == lines.len()))
        .last()
        .unwrap_or(lines)
}

fn greedy(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = vec![];
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

fn text_size(lines: &[String], font: usize) -> Point {
    let longest = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let font = font as f64;
    Point::new(
        longest as f64 * font * GLYPH,
        lines.len().max(1) as f64 * font * LINE,
    )
}

/// Text and attribute values for SVG drawn by hand.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn color(c: Option<Color>) -> String {
    c.map_or_else(|| "none".to_string(), |c| c.to_web_color())
}

/// Numbers as SVG reads them, without float noise.
fn n(x: f64) -> String {
    let r = (x * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// Collects the drawing and its true extent; a state's box and its text are one group, so
/// the group's classes (e.g. `current`) belong to the state they mark.
#[derive(Default)]
struct Canvas {
    body: String,
    min: Option<Point>,
    max: Option<Point>,
    /// A state's group is open until its text is written.
    open: bool,
}

impl Canvas {
    fn cover(&mut self, a: Point, b: Point) {
        let lo = Point::new(a.x.min(b.x), a.y.min(b.y));
        let hi = Point::new(a.x.max(b.x), a.y.max(b.y));
        self.min = Some(
            self.min
                .map_or(lo, |m| Point::new(m.x.min(lo.x), m.y.min(lo.y))),
        );
        self.max = Some(
            self.max
                .map_or(hi, |m| Point::new(m.x.max(hi.x), m.y.max(hi.y))),
        );
    }

    fn finish(&self, zoom: u16) -> Result<String, String> {
        let (Some(lo), Some(hi)) = (self.min, self.max) else {
            return Err("Quy trình không có bước nào để vẽ.".to_string());
        };
        let (x, y) = (lo.x - MARGIN, lo.y - MARGIN);
        let (w, h) = (hi.x - lo.x + 2.0 * MARGIN, hi.y - lo.y + 2.0 * MARGIN);
        let scale = f64::from(zoom) / 100.0;
        let mut out = String::new();
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"procedure-diagram\" \
             width=\"{}\" height=\"{}\" viewBox=\"{} {} {} {}\" role=\"img\" \
             font-family=\"Arial, Helvetica, sans-serif\">",
            n(w * scale),
            n(h * scale),
            n(x),
            n(y),
            n(w),
            n(h)
        );
        out.push_str(
            "<defs><marker id=\"mui-ten\" markerWidth=\"10\" markerHeight=\"7\" refX=\"10\" \
             refY=\"3.5\" orient=\"auto\"><polygon points=\"0 0, 10 3.5, 0 7\" \
             fill=\"#4b5563\"/></marker></defs>",
        );
        out.push_str(&self.body);
        out.push_str("</svg>");
        Ok(out)
    }
}

impl RenderBackend for Canvas {
    fn draw_rect(
        &mut self,
        xy: Point,
        size: Point,
        look: &StyleAttr,
        properties: Option<String>,
        _clip: Option<ClipHandle>,
    ) {
        self.cover(xy, xy.add(size));
        if let Some(classes) = &properties {
            let _ = write!(self.body, "<g class=\"{}\">", escape(classes));
            self.open = true;
        }
        let dashed = properties
            .as_deref()
            .is_some_and(|c| c.split(' ').any(|k| k == "applicant"));
        let _ = write!(
            self.body,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\" fill=\"{}\" \
             stroke=\"{}\" stroke-width=\"{}\"{}/>",
            n(xy.x),
            n(xy.y),
            n(size.x),
            n(size.y),
            look.rounded,
            color(look.fill_color),
            look.line_color.to_web_color(),
            look.line_width,
            if dashed {
                " stroke-dasharray=\"6,4\""
            } else {
                ""
            }
        );
    }

    fn draw_line(&mut self, start: Point, stop: Point, look: &StyleAttr, _: Option<String>) {
        self.cover(start, stop);
        let _ = write!(
            self.body,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\"/>",
            n(start.x),
            n(start.y),
            n(stop.x),
            n(stop.y),
            look.line_color.to_web_color(),
            look.line_width
        );
    }

    fn draw_circle(&mut self, xy: Point, size: Point, look: &StyleAttr, _: Option<String>) {
        let half = size.scale(0.5);
        self.cover(xy.sub(half), xy.add(half));
        let _ = write!(
            self.body,
            "<ellipse cx=\"{}\" cy=\"{}\" rx=\"{}\" ry=\"{}\" fill=\"{}\" stroke=\"{}\" \
             stroke-width=\"{}\"/>",
            n(xy.x),
            n(xy.y),
            n(half.x),
            n(half.y),
            color(look.fill_color),
            look.line_color.to_web_color(),
            look.line_width
        );
    }

    fn draw_text(&mut self, xy: Point, text: &str, _: &StyleAttr) {
        // Text outside a state's box is an action's label. The look is not asked: layout-rs
        // gives the connectors it adds while routing long edges its own default look.
        let (class, font) = if self.open {
            ("state-text", NODE_FONT)
        } else {
            ("action", EDGE_FONT)
        };
        let lines: Vec<String> = text.lines().map(String::from).collect();
        let size = text_size(&lines, font);
        let half = size.scale(0.5);
        self.cover(xy.sub(half), xy.add(half));
        let step = font as f64 * LINE;
        let top = xy.y - step * (lines.len().saturating_sub(1) as f64) / 2.0;
        let _ = write!(
            self.body,
            "<text class=\"{class}\" font-size=\"{font}\" text-anchor=\"middle\" \
             dominant-baseline=\"central\" fill=\"#111827\">"
        );
        for (i, l) in lines.iter().enumerate() {
            let _ = write!(
                self.body,
                "<tspan x=\"{}\" y=\"{}\">{}</tspan>",
                n(xy.x),
                n(top + step * i as f64),
                escape(l)
            );
        }
        self.body.push_str("</text>");
        if self.open {
            self.body.push_str("</g>");
            self.open = false;
        }
    }

    fn draw_arrow(
        &mut self,
        path: &[(Point, Point)],
        dashed: bool,
        head: (bool, bool),
        look: &StyleAttr,
        _: Option<String>,
        text: &str,
    ) {
        let (Some(first), Some(second)) = (path.first(), path.get(1)) else {
            return;
        };
        for (a, b) in path {
            self.cover(*a, *b);
        }
        let mut d = format!(
            "M {} {} C {} {}, {} {}, {} {}",
            n(first.0.x),
            n(first.0.y),
            n(first.1.x),
            n(first.1.y),
            n(second.0.x),
            n(second.0.y),
            n(second.1.x),
            n(second.1.y)
        );
        for (a, b) in path.iter().skip(2) {
            let _ = write!(d, " S {} {}, {} {}", n(a.x), n(a.y), n(b.x), n(b.y));
        }
        let _ = write!(
            self.body,
            "<path d=\"{d}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"{}{}/>",
            look.line_color.to_web_color(),
            look.line_width,
            if dashed {
                " stroke-dasharray=\"5,5\""
            } else {
                ""
            },
            if head.1 {
                " marker-end=\"url(#mui-ten)\""
            } else {
                ""
            }
        );
        // Labels travel on connectors; an arrow keeps text only if layout left it there.
        if !text.is_empty() {
            let mid = path[path.len() / 2].0;
            self.draw_text(mid, text, look);
        }
    }

    fn create_clip(&mut self, _: Point, _: Point, _: usize) -> ClipHandle {
        // Clips serve record shapes, which no state is drawn as.
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(edit: impl Fn(String) -> String) -> Procedure {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../procedures/cap-phep-xay-dung-nha-o.yaml"
        );
        let source = edit(std::fs::read_to_string(path).expect("sample"));
        let loaded = motcua::procedure::load_and_check_str(&source, path);
        loaded.procedure.expect("valid sample")
    }

    /// Every `<g class="…">…</g>` group: a state's box and text.
    fn groups(svg: &str) -> Vec<(String, String)> {
        let mut out = vec![];
        let mut rest = svg;
        while let Some(at) = rest.find("<g class=\"") {
            let from = &rest[at + 10..];
            let Some(q) = from.find('"') else { break };
            let Some(end) = from.find("</g>") else { break };
            out.push((from[..q].to_string(), from[..end].to_string()));
            rest = &from[end..];
        }
        out
    }

    /// The text a group shows, its wrapped lines joined by spaces.
    fn shown(group: &str) -> String {
        group
            .split("<tspan ")
            .skip(1)
            .filter_map(|t| t.split_once('>').and_then(|(_, r)| r.split_once('<')))
            .map(|(text, _)| text)
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn attr(tag: &str, name: &str) -> Option<String> {
        let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        let end = tag[at..].find('"')?;
        Some(tag[at..at + end].to_string())
    }

    #[test]
    fn the_construction_permit_draws_with_every_state_label() {
        let p = sample(|s| s);
        let svg = svg(&p, &[], DEFAULT_ZOOM).expect("drawn");
        assert!(svg.contains("<svg"));
        let shown: Vec<String> = groups(&svg).iter().map(|(_, g)| shown(g)).collect();
        for (s, text) in p.states.iter().zip(&shown) {
            assert!(text.starts_with(&s.label), "{} is drawn: {text}", s.label);
        }
        assert!(
            svg.contains("Lãnh đạo ký giấy phép"),
            "state labels are drawn"
        );
    }

    #[test]
    fn a_label_with_markup_is_drawn_as_text_not_markup() {
        // The page inlines the SVG: an uploaded procedure's labels must not become elements.
        let p = sample(|s| {
            s.replace(
                "label: Lãnh đạo ký giấy phép",
                "label: \"<script>alert(1)</script> & <img src=x onerror=alert(2)>\"",
            )
            .replace(
                "label: Trình lãnh đạo ký",
                "label: \"<b onclick=x>\\\"ký\\\"</b>\"",
            )
        });
        let svg = svg(&p, &[], DEFAULT_ZOOM).expect("drawn");
        assert!(
            !svg.contains("<script") && !svg.contains("<img") && !svg.contains("<b "),
            "{svg}"
        );
        assert!(
            svg.contains("&lt;script&gt;"),
            "the label is there, escaped"
        );
        assert!(svg.contains("&lt;b onclick=x&gt;&quot;ký&quot;"), "{svg}");
    }

    #[test]
    fn the_svg_has_a_view_box_and_its_natural_size_times_the_zoom() {
        let p = sample(|s| s);
        let at = |zoom| {
            let svg = svg(&p, &[], zoom).expect("drawn");
            let tag = svg[..svg.find('>').expect("tag")].to_string();
            let view: Vec<f64> = attr(&tag, "viewBox")
                .expect("a viewBox")
                .split(' ')
                .map(|x| x.parse().expect("number"))
                .collect();
            let w: f64 = attr(&tag, "width").expect("width").parse().expect("w");
            let h: f64 = attr(&tag, "height").expect("height").parse().expect("h");
            (view, w, h)
        };
        let (view, w, h) = at(100);
        assert_eq!(view.len(), 4);
        assert!(
            (w - view[2]).abs() < 0.2 && (h - view[3]).abs() < 0.2,
            "{view:?} {w} {h}"
        );
        let (view2, w2, h2) = at(200);
        assert_eq!(view, view2, "zoom changes the size, not the drawing");
        assert!((w2 - 2.0 * w).abs() < 0.5 && (h2 - 2.0 * h).abs() < 0.5);
        let (_, w50, _) = at(50);
        assert!((w50 - w / 2.0).abs() < 0.5);
        // The picture is as big as what is drawn (the library's writer added hundreds of
        // empty pixels per long label), and it is meant to scroll, not shrink to fit.
        assert!(view[2] > 1000.0 && view[2] < 3500.0, "{view:?}");
    }

    #[test]
    fn text_is_legible_at_the_default_zoom() {
        let p = sample(|s| s);
        let svg = svg(&p, &[], DEFAULT_ZOOM).expect("drawn");
        let tag = &svg[..svg.find('>').expect("tag")];
        let view_w: f64 = attr(tag, "viewBox")
            .and_then(|v| v.split(' ').nth(2).map(String::from))
            .and_then(|w| w.parse().ok())
            .expect("viewBox width");
        let w: f64 = attr(tag, "width")
            .and_then(|w| w.parse().ok())
            .expect("width");
        let scale = w / view_w;
        let sizes: Vec<f64> = svg
            .split("<text ")
            .skip(1)
            .map(|t| attr(&format!(" {t}"), "font-size").expect("font-size"))
            .map(|f| f.parse().expect("number"))
            .collect();
        assert!(sizes.len() > p.states.len(), "states and actions have text");
        let smallest = sizes.iter().copied().fold(f64::MAX, f64::min);
        assert!(
            smallest * scale >= 12.0,
            "smallest text {smallest} × {scale} px"
        );
        assert_eq!(smallest, EDGE_FONT as f64);
    }

    #[test]
    fn states_and_actions_show_labels_not_ids() {
        let p = sample(|s| s);
        let svg = svg(&p, &[], DEFAULT_ZOOM).expect("drawn");
        let texts: String = svg
            .split("<tspan ")
            .skip(1)
            .filter_map(|t| t.split_once('>').and_then(|(_, r)| r.split_once('<')))
            .map(|(text, _)| format!("{text}\n"))
            .collect();
        for s in &p.states {
            assert!(
                !texts.lines().any(|l| l.contains(&s.id)),
                "state id {} shown",
                s.id
            );
        }
        for a in &p.actions {
            assert!(
                !texts.lines().any(|l| l.contains(&a.id)),
                "action id {} shown",
                a.id
            );
        }
        assert!(
            texts.contains("Trình lãnh đạo ký"),
            "action labels on edges"
        );
        assert!(texts.contains("ngày làm việc"), "budgets in Vietnamese");
        assert!(!texts.contains("working"), "{texts}");
    }

    #[test]
    fn the_highlight_marks_exactly_the_active_states() {
        let p = sample(|s| s);
        let active = vec![
            "kiem-tra-quy-hoach".to_string(),
            "kiem-tra-ket-cau".to_string(),
        ];
        let drawn = svg(&p, &active, DEFAULT_ZOOM).expect("drawn");
        let all = groups(&drawn);
        assert_eq!(all.len(), p.states.len(), "one group per state");
        let marked: Vec<&String> = all
            .iter()
            .filter(|(c, _)| c.split(' ').any(|k| k == "current"))
            .map(|(_, body)| body)
            .collect();
        assert_eq!(marked.len(), 2);
        let texts: Vec<String> = marked.iter().map(|b| shown(b)).collect();
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with("Kiểm tra sự phù hợp quy hoạch")),
            "{texts:?}"
        );
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with("Kiểm tra an toàn kết cấu")),
            "{texts:?}"
        );
        for body in &marked {
            assert!(
                body.contains(&format!("stroke=\"{}ff\"", CURRENT_STROKE)),
                "{body}"
            );
            assert!(
                body.contains(&format!("fill=\"{}ff\"", CURRENT_FILL)),
                "{body}"
            );
        }
        let plain = svg(&p, &[], DEFAULT_ZOOM).expect("drawn");
        assert!(!plain.contains("current") && !plain.contains(CURRENT_FILL));
    }

    #[test]
    fn long_action_labels_wrap_and_are_shortened_past_three_lines() {
        assert_eq!(
            wrap("Trình lãnh đạo ký", EDGE_WRAP, EDGE_LINES),
            vec!["Trình lãnh đạo ký"]
        );
        let lines = wrap(
            "Yêu cầu bổ sung theo kết quả thẩm định (tạm dừng tính thời hạn)",
            EDGE_WRAP,
            EDGE_LINES,
        );
        assert!(lines.len() <= EDGE_LINES && lines.iter().all(|l| l.chars().count() <= EDGE_WRAP));
        assert_eq!(
            lines.join(" "),
            "Yêu cầu bổ sung theo kết quả thẩm định (tạm dừng tính thời hạn)"
        );
        assert_eq!(
            wrap(
                "Phòng Kinh tế, Hạ tầng và Đô thị",
                NODE_WRAP - 4,
                usize::MAX
            ),
            vec!["Phòng Kinh tế, Hạ", "tầng và Đô thị"],
            "balanced, no word alone on a line"
        );
        let long = "một hai ba bốn năm sáu bảy tám chín mười ".repeat(4);
        let cut = wrap(&long, EDGE_WRAP, EDGE_LINES);
        assert_eq!(cut.len(), EDGE_LINES);
        assert!(
            cut[2].ends_with('…') && cut[2].chars().count() <= EDGE_WRAP,
            "{cut:?}"
        );
    }

    #[test]
    fn only_offered_zooms_are_taken() {
        assert_eq!(zoom(Some("150")), 150);
        assert_eq!(zoom(Some("50%")), 50);
        assert_eq!(zoom(Some("100000")), DEFAULT_ZOOM);
        assert_eq!(zoom(Some("abc")), DEFAULT_ZOOM);
        assert_eq!(zoom(None), DEFAULT_ZOOM);
    }
}
