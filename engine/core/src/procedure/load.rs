//! Loading a procedure file: YAML text → a [`Procedure`] (when it is well-typed) plus every
//! syntax and type problem, each at its line:col.
//!
//! The YAML is parsed once into a JSON value and a [`SourceMap`]; serde (through
//! `serde_path_to_error`) then types the value and reports the path of the first error, which
//! the source map turns into a position. serde stops at the first error, so when the whole
//! document fails, each top-level field and each element of each list is typed on its own:
//! one bad state does not hide a bad action further down.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::diagnostic::{Code, Diagnostic, Pos, did_you_mean};
use super::model::{
    Action, Agency, Department, Document, Fee, Limit, PluginCall, PluginRef, Procedure, Role, State,
};
use super::source_map::{self, SourceMap, escape};
use crate::calendar::Duration;

/// A loaded procedure file: the tree if it could be built, and all problems found so far.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The file as given (diagnostics name it the same way).
    pub file: PathBuf,
    /// Present when the document deserialized into a [`Procedure`]; it may still have semantic
    /// errors (see [`Loaded::has_errors`]).
    pub procedure: Option<Procedure>,
    /// Positions of every key and value, by JSON pointer.
    pub source_map: SourceMap,
    /// Every problem found, in file order once [`Loaded::sort`] ran (the public entries sort).
    pub diagnostics: Vec<Diagnostic>,
    /// Hex sha256 of the file's bytes: dossiers pin the exact definition they ran under.
    pub content_hash: String,
}

impl Loaded {
    /// True when any diagnostic is an error: the procedure must not be deployed.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// True when any diagnostic is a warning.
    pub fn has_warnings(&self) -> bool {
        self.diagnostics.iter().any(|d| !d.is_error())
    }

    /// Orders diagnostics by position, then code, and drops exact repeats.
    pub fn sort(&mut self) {
        self.diagnostics.sort_by_key(|d| (d.line, d.col, d.code));
        self.diagnostics.dedup();
    }
}

/// Hex sha256 of `bytes`.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Reads and loads one file. Only I/O failures are errors; everything wrong with the content
/// is a diagnostic.
pub fn load_file(path: &Path) -> io::Result<Loaded> {
    let bytes = read_source(path)?;
    Ok(load_bytes(&bytes, path))
}

/// Reads a procedure file, but never more than one byte past the size limit
/// ([`source_map::limits::FILE_BYTES`]): a bigger file is then refused by the loader with its
/// diagnostic, without the rest of it ever being read into memory.
pub fn read_source(path: &Path) -> io::Result<Vec<u8>> {
    read_regular(path, source_map::limits::FILE_BYTES as u64 + 1)
}

/// A plugin file is at most this large (the sample plugins are under 400 KB).
pub const MAX_PLUGIN_BYTES: u64 = 32 << 20;

/// Reads a plugin's `.wasm`: a regular file of at most [`MAX_PLUGIN_BYTES`]. A FIFO, a device
/// or a directory is refused before it is opened (a FIFO would block the reader, `/dev/zero`
/// would never end), and the read stops at the limit whatever the file claims.
pub fn read_plugin_file(path: &Path) -> io::Result<Vec<u8>> {
    let bytes = read_regular(path, MAX_PLUGIN_BYTES + 1)?;
    if bytes.len() as u64 > MAX_PLUGIN_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {MAX_PLUGIN_BYTES} bytes"),
        ));
    }
    Ok(bytes)
}

/// At most `limit` bytes of a regular file.
fn read_regular(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let not_regular = || io::Error::new(io::ErrorKind::InvalidInput, "not a regular file");
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let file = std::fs::File::open(path)?;
    // Checked again on the open file: it may have been swapped since.
    if !file.metadata()?.is_file() {
        return Err(not_regular());
    }
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The ids that procedure files in `dir` claim by their names: the stems of its `.yaml` and
/// `.yml` files (not recursive). An empty path means the current directory.
pub fn procedure_files_in(dir: &Path) -> io::Result<Vec<String>> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(dir)?.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "yaml" || e == "yml")
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        {
            ids.push(stem.to_string());
        }
    }
    Ok(ids)
}

