//! YAML text → a JSON value plus a map from JSON-pointer paths to where each key and value was
//! written. serde then works on the value; diagnostics find their line:col through the map.
//!
//! Scalars resolve by the YAML 1.2 core schema (so `yes` stays a string and `015` is a number),
//! which is also what the editor's JSON Schema validation assumes.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::diagnostic::Pos;

/// Where a node was written. `key` is the position of its mapping key, if it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub key: Option<Pos>,
    pub value: Pos,
    /// For a scalar written verbatim on one line (plain, or quoted without escapes): how many
    /// columns after `value.col` its first character is (0 plain, 1 quoted). A column inside
    /// the scalar (e.g. of a CEL sub-expression) is then `value.col + inner + offset`.
    pub inner: Option<u32>,
}

/// JSON pointer (RFC 6901, e.g. `/states/3/to`) → [`Span`], for every node of the document.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    spans: HashMap<String, Span>,
}

impl SourceMap {
    /// The span at exactly `pointer`.
    pub fn get(&self, pointer: &str) -> Option<&Span> {
        self.spans.get(pointer)
    }

    /// Where the value at `pointer` starts, or else where its nearest written ancestor starts
    /// (a missing field is reported at the mapping that lacks it). Never fails: 1:1 at worst.
    pub fn value(&self, pointer: &str) -> Pos {
        self.nearest(pointer).map_or(Pos::START, |s| s.value)
    }

    /// Where the key of `pointer` is written (falls back like [`SourceMap::value`]).
    pub fn key(&self, pointer: &str) -> Pos {
        self.nearest(pointer)
            .map_or(Pos::START, |s| s.key.unwrap_or(s.value))
    }

    fn nearest(&self, pointer: &str) -> Option<&Span> {
        let mut p = pointer;
        loop {
            if let Some(s) = self.spans.get(p) {
                return Some(s);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return None,
            }
        }
    }
}

/// Escapes one JSON-pointer segment.
pub fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// A YAML syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
    /// The text is YAML, but more than a procedure file may be ([`limits`]): the message
    /// catalogue words this differently from a parse error.
    pub limit: bool,
}

/// The parse of one YAML document.
#[derive(Debug, Default)]
pub struct Parsed {
    /// `None` for an empty document.
    pub value: Option<Value>,
    pub source_map: SourceMap,
    /// Keys written twice in one mapping: pointer of the repeated key and its position.
    pub duplicate_keys: Vec<(String, Pos)>,
}

/// Bounds on what one procedure file may make the loader build. A real procedure is a few
/// hundred nodes a dozen levels deep; these leave two orders of magnitude of room, and stop a
/// 600-byte file of nested aliases (a "billion laughs") from taking all memory.
pub mod limits {
    /// Largest file accepted, in bytes.
    pub const FILE_BYTES: usize = 1024 * 1024;
    /// Deepest nesting of lists and mappings.
    pub const DEPTH: usize = 64;
    /// Most nodes (scalars, lists, mappings) the document may expand to, aliases included.
    /// A scalar counts one node per 32 bytes of its text as well, so aliases of one long
    /// text cannot blow up either.
    pub const NODES: usize = 100_000;
}

const SCALAR_BYTES_PER_NODE: usize = 32;

/// Parses the first YAML document of `text`.
pub fn parse(text: &str) -> Result<Parsed, SyntaxError> {
    if text.len() > limits::FILE_BYTES {
        return Err(SyntaxError {
            pos: Pos::START,
            message: format!(
                "the file is more than {} bytes, the most a procedure file may be",
                limits::FILE_BYTES
            ),
            limit: true,
        });
    }
    let mut builder = Builder {
        lines: text.lines().collect(),
        ..Builder::default()
    };
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, false).map_err(|e| SyntaxError {
        pos: to_pos(e.marker()),
        message: e.info().to_string(),
        limit: false,
    })?;
    if let Some(e) = builder.error {
        return Err(e);
    }
    Ok(Parsed {
        value: builder.root,
        source_map: builder.map,
        duplicate_keys: builder.duplicates,
    })
}

fn to_pos(m: &Marker) -> Pos {
    // yaml-rust2 counts lines from 1 and columns from 0.
    Pos {
        line: u32::try_from(m.line()).unwrap_or(u32::MAX),
        col: u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
    }
}

enum Frame {
    Seq {
        pointer: String,
        items: Vec<Value>,
        anchor: usize,
        /// Nodes in this list, itself included (for what an alias of it would expand to).
        nodes: usize,
    },
    Map {
        pointer: String,
        map: Map<String, Value>,
        anchor: usize,
        /// The key read and waiting for its value.
        pending: Option<(String, Pos)>,
        nodes: usize,
    },
}

