//! The message catalogue: every word motcua says to a person (a screen, a printed form, an
//! API problem's `detail`) is made here, in Vietnamese, from a stable code and structured
//! arguments. The engine, the validator and plugins return codes and data (`Error` variants,
//! `FieldError::code`); only this module turns them into sentences, so one thing is never
//! named two ways and a department reads no English and no internal id.
//!
//! - `format`: dates and times in Asia/Ho_Chi_Minh, numbers with a decimal comma and dots
//!   between thousands, đồng, durations and lateness in words, appointments as a citizen
//!   reads them, where a clock stands ("Trễ 1 ngày 2 giờ làm việc");
//! - `errors`: why a request was refused, naming steps, roles and departments by their
//!   labels ([`errors::Names`]);
//! - `requests`: what the HTTP edge says of a request it cannot take (no credential, no
//!   permission, an unknown address, a malformed body), and the titles of refusals;
//! - `events`: the engine's own steps (pauses, warnings, escalations) as sentences for the
//!   timeline, the leader's lists and the inspector, from the audit entry's data;
//! - `fields`: a form's field errors as sentences at the field, by its title and labels;
//! - `diagnostics`: a procedure file's problems (validator codes E001…, W001…) as the author
//!   reads them on the upload screen and in an upload refusal's `detail`s;
//! - `columns`: the headers of the spreadsheets people download (CSV, `.xlsx`);
//! - `labels`: the engine's classifications (on time, clock states, channels, statuses, the
//!   engine's own steps) as the national index and the forms name them.
//!
//! English stays where machines and integrators read: the stable `code`s, `Error`'s
//! `Display` (logs, the CLI), JSON exports.

pub mod columns;
pub mod diagnostics;
pub mod errors;
pub mod events;
pub mod fields;
pub mod format;
pub mod labels;
pub mod notices;
pub mod requests;
pub mod simulate;

/// The construction-permit sample, whose labels the catalogue's tests expect in sentences.
#[cfg(test)]
pub(crate) fn sample_permit() -> crate::procedure::Procedure {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../procedures/cap-phep-xay-dung-nha-o.yaml"
    );
    let source = std::fs::read_to_string(path).expect("sample");
    crate::procedure::load_and_check_str(&source, path)
        .procedure
        .expect("valid sample")
}