/// Loads file content already in memory; `file` only names it in diagnostics.
pub fn load_bytes(bytes: &[u8], file: impl Into<PathBuf>) -> Loaded {
    let file = file.into();
    match std::str::from_utf8(bytes) {
        Ok(text) => load_str_hashed(text, file, content_hash(bytes)),
        Err(e) => {
            let pos = line_col_of_byte(bytes, e.valid_up_to());
            Loaded {
                diagnostics: vec![
                    Diagnostic::new(Code::YamlSyntax, &file, pos, "the file is not valid UTF-8")
                        .with_hint("save the file as UTF-8 (Vietnamese text included)")
                        .with_arg("reason", "utf8"),
                ],
                file,
                procedure: None,
                source_map: SourceMap::default(),
                content_hash: content_hash(bytes),
            }
        }
    }
}

/// Loads YAML text; `file` only names it in diagnostics.
pub fn load_str(text: &str, file: impl Into<PathBuf>) -> Loaded {
    load_str_hashed(text, file.into(), content_hash(text.as_bytes()))
}

fn load_str_hashed(text: &str, file: PathBuf, content_hash: String) -> Loaded {
    let mut loaded = Loaded {
        file,
        procedure: None,
        source_map: SourceMap::default(),
        diagnostics: Vec::new(),
        content_hash,
    };
    let parsed = match source_map::parse(text) {
        Ok(p) => p,
        Err(e) => {
            let mut d = Diagnostic::new(
                Code::YamlSyntax,
                &loaded.file,
                e.pos,
                format!("YAML syntax: {}", e.message),
            );
            if e.limit {
                d = d.with_arg("reason", "limit");
            }
            loaded.diagnostics.push(d);
            return loaded;
        }
    };
    loaded.source_map = parsed.source_map;
    let mut typer = Typer {
        file: &loaded.file,
        sm: &loaded.source_map,
        diagnostics: Vec::new(),
    };
    for (pointer, pos) in &parsed.duplicate_keys {
        let key = pointer.rsplit('/').next().unwrap_or_default();
        typer.diagnostics.push(
            Diagnostic::new(
                Code::DuplicateKey,
                typer.file,
                *pos,
                format!("key '{key}' is written twice in this mapping; YAML keeps only the last"),
            )
            .with_hint("remove or merge one of the two entries")
            .with_arg("key", key),
        );
    }
    let Some(root) = parsed.value else {
        typer.diagnostics.push(
            Diagnostic::new(
                Code::WrongType,
                typer.file,
                Pos::START,
                "the file is empty: expected a procedure (a mapping with id, name, states, ...)",
            )
            .with_arg("reason", "empty"),
        );
        loaded.diagnostics = typer.diagnostics;
        return loaded;
    };
    let procedure = typer.whole(&root);
    let diagnostics = typer.diagnostics;
    loaded.procedure = procedure;
    loaded.diagnostics = diagnostics;
    loaded.sort();
    loaded
}

/// The procedure's top-level fields and the required ones, read from its JSON Schema so that
/// a field added to the model is known here without a second list to maintain.
fn top_level_fields() -> &'static (Vec<String>, Vec<String>) {
    static FIELDS: OnceLock<(Vec<String>, Vec<String>)> = OnceLock::new();
    FIELDS.get_or_init(|| {
        let schema = serde_json::to_value(schemars::schema_for!(Procedure)).unwrap_or_default();
        let names = |v: Option<&Value>| -> Vec<String> {
            match v {
                Some(Value::Object(o)) => o.keys().cloned().collect(),
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect(),
                _ => Vec::new(),
            }
        };
        (
            names(schema.get("properties")),
            names(schema.get("required")),
        )
    })
}

struct Typer<'a> {
    file: &'a Path,
    sm: &'a SourceMap,
    diagnostics: Vec<Diagnostic>,
}

