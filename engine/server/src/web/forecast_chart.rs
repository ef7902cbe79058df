//! A forecast's charts as SVG written on the server, no script: shares (on-time rates,
//! officers' utilisation) as horizontal bars with their 95% interval as a whisker, and the
//! queue for an officer per step as lines over the simulated days. Every text is escaped:
//! labels come from uploaded procedures.

use std::fmt::Write;

use super::chart::shorten;
use super::diagram::escape;

/// One bar: its label, the group it belongs to (drawn in the group's colour), its mean and
/// interval as shares (0–1).
pub struct Bar {
    pub label: String,
    pub group: usize,
    pub mean: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

/// One line: its label and a value per sample.
pub struct Line {
    pub label: String,
    pub values: Vec<f64>,
}

const COLOURS: [&str; 8] = [
    "#2563eb", "#ea580c", "#16a34a", "#9333ea", "#0891b2", "#be123c", "#4d7c0f", "#92400e",
];

fn colour(i: usize) -> &'static str {
    COLOURS[i % COLOURS.len()]
}

const WIDTH: f64 = 760.0;
const LABELS: f64 = 300.0;
const RIGHT: f64 = 70.0;
const ROW: f64 = 30.0;
const TOP: f64 = 40.0;

/// A chart's SVG element, white ground and title (the title also for screen readers).
fn open(out: &mut String, height: f64, title: &str) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"forecast-chart\" width=\"{WIDTH}\" \
         height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" \
         font-family=\"Arial, Helvetica, sans-serif\" font-size=\"13\"><title>{}</title>\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\
         <text x=\"10\" y=\"22\" font-size=\"16\" font-weight=\"bold\">{}</text>",
        escape(title),
        escape(title)
    );
}

/// Bars of shares from 0 to 100 %, each with its whisker and its value written after it;
/// `legend` names the groups.
pub fn shares(title: &str, bars: &[Bar], legend: &[&str], value: &dyn Fn(f64) -> String) -> String {
    let plot = WIDTH - LABELS - RIGHT;
    let x = |share: f64| LABELS + plot * share.clamp(0.0, 1.0);
    let height = TOP + ROW * bars.len().max(1) as f64 + 50.0;
    let mut out = String::new();
    open(&mut out, height, title);
    let bottom = TOP + ROW * bars.len().max(1) as f64;
    for tick in 0..=4 {
        let share = f64::from(tick) / 4.0;
        let _ = write!(
            out,
            "<line x1=\"{0:.1}\" y1=\"{TOP}\" x2=\"{0:.1}\" y2=\"{bottom}\" stroke=\"#e5e7eb\"/>\
             <text x=\"{0:.1}\" y=\"{1}\" text-anchor=\"middle\" fill=\"#4b5563\">{2}%</text>",
            x(share),
            bottom + 16.0,
            tick * 25
        );
    }
    for (i, b) in bars.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let c = colour(b.group);
        let _ = write!(
            out,
            "<g class=\"bar\"><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{LABELS}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{c}\" \
             fill-opacity=\"0.8\"/>",
            LABELS - 8.0,
            y + ROW / 2.0 + 4.0,
            escape(&shorten(&b.label, 40)),
            y + 5.0,
            (x(b.mean) - LABELS).max(0.0),
            ROW - 10.0
        );
        if let (Some(l), Some(h)) = (b.low, b.high) {
            let mid = y + ROW / 2.0;
            let _ = write!(
                out,
                "<g class=\"whisker\" stroke=\"#111827\" stroke-width=\"1.5\">\
                 <line x1=\"{0:.1}\" y1=\"{mid:.1}\" x2=\"{1:.1}\" y2=\"{mid:.1}\"/>\
                 <line x1=\"{0:.1}\" y1=\"{2:.1}\" x2=\"{0:.1}\" y2=\"{3:.1}\"/>\
                 <line x1=\"{1:.1}\" y1=\"{2:.1}\" x2=\"{1:.1}\" y2=\"{3:.1}\"/></g>",
                x(l),
                x(h),
                mid - 6.0,
                mid + 6.0
            );
        }
        let end = x(b.high.unwrap_or(b.mean).max(b.mean));
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#111827\">{}</text></g>",
            (end + 6.0).min(WIDTH - RIGHT + 4.0),
            y + ROW / 2.0 + 4.0,
            escape(&value(b.mean))
        );
    }
    let mut lx = LABELS;
    for (g, name) in legend.iter().enumerate() {
        let _ = write!(
            out,
            "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            bottom + 28.0,
            colour(g),
            lx + 16.0,
            bottom + 38.0,
            escape(name)
        );
        lx += 24.0 + 7.5 * name.chars().count() as f64;
    }
    out.push_str("</svg>");
    out
}

