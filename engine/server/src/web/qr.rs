//! The QR code printed on the appointment slip, as inline SVG: it opens the citizen's status
//! page with the code and the secret, so nobody types a 20-character secret from paper.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

pub fn svg(text: &str) -> Result<String, String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| e.to_string())?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(160, 160)
        .quiet_zone(true)
        .build())
}