impl Typer<'_> {
    fn whole(&mut self, root: &Value) -> Option<Procedure> {
        let first = match self.typed::<Procedure>(root, "") {
            Ok(p) => return Some(p),
            Err(d) => d,
        };
        let before = self.diagnostics.len();
        if let Value::Object(fields) = root {
            self.fields(fields);
        }
        if self.diagnostics.len() == before {
            self.diagnostics.push(first);
        }
        None
    }

    /// Types each top-level field (and each list element) on its own to find every error.
    fn fields(&mut self, fields: &serde_json::Map<String, Value>) {
        let (known, required) = top_level_fields();
        for (key, value) in fields {
            let p = format!("/{}", escape(key));
            match key.as_str() {
                "id" | "version" | "code" | "name" => self.one::<String>(value, &p),
                "name_en" => self.one::<Option<String>>(value, &p),
                "agency" => self.one::<Agency>(value, &p),
                "legal_basis" => self.one::<Vec<String>>(value, &p),
                "effective_from" => self.one::<jiff::civil::Date>(value, &p),
                "effective_until" => self.one::<Option<jiff::civil::Date>>(value, &p),
                "limit" => self.one::<Limit>(value, &p),
                "form" => {}
                "roles" => self.each::<Role>(value, &p),
                "departments" => self.each::<Department>(value, &p),
                "documents" => self.each::<Document>(value, &p),
                "fees" => self.each::<Fee>(value, &p),
                "plugins" => self.each::<PluginRef>(value, &p),
                "validators" => self.each::<PluginCall>(value, &p),
                "states" => self.each::<State>(value, &p),
                "actions" => self.each::<Action>(value, &p),
                // A field this pass does not type on its own; the whole-document error stands.
                _ if known.iter().any(|f| f == key) => {}
                _ => {
                    let mut d = Diagnostic::new(
                        Code::UnknownField,
                        self.file,
                        self.sm.key(&p),
                        format!("unknown field '{key}' in the procedure"),
                    )
                    .with_arg("field", key);
                    if let Some(m) = did_you_mean(key, known.iter().map(String::as_str)) {
                        d = d
                            .with_hint(format!("did you mean '{m}'?"))
                            .with_arg("suggestion", m);
                    }
                    self.diagnostics.push(d);
                }
            }
        }
        for required in required {
            if !fields.contains_key(required) {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::MissingField,
                        self.file,
                        self.sm.value(""),
                        format!("missing field '{required}' in the procedure"),
                    )
                    .with_arg("field", required),
                );
            }
        }
    }

    fn one<T: DeserializeOwned>(&mut self, value: &Value, pointer: &str) {
        if let Err(d) = self.typed::<T>(value, pointer) {
            self.diagnostics.push(d);
        }
    }

    fn each<T: DeserializeOwned>(&mut self, value: &Value, pointer: &str) {
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.one::<T>(item, &format!("{pointer}/{i}"));
                }
            }
            _ => self.one::<Vec<T>>(value, pointer),
        }
    }

    /// Types `value` (found at `base`) as `T`, or explains the first error at its position.
    fn typed<T: DeserializeOwned>(&self, value: &Value, base: &str) -> Result<T, Diagnostic> {
        // Path tracking allocates for every field; only pay for it once typing has failed.
        if let Ok(typed) = T::deserialize(value) {
            return Ok(typed);
        }
        serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
            let mut pointer = base.to_string();
            for seg in e.path().iter() {
                match seg {
                    serde_path_to_error::Segment::Seq { index } => {
                        pointer.push_str(&format!("/{index}"));
                    }
                    serde_path_to_error::Segment::Map { key } => {
                        pointer.push_str(&format!("/{}", escape(key)));
                    }
                    serde_path_to_error::Segment::Enum { .. }
                    | serde_path_to_error::Segment::Unknown => {}
                }
            }
            let message = e.inner().to_string();
            let at = value_at(value, base, &pointer);
            self.explain(&pointer, &message, at)
        })
    }

    fn explain(&self, pointer: &str, message: &str, at: Option<&Value>) -> Diagnostic {
        let place = describe(pointer);
        if let Some(field) = between_backticks(message, "unknown field `") {
            let suffix = format!("/{}", escape(field));
            let (key_pointer, parent) = match pointer.strip_suffix(&suffix) {
                Some(parent) => (pointer.to_string(), parent),
                None => (format!("{pointer}{suffix}"), pointer),
            };
            let place = describe(parent);
            let mut d = Diagnostic::new(
                Code::UnknownField,
                self.file,
                self.sm.key(&key_pointer),
                format!("unknown field '{field}' in {place}"),
            )
            .with_arg("field", field)
            .with_arg("place", unquoted(&place));
            let expected = expected_names(message);
            if let Some(m) = did_you_mean(field, expected.iter().copied()) {
                d = d
                    .with_hint(format!("did you mean '{m}'?"))
                    .with_arg("suggestion", m);
            } else if !expected.is_empty() {
                d = d
                    .with_hint(format!("allowed here: {}", expected.join(", ")))
                    .with_arg("allowed", expected.join(", "));
            }
            return d;
        }
        if let Some(field) = between_backticks(message, "missing field `") {
            return Diagnostic::new(
                Code::MissingField,
                self.file,
                self.sm.value(pointer),
                format!("missing field '{field}' in {place}"),
            )
            .with_arg("field", field)
            .with_arg("place", unquoted(&place));
        }
        if let Some(Value::String(s)) = at
            && let Err(e) = s.parse::<Duration>()
            && e.to_string() == message
        {
            return Diagnostic::new(
                Code::InvalidDuration,
                self.file,
                self.sm.value(pointer),
                format!("{place}: {message}"),
            )
            .with_hint("write an amount and a unit: '3 working days', '0.5 working days', '4 working hours' or '15 days'")
            .with_arg("place", unquoted(&place))
            .with_arg("value", s);
        }
        let mut d = Diagnostic::new(
            Code::WrongType,
            self.file,
            self.sm.value(pointer),
            format!("{place}: {message}"),
        )
        .with_arg("place", unquoted(&place));
        if let Some(variant) = between_backticks(message, "unknown variant `") {
            let expected = expected_names(message);
            d = d
                .with_arg("value", variant)
                .with_arg("allowed", expected.join(", "));
            if let Some(m) = did_you_mean(variant, expected.iter().copied()) {
                d = d
                    .with_hint(format!("did you mean '{m}'?"))
                    .with_arg("suggestion", m);
            }
        } else if message.contains("expected a string") && matches!(at, Some(Value::Number(_))) {
            d = d
                .with_hint("quote the value, e.g. '1.001193', so YAML reads it as text")
                .with_arg("reason", "number_for_text");
        }
        d
    }
}