/// Lines over `days` samples (their labels under the axis, a few of them), from zero to the
/// largest value; `axis` names the values.
pub fn lines(title: &str, axis: &str, days: &[String], series: &[Line]) -> String {
    let left = 60.0;
    let right = 20.0;
    let plot_w = WIDTH - left - right;
    let plot_h = 220.0;
    let legend_rows = series.len().div_ceil(2);
    let height = TOP + plot_h + 40.0 + 20.0 * legend_rows as f64;
    let most = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0f64, f64::max);
    let top = nice(most);
    let n = days.len().max(2);
    let x = |k: usize| left + plot_w * k as f64 / (n - 1) as f64;
    let y = |v: f64| TOP + plot_h - plot_h * (v / top).clamp(0.0, 1.0);
    let mut out = String::new();
    open(&mut out, height, title);
    let _ = write!(
        out,
        "<text x=\"14\" y=\"{:.1}\" transform=\"rotate(-90 14 {:.1})\" text-anchor=\"middle\" \
         fill=\"#4b5563\">{}</text>",
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0,
        escape(axis)
    );
    for tick in 0..=4 {
        let v = top * f64::from(tick) / 4.0;
        let _ = write!(
            out,
            "<line x1=\"{left}\" y1=\"{0:.1}\" x2=\"{1:.1}\" y2=\"{0:.1}\" stroke=\"#e5e7eb\"/>\
             <text x=\"{2:.1}\" y=\"{3:.1}\" text-anchor=\"end\" fill=\"#4b5563\">{4}</text>",
            y(v),
            WIDTH - right,
            left - 6.0,
            y(v) + 4.0,
            escape(&motcua::messages::format::decimal(v, 1))
        );
    }
    let step = (days.len() / 6).max(1);
    for (k, d) in days.iter().enumerate().step_by(step) {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#4b5563\">{}</text>",
            x(k),
            TOP + plot_h + 16.0,
            escape(d)
        );
    }
    for (i, s) in series.iter().enumerate() {
        let points: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .map(|(k, v)| format!("{:.1},{:.1}", x(k), y(*v)))
            .collect();
        let _ = write!(
            out,
            "<polyline class=\"queue\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" \
             points=\"{}\"><title>{}</title></polyline>",
            colour(i),
            points.join(" "),
            escape(&s.label)
        );
        let lx = 10.0 + (WIDTH / 2.0) * (i % 2) as f64;
        let ly = TOP + plot_h + 36.0 + 20.0 * (i / 2) as f64;
        let _ = write!(
            out,
            "<line x1=\"{lx:.1}\" y1=\"{0:.1}\" x2=\"{1:.1}\" y2=\"{0:.1}\" stroke=\"{2}\" \
             stroke-width=\"3\"/><text x=\"{3:.1}\" y=\"{4:.1}\">{5}</text>",
            ly - 4.0,
            lx + 20.0,
            colour(i),
            lx + 26.0,
            ly,
            escape(&shorten(&s.label, 48))
        );
    }
    out.push_str("</svg>");
    out
}

/// A round top for an axis at or above `x` (at least 1).
fn nice(x: f64) -> f64 {
    if x <= 1.0 {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * p >= x {
            return m * p;
        }
    }
    10.0 * p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_draw_their_whiskers_and_escape_their_labels() {
        let svg = shares(
            "Tỷ lệ <đúng> hạn",
            &[Bar {
                label: "<script>x</script>".into(),
                group: 0,
                mean: 0.9,
                low: Some(0.85),
                high: Some(0.95),
            }],
            &["Hiện hành"],
            &|x| format!("{x}"),
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("class=\"whisker\""));
        assert!(!svg.contains("<script") && !svg.contains("<đúng>"), "{svg}");
    }

    #[test]
    fn lines_scale_to_a_round_top() {
        assert_eq!(nice(7.3), 10.0);
        assert_eq!(nice(0.2), 1.0);
        assert_eq!(nice(23.0), 25.0);
        let svg = lines(
            "Hàng chờ",
            "bước",
            &["01/02".into(), "02/02".into(), "03/02".into()],
            &[Line {
                label: "Kiểm tra".into(),
                values: vec![0.0, 2.0, 1.0],
            }],
        );
        assert_eq!(svg.matches("<polyline").count(), 1);
    }
}
