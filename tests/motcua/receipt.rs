//! What the engine checks at receipt that a desk form cannot: a date the schema bounds by the
//! receipt day (no birth in the future) and a fee charged per copy asked for.

use crate::support;

conformance!();

use support::*;

/// The test house permit with a per-copy fee and a bounded date, from the fixture's text.
fn permit_with_copies(h: &Harness) {
    let source = std::fs::read_to_string(fixture("engine").join("xay-dung.yaml")).unwrap();
    let source = source
        .replacen(
            "\nform:\n",
            "\nfees:\n  - { id: ban_sao, name: Bản sao giấy phép (mỗi bản), amount: 10000, per: so_ban_sao }\nform:\n",
            1,
        )
        .replacen(
            "    so_tang: { type: integer, minimum: 1 }\n",
            "    so_tang: { type: integer, minimum: 1 }\n    so_ban_sao: { type: integer, minimum: 0 }\n    ngay_khoi_cong: { type: string, format: date, formatMinimum: today }\n    ngay_cap_dat: { type: string, format: date, formatMaximum: today }\n",
            1,
        );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("xay-dung.yaml"), source).unwrap();
    h.engine.load_procedures_dir(dir.path()).unwrap();
}

#[test]
fn a_fee_per_copy_is_the_amount_times_the_copies_asked_for() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    permit_with_copies(&h);
    let mut data = house();
    data["so_ban_sao"] = serde_json::json!(3);
    let d = h.engine.submit(house_permit(data)).unwrap().dossier;
    let fee = d.fees.iter().find(|f| f.id == "ban_sao").unwrap();
    assert_eq!(fee.amount, 30_000);
    assert_eq!(fee.breakdown, [("3 × 10000".to_string(), 30_000)]);
    // None asked for: nothing charged.
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    assert_eq!(d.fees.iter().find(|f| f.id == "ban_sao").unwrap().amount, 0);
}

#[test]
fn a_date_bounded_by_the_receipt_day_is_refused_at_its_field() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    permit_with_copies(&h);
    let mut data = house();
    data["ngay_cap_dat"] = serde_json::json!("2026-06-02");
    data["ngay_khoi_cong"] = serde_json::json!("2026-05-31");
    let e = h.engine.submit(house_permit(data)).unwrap_err();
    let text = e.to_string();
    assert_eq!(e.code(), "invalid_form", "{text}");
    assert!(text.contains("/ngay_cap_dat"), "{text}");
    assert!(text.contains("/ngay_khoi_cong"), "{text}");
    // The receipt day itself is within both bounds.
    let mut data = house();
    data["ngay_cap_dat"] = serde_json::json!("2026-06-01");
    data["ngay_khoi_cong"] = serde_json::json!("2026-06-01");
    h.engine.submit(house_permit(data)).unwrap();
    assert_eq!(h.engine.store().dossier_count().unwrap(), 1);
}

#[test]
fn a_fee_per_a_field_the_form_lacks_is_a_validator_error() {
    let source = std::fs::read_to_string(fixture("engine").join("xay-dung.yaml")).unwrap();
    let source = source.replacen(
        "\nform:\n",
        "\nfees:\n  - { id: ban_sao, name: Bản sao, amount: 10000, per: chu_dau_tu }\nform:\n",
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("xay-dung.yaml");
    std::fs::write(&path, source).unwrap();
    let loaded = motcua::procedure::load_and_check_file(&path).unwrap();
    let text = format!("{:?}", loaded.diagnostics);
    assert!(
        text.contains("E058") || text.contains("FeePerField"),
        "{text}"
    );
}
