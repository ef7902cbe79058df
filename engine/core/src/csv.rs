//! The one CSV writer every export uses (the audit log, reports, the screens' downloads):
//! RFC 4180 records ending CRLF, and no cell a spreadsheet would run as a formula. A cell that
//! starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading apostrophe
//! (OWASP's advice for CSV injection), so a comment like `=HYPERLINK("http://evil","x")` is
//! shown as text; a cell holding `;` is quoted, so no locale's separator splits a formula out. The JSON Lines export keeps every value exactly.

/// Appends one record of `fields`, CRLF included.
pub fn record<'a>(out: &mut Vec<u8>, fields: impl IntoIterator<Item = &'a str>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        field(out, f);
    }
    out.extend_from_slice(b"\r\n");
}

/// One cell: neutralised if a spreadsheet would read it as a formula, quoted only when
/// RFC 4180 requires it.
pub fn field(out: &mut Vec<u8>, s: &str) {
    let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    // `;` too: where the list separator is `;` (Vietnamese Excel among them) an unquoted
    // `x;=cmd` would split into a cell that starts a formula.
    let quote = s
        .bytes()
        .any(|b| matches!(b, b',' | b';' | b'"' | b'\r' | b'\n'));
    if quote {
        out.push(b'"');
    }
    if formula {
        out.push(b'\'');
    }
    for b in s.bytes() {
        if quote && b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    if quote {
        out.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(s: &str) -> String {
        let mut out = Vec::new();
        field(&mut out, s);
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn a_field_with_a_comma_a_quote_or_a_line_break_is_quoted_and_its_quotes_doubled() {
        assert_eq!(
            cell("Thiếu bản vẽ, \"mặt bằng\"\ntầng 2"),
            "\"Thiếu bản vẽ, \"\"mặt bằng\"\"\ntầng 2\""
        );
        assert_eq!(cell("ky_duyet"), "ky_duyet");
    }

    /// Regression (issue 24): a citizen's comment `=HYPERLINK(...)` arrived in the
    /// inspector's export as a live formula.
    #[test]
    fn a_cell_a_spreadsheet_would_run_as_a_formula_is_neutralised() {
        assert_eq!(
            cell("=HYPERLINK(\"http://evil\",\"x\")"),
            "\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\""
        );
        for s in ["+1", "-1+2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(cell(s).trim_start_matches('"').starts_with('\''), "{s:?}");
        }
        assert_eq!(cell("a=b"), "a=b", "only the first character matters");
        assert_eq!(
            cell("x;=cmd"),
            "\"x;=cmd\"",
            "one cell wherever `;` separates"
        );
        let mut out = Vec::new();
        record(&mut out, ["1", "=cmd", ""]);
        assert_eq!(out, b"1,'=cmd,\r\n");
    }
}