/// A JSON pointer as authors read it: `/states/3/kind` → `'states[3].kind'`.
fn describe(pointer: &str) -> String {
    if pointer.is_empty() {
        return "the procedure".to_string();
    }
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        if seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg.replace("~1", "/").replace("~0", "~"));
        }
    }
    format!("'{out}'")
}

/// A place as [`describe`] writes it, without its quotes (`states[3].kind`), for
/// `Diagnostic::args`: the message catalogue words it in its own language. Empty for the
/// procedure itself (the top level), which `describe` writes in English words.
fn unquoted(place: &str) -> &str {
    place
        .strip_prefix('\'')
        .and_then(|p| p.strip_suffix('\''))
        .unwrap_or("")
}

/// The value at `pointer` inside `value`, which sits at `base`.
fn value_at<'v>(value: &'v Value, base: &str, pointer: &str) -> Option<&'v Value> {
    let rest = pointer.strip_prefix(base)?;
    if rest.is_empty() {
        Some(value)
    } else {
        value.pointer(rest)
    }
}

/// The text between `prefix` and the next backtick.
fn between_backticks<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let start = message.find(prefix)? + prefix.len();
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

/// The names serde lists after "expected" in an unknown-field or unknown-variant message.
fn expected_names(message: &str) -> Vec<&str> {
    let Some(i) = message.find("expected") else {
        return Vec::new();
    };
    message[i..].split('`').skip(1).step_by(2).collect()
}

fn line_col_of_byte(bytes: &[u8], index: usize) -> Pos {
    let before = &bytes[..index.min(bytes.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    Pos {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        col: u32::try_from(col).unwrap_or(u32::MAX),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::procedure::load_and_check_str;

    const MINIMAL: &str = include_str!("../../../../tests/fixtures/valid-minimal.yaml");

    #[test]
    fn top_level_typos_are_all_reported_with_suggestions() {
        let text = MINIMAL
            .replace("name: Thủ tục mẫu\n", "nam: Thủ tục mẫu\n")
            .replace("    status: 4\n", "    status: -4\n");
        let loaded = load_and_check_str(&text, "t.yaml");
        let got: Vec<(&str, u32, u32, Option<&str>)> = loaded
            .diagnostics
            .iter()
            .map(|d| (d.code.as_str(), d.line, d.col, d.hint.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("E003", 2, 1, None),
                ("E002", 5, 1, Some("did you mean 'name'?")),
                ("E004", 40, 13, None),
            ]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Whatever an author does to a file, loading never panics and every diagnostic points
        /// inside the file.
        #[test]
        fn damaged_files_give_positioned_diagnostics(
            cut in 0usize..MINIMAL.len(),
            len in 0usize..40,
            insert in "[ -~\\n]{0,12}",
        ) {
            let chars: Vec<char> = MINIMAL.chars().collect();
            let cut = cut.min(chars.len());
            let end = (cut + len).min(chars.len());
            let text: String = chars[..cut].iter().chain(insert.chars().collect::<Vec<_>>().iter()).chain(chars[end..].iter()).collect();
            let loaded = load_and_check_str(&text, "t.yaml");
            let lines = u32::try_from(text.lines().count()).unwrap() + 1;
            for d in &loaded.diagnostics {
                prop_assert!(d.line >= 1 && d.line <= lines, "{d}");
                prop_assert!(d.col >= 1, "{d}");
            }
            if loaded.procedure.is_none() {
                prop_assert!(loaded.has_errors());
            }
        }
    }
}
