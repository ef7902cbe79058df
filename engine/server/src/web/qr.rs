//! QR codes as inline SVG. Two kinds are printed:
//! - the appointment slip's (form 01) status link: it opens the citizen's status page with the
//!   code and the secret, so nobody types a 20-character secret from paper;
//! - every printed paper's own code at its top left (Circular 01/2023/TT-VPCP: at least the
//!   dossier code, the procedure code, the applicant's ID and the paper's name), as UTF-8
//!   text, one `key: value` per line in a fixed order ([`paper`]); docs/screens.md.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// The keys of a paper's QR code, in the order they are written.
pub const DOSSIER: &str = "ma_ho_so";
pub const PROCEDURE: &str = "ma_thu_tuc";
pub const APPLICANT: &str = "so_dinh_danh";
pub const NAME: &str = "ten_giay_to";

/// The SVG document of `text`, at least `side` pixels square.
pub fn svg_sized(text: &str, side: u32) -> Result<String, String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| e.to_string())?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(side, side)
        .quiet_zone(true)
        .build())
}

pub fn svg(text: &str) -> Result<String, String> {
    svg_sized(text, 160)
}

/// The `<svg>` element alone, for a page: the document's XML declaration has no place
/// inside HTML.
pub fn inline(text: &str) -> Result<String, String> {
    let doc = svg_sized(text, 132)?;
    Ok(doc
        .find("<svg")
        .map_or(doc.clone(), |i| doc[i..].to_string()))
}

/// A paper's QR payload: the dossier's code, the procedure's national code, the applicant's
/// ID and the paper's name.
pub fn paper(dossier: &str, procedure_code: &str, applicant_id: &str, name: &str) -> String {
    lines(&[
        (DOSSIER, dossier),
        (PROCEDURE, procedure_code),
        (APPLICANT, applicant_id),
        (NAME, name),
    ])
}

/// `key: value` lines; a value's line breaks and other control characters become spaces, so
/// each field stays on its line.
pub fn lines(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            let v: String = v
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            format!("{k}: {}", v.trim())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A paper's name in a sentence's case from its printed title:
/// "GIẤY TIẾP NHẬN HỒ SƠ" → "Giấy tiếp nhận hồ sơ".
pub fn sentence_case(title: &str) -> String {
    let lower = title.to_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_papers_payload_is_four_lines_in_a_fixed_order_whatever_a_value_holds() {
        let text = paper(
            "000.20.31.H17-261207-0001",
            "1.001193",
            "0010900\n12345",
            &sentence_case("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"),
        );
        assert_eq!(
            text,
            "ma_ho_so: 000.20.31.H17-261207-0001\nma_thu_tuc: 1.001193\n\
             so_dinh_danh: 0010900 12345\nten_giay_to: Giấy tiếp nhận hồ sơ và hẹn trả kết quả"
        );
        let svg = inline(&text).expect("fits a QR code");
        assert!(svg.starts_with("<svg") && svg.contains("<path"), "{svg}");
    }
}