#[derive(Default)]
struct Builder<'t> {
    lines: Vec<&'t str>,
    stack: Vec<Frame>,
    root: Option<Value>,
    map: SourceMap,
    /// Anchored values with their node counts.
    anchors: HashMap<usize, (Value, usize)>,
    /// Nodes built so far, aliases expanded ([`limits::NODES`]).
    nodes: usize,
    /// Byte offset of each character, per non-ASCII line looked at (`None`: ASCII).
    char_starts: std::cell::RefCell<HashMap<usize, Option<Vec<usize>>>>,
    duplicates: Vec<(String, Pos)>,
    error: Option<SyntaxError>,
    done: bool,
}

impl Builder<'_> {
    /// The pointer of the node about to be read, and its key position, if inside a mapping.
    fn child_pointer(&self) -> (String, Option<Pos>) {
        match self.stack.last() {
            None => (String::new(), None),
            Some(Frame::Seq { pointer, items, .. }) => (format!("{pointer}/{}", items.len()), None),
            Some(Frame::Map {
                pointer,
                pending: Some((k, pos)),
                ..
            }) => (format!("{pointer}/{}", escape(k)), Some(*pos)),
            Some(Frame::Map { pending: None, .. }) => (String::new(), None),
        }
    }

    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { pending: None, .. }))
    }

    /// Counts `n` more nodes into the document, failing past [`limits::NODES`].
    fn grow(&mut self, n: usize, pos: Pos, what: &str) -> bool {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > limits::NODES {
            self.fail_limit(
                pos,
                &format!(
                    "{what} makes the document more than {} nodes; a procedure is far smaller (nested aliases?)",
                    limits::NODES
                ),
            );
            return false;
        }
        true
    }

    fn push_value(&mut self, value: Value, nodes: usize) {
        match self.stack.last_mut() {
            Some(Frame::Seq { nodes: n, .. }) | Some(Frame::Map { nodes: n, .. }) => {
                *n = n.saturating_add(nodes);
            }
            None => {}
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(value);
                }
                self.done = true;
            }
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map {
                pointer,
                map,
                pending,
                ..
            }) => {
                if let Some((k, pos)) = pending.take() {
                    if map.contains_key(&k) {
                        self.duplicates
                            .push((format!("{pointer}/{}", escape(&k)), pos));
                    }
                    map.insert(k, value);
                }
            }
        }
    }

    fn set_key(&mut self, key: String, pos: Pos) {
        if let Some(Frame::Map {
            pointer,
            map,
            pending,
            ..
        }) = self.stack.last_mut()
        {
            // yaml-rust2 marks a block mapping after its first key; authors expect a mapping
            // (e.g. the state missing a field) to be shown where its first key is written.
            if map.is_empty()
                && let Some(span) = self.map.spans.get_mut(pointer.as_str())
                && (pos.line, pos.col) < (span.value.line, span.value.col)
            {
                span.value = pos;
            }
            *pending = Some((key, pos));
        }
    }

    /// Whether `text`, a scalar starting at `pos` in `style`, is written as is on that line.
    fn inner_offset(&self, pos: Pos, text: &str, style: TScalarStyle) -> Option<u32> {
        let skip = match style {
            TScalarStyle::Plain => 0,
            TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => 1,
            TScalarStyle::Literal | TScalarStyle::Folded => return None,
        };
        let index = usize::try_from(pos.line).ok()?.checked_sub(1)?;
        let line = *self.lines.get(index)?;
        let start = usize::try_from(pos.col).ok()?.checked_sub(1)? + skip;
        // Columns count characters; the byte where column `start` begins comes from a table
        // built once per line (none for an ASCII line), so a long line of many scalars costs
        // linear time, not quadratic.
        let mut tables = self.char_starts.borrow_mut();
        let table = tables.entry(index).or_insert_with(|| {
            (!line.is_ascii()).then(|| line.char_indices().map(|(i, _)| i).collect())
        });
        let byte = match table {
            None => start,
            Some(starts) => starts.get(start).copied().unwrap_or(line.len()),
        };
        let rest = line.get(byte..)?;
        let verbatim = !text.contains('\n') && rest.starts_with(text);
        verbatim.then(|| u32::try_from(skip).unwrap_or(0))
    }

    fn record(&mut self, pos: Pos, inner: Option<u32>) -> String {
        let (pointer, key) = self.child_pointer();
        self.map.spans.insert(
            pointer.clone(),
            Span {
                key,
                value: pos,
                inner,
            },
        );
        pointer
    }

    /// Checks that a list or mapping may start at `pos` (not as a key, within the depth and
    /// node limits) and records it; its pointer, or `None` after failing.
    fn open(&mut self, pos: Pos, what: &str) -> Option<String> {
        if self.expecting_key() {
            self.fail(
                pos,
                &format!("a mapping key must be a plain value, not a {what}"),
            );
            return None;
        }
        if self.stack.len() >= limits::DEPTH {
            let message = format!(
                "lists and mappings nest more than {} levels deep here",
                limits::DEPTH
            );
            self.fail_limit(pos, &message);
            return None;
        }
        if !self.grow(1, pos, &format!("this {what}")) {
            return None;
        }
        Some(self.record(pos, None))
    }

    fn fail(&mut self, pos: Pos, message: &str) {
        if self.error.is_none() {
            self.error = Some(SyntaxError {
                pos,
                message: message.to_string(),
                limit: false,
            });
        }
    }

    /// Fails for a document past one of the [`limits`].
    fn fail_limit(&mut self, pos: Pos, message: &str) {
        if self.error.is_none() {
            self.error = Some(SyntaxError {
                pos,
                message: message.to_string(),
                limit: true,
            });
        }
    }
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.done || self.error.is_some() {
            return;
        }
        let pos = to_pos(&mark);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                if self.expecting_key() {
                    self.set_key(text, pos);
                    return;
                }
                let inner = self.inner_offset(pos, &text, style);
                let text_len = text.len();
                self.record(pos, inner);
                let explicit_string = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let value = if style != TScalarStyle::Plain || explicit_string {
                    Value::String(text)
                } else {
                    resolve_plain(&text)
                };
                // A long text weighs more than a number: an alias repeats its bytes too.
                let weight = 1 + text_len / SCALAR_BYTES_PER_NODE;
                if !self.grow(weight, pos, "this value") {
                    return;
                }
                if anchor > 0 {
                    self.anchors.insert(anchor, (value.clone(), weight));
                }
                self.push_value(value, weight);
            }
            Event::SequenceStart(anchor, _) => {
                let Some(pointer) = self.open(pos, "list") else {
                    return;
                };
                self.stack.push(Frame::Seq {
                    pointer,
                    items: Vec::new(),
                    anchor,
                    nodes: 1,
                });
            }
            Event::MappingStart(anchor, _) => {
                let Some(pointer) = self.open(pos, "mapping") else {
                    return;
                };
                self.stack.push(Frame::Map {
                    pointer,
                    map: Map::new(),
                    anchor,
                    pending: None,
                    nodes: 1,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, anchor, nodes) = match self.stack.pop() {
                    Some(Frame::Seq {
                        items,
                        anchor,
                        nodes,
                        ..
                    }) => (Value::Array(items), anchor, nodes),
                    Some(Frame::Map {
                        map, anchor, nodes, ..
                    }) => (Value::Object(map), anchor, nodes),
                    None => return,
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, (value.clone(), nodes));
                }
                self.push_value(value, nodes);
            }
            Event::Alias(anchor) => {
                let nodes = self.anchors.get(&anchor).map_or(1, |(_, n)| *n);
                // Counted before the value is copied: the copy is what a bomb would blow up.
                if !self.grow(nodes, pos, "this alias") {
                    return;
                }
                let value = self
                    .anchors
                    .get(&anchor)
                    .map_or(Value::Null, |(v, _)| v.clone());
                if self.expecting_key() {
                    match value {
                        Value::String(s) => self.set_key(s, pos),
                        _ => self.fail(pos, "an alias used as a key must name a plain value"),
                    }
                    return;
                }
                self.record(pos, None);
                self.push_value(value, nodes);
            }
            Event::DocumentEnd => self.done = !self.stack.is_empty() || self.root.is_some(),
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart => {}
        }
    }
}

