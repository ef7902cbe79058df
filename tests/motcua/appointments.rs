//! Appointments the engine gives on receipt: the working-day calendar's holidays, the
//! same-day rule's 15:00 cut-off, a dossier received on a holiday.

use crate::support;

conformance!();

use motcua::dossier::Dossier;
use support::*;

#[test]
fn an_appointment_skips_vietnamese_culture_day_2026() {
    // Received Friday 20 November 2026; Tuesday 24 November is Ngày Văn hóa Việt Nam.
    let h = Harness::new("2026-11-20T09:00:00+07:00");
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    assert_eq!(d.code, "000.17.22.H56-261120-0001");
    // 15 working days: 23, 25, 26, 27 Nov; 30 Nov–4 Dec; 7–11 Dec; 14 Dec is the 15th.
    assert_eq!(d.clock.due_at, at("2026-12-14T09:00:00+07:00"));
}

fn birth(h: &Harness) -> Dossier {
    let mut s = house_permit(serde_json::json!({"ho_ten_tre": "Trần Gia Hân"}));
    s.procedure = "khai-sinh-trong-ngay-thu-nghiem".into();
    s.documents = vec![];
    h.engine.submit(s).unwrap().dossier
}

#[test]
fn a_same_day_dossier_received_before_15_00_is_due_at_the_close_of_that_day() {
    let h = Harness::new("2026-06-03T14:59:00+07:00");
    assert_eq!(birth(&h).clock.due_at, at("2026-06-03T17:00:00+07:00"));
}

#[test]
fn a_same_day_dossier_received_after_15_00_is_due_at_the_close_of_the_next_working_day() {
    let h = Harness::new("2026-06-05T15:30:00+07:00");
    let d = birth(&h);
    assert_eq!(
        d.clock.due_at,
        at("2026-06-08T17:00:00+07:00"),
        "Friday after 15:00 → Monday's close"
    );
    let d = act(
        &h,
        &d,
        "tra_ket_qua",
        officer("tp01", "tu_phap", "tu_phap_ho_tich"),
    )
    .unwrap();
    assert!(d.ending.unwrap().on_time);
}

#[test]
fn a_dossier_received_on_a_holiday_counts_from_the_next_working_day() {
    // Online on Hùng Kings' Day 2026 (Sunday 26 April; Monday 27 April is the day in lieu).
    let h = Harness::new("2026-04-26T10:00:00+07:00");
    let mut s = house_permit(serde_json::json!({"ho_ten_tre": "Lê An"}));
    s.procedure = "khai-sinh-trong-ngay-thu-nghiem".into();
    s.documents = vec![];
    s.channel = motcua::dossier::Channel::Online;
    let d = h.engine.submit(s).unwrap().dossier;
    assert_eq!(d.clock.due_at, at("2026-04-28T17:00:00+07:00"));
}

#[test]
fn the_sample_birth_registration_is_returned_the_same_day_or_the_next_after_15_00() {
    let h = Harness::new("2026-06-03T10:00:00+07:00");
    h.engine
        .load_procedures_dir(&fixture("../../procedures"))
        .unwrap();
    let submit = |h: &Harness| {
        let p = h.engine.procedure("dang-ky-khai-sinh").unwrap();
        let mut s = house_permit(p.procedure.form["examples"][0].clone());
        // Born before this test's June receipt (a birth date after the receipt day is refused).
        s.data["ngay_sinh"] = serde_json::json!("2026-05-25");
        s.procedure = "dang-ky-khai-sinh".into();
        s.documents = vec![];
        h.engine.submit(s).unwrap().dossier
    };
    assert_eq!(submit(&h).clock.due_at, at("2026-06-03T17:00:00+07:00"));
    h.now("2026-06-03T15:01:00+07:00");
    assert_eq!(submit(&h).clock.due_at, at("2026-06-04T17:00:00+07:00"));
}