/// The YAML 1.2 core schema for plain scalars.
fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(n) = resolve_int(s) {
        return Value::Number(n);
    }
    if looks_like_float(s)
        && let Ok(f) = s.parse::<f64>()
        && let Some(n) = Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(s.to_string())
}

fn resolve_int(s: &str) -> Option<Number> {
    if let Some(hex) = s.strip_prefix("0x") {
        return u64::from_str_radix(hex, 16).ok().map(Number::from);
    }
    if let Some(oct) = s.strip_prefix("0o") {
        return u64::from_str_radix(oct, 8).ok().map(Number::from);
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.starts_with('-') {
        s.parse::<i64>().ok().map(Number::from)
    } else {
        digits.parse::<u64>().ok().map(Number::from)
    }
}

fn looks_like_float(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mantissa_ok = {
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        (!int.is_empty() || !frac.is_empty())
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit())
            && (mantissa.contains('.') || exponent.is_some())
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_every_key_and_value_to_its_line_and_column() {
        let text = "id: x\nstates:\n  - id: a\n    label: \"Tiếp nhận\"\n  - id: b\n";
        let p = parse(text).unwrap();
        let sm = &p.source_map;
        assert_eq!(sm.get("/id").unwrap().value, Pos { line: 1, col: 5 });
        assert_eq!(sm.get("/id").unwrap().key, Some(Pos { line: 1, col: 1 }));
        assert_eq!(sm.value("/states/1/id"), Pos { line: 5, col: 9 });
        assert_eq!(sm.key("/states/0/label"), Pos { line: 4, col: 5 });
        // A missing field is placed at its parent.
        assert_eq!(sm.value("/states/1/label"), sm.value("/states/1"));
    }

    #[test]
    fn resolves_scalars_by_the_core_schema() {
        let p = parse("a: 015\nb: 1.5\nc: yes\nd: '1'\ne: ~\nf: 2025-07-01\ng: 15:00\n").unwrap();
        let v = p.value.unwrap();
        assert_eq!(v["a"], 15);
        assert_eq!(v["b"], 1.5);
        assert_eq!(v["c"], "yes");
        assert_eq!(v["d"], "1");
        assert!(v["e"].is_null());
        assert_eq!(v["f"], "2025-07-01");
        assert_eq!(v["g"], "15:00");
    }

    /// Regression (hardening review): a 600-byte file of aliases nested eight levels deep
    /// made `motcua validate` run 30 s and grow past 3.5 GB.
    #[test]
    fn nested_aliases_are_refused_at_the_node_limit_with_their_line() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for name in ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'] {
            let refs = vec![format!("*{prev}"); 10].join(", ");
            text.push_str(&format!("{name}: &{name} [{refs}]\n"));
            prev = name;
        }
        assert!(text.len() < 700);
        let started = std::time::Instant::now();
        let e = parse(&text).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert!(
            e.message.contains("more than 100000 nodes"),
            "{}",
            e.message
        );
        // a, b, c and d expand to 12,345 nodes; each alias on e's line adds 11,111, and the
        // ninth passes the limit.
        assert_eq!(e.pos.line, 5, "{e:?}");
    }

    /// Review: an anchored text of most of a megabyte aliased thousands of times fitted the
    /// node limit while expanding to gigabytes.
    #[test]
    fn aliases_of_a_long_text_count_its_bytes() {
        let mut text = format!("a: &a \"{}\"\nb: [", "x".repeat(900_000));
        text.push_str(&vec!["*a"; 30_000].join(", "));
        text.push_str("]\n");
        let e = parse(&text).unwrap_err();
        assert!(
            e.message.contains("more than 100000 nodes"),
            "{}",
            e.message
        );
        assert_eq!(e.pos.line, 2);
    }

    /// Review: finding a scalar's column walked its line from the start, so one line of many
    /// scalars took quadratic time.
    #[test]
    fn a_long_line_of_scalars_is_mapped_in_linear_time() {
        let line = format!("a: [{}]\n", vec!["ô"; 90_000].join(", "));
        let started = std::time::Instant::now();
        let p = parse(&line).unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        let last = p.source_map.get("/a/89999").unwrap();
        assert_eq!(last.value.col, 5 + 89_999 * 3);
        assert_eq!(last.inner, Some(0));
    }

    #[test]
    fn nesting_and_size_are_bounded() {
        let deep = format!("a: {}1{}\n", "[".repeat(100), "]".repeat(100));
        let e = parse(&deep).unwrap_err();
        assert!(e.message.contains("more than 64 levels"), "{}", e.message);
        assert_eq!(e.pos.line, 1);
        let big = format!("a: \"{}\"\n", "x".repeat(limits::FILE_BYTES));
        let e = parse(&big).unwrap_err();
        assert!(
            e.message.contains("more than 1048576 bytes"),
            "{}",
            e.message
        );
    }

    #[test]
    fn reports_duplicate_keys_and_syntax_errors() {
        let p = parse("a: 1\nb: 2\na: 3\n").unwrap();
        assert_eq!(
            p.duplicate_keys,
            vec![("/a".to_string(), Pos { line: 3, col: 1 })]
        );
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.pos.line >= 1);
    }
}
