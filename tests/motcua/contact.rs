//! The applicant's contact and the notices worded from the outbox, on every store: the desk
//! changes the phone, e-mail and consent as its own audited version; who is not the desk, a
//! consent without its address, a stale page and a change to itself are refused and write
//! nothing; each event an applicant is told of is worded from the dossier as stored, with the
//! office's address, the dates in Vietnamese formats and the papers asked for.

use crate::support;

conformance!();

use motcua::dossier::transition::{ContactRequest, Error as Refusal};
use motcua::dossier::{Actor, Dossier, NoticeChannel};
use motcua::notice::{Kind, Templates};
use motcua::office::Offices;
use support::*;

use crate::engine::{desk, head_of_office, structure, zoning};

fn contact(
    d: &Dossier,
    email: Option<&str>,
    notify_by: &[NoticeChannel],
    who: Actor,
) -> ContactRequest {
    ContactRequest {
        dossier: d.code.clone(),
        phone: Some("0905 123 456".into()),
        email: email.map(String::from),
        notify_by: notify_by.to_vec(),
        actor: who,
        comment: Some("Công dân đổi địa chỉ tại quầy".into()),
        seen_version: d.version,
    }
}

fn refusal(e: motcua::Error) -> Refusal {
    match e {
        motcua::Error::Refused(r) => r,
        other => panic!("not a refusal: {other}"),
    }
}

#[test]
fn the_desk_changes_the_contact_as_an_audited_version_and_others_are_refused() {
    let h = Harness::new("2026-12-07T09:00:00+07:00");
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    assert!(d.applicant.notify_by.is_empty());
    let before = h.engine.history(&d.code).unwrap().len();

    // Not the desk; consent to e-mail with no address; a stale page: refused, nothing written.
    let e = h
        .engine
        .change_contact(contact(
            &d,
            Some("an@example.vn"),
            &[NoticeChannel::Email],
            zoning(),
        ))
        .unwrap_err();
    assert!(matches!(refusal(e), Refusal::RoleRequired { .. }));
    let e = h
        .engine
        .change_contact(contact(&d, None, &[NoticeChannel::Email], desk()))
        .unwrap_err();
    assert_eq!(e.code(), "invalid_request", "{e}");
    let stale = ContactRequest {
        seen_version: d.version + 1,
        ..contact(&d, Some("an@example.vn"), &[NoticeChannel::Email], desk())
    };
    assert!(matches!(
        refusal(h.engine.change_contact(stale).unwrap_err()),
        Refusal::Conflict { .. }
    ));
    let e = h
        .engine
        .change_contact(contact(&d, Some("an@@example"), &[], desk()))
        .unwrap_err();
    assert_eq!(e.code(), "invalid_request", "{e}");
    assert_eq!(h.engine.history(&d.code).unwrap().len(), before);
    assert_eq!(h.engine.dossier(&d.code).unwrap().version, d.version);

    let changed = h
        .engine
        .change_contact(contact(
            &d,
            Some("an@example.vn"),
            &[NoticeChannel::Sms, NoticeChannel::Email],
            desk(),
        ))
        .unwrap();
    assert_eq!(changed.version, d.version + 1);
    assert_eq!(changed.applicant.email.as_deref(), Some("an@example.vn"));
    assert_eq!(
        changed.applicant.notify_by,
        [NoticeChannel::Email, NoticeChannel::Sms]
    );
    // Its steps and clocks are as they were.
    assert_eq!(changed.tokens, d.tokens);
    assert_eq!(changed.clock, d.clock);
    let entry = h.engine.history(&d.code).unwrap().pop().unwrap();
    assert_eq!(entry.action, "contact");
    assert_eq!(entry.actor, "mc01");
    assert_eq!(entry.input["previous"]["email"], serde_json::Value::Null);
    assert_eq!(
        entry.input["notify_by"],
        serde_json::json!(["email", "sms"])
    );
    // The same again changes nothing.
    let again = h
        .engine
        .change_contact(contact(
            &changed,
            Some("an@example.vn"),
            &[NoticeChannel::Email, NoticeChannel::Sms],
            desk(),
        ))
        .unwrap_err();
    assert!(matches!(refusal(again), Refusal::BadInput { .. }));
    // Kept across a reopen, and the chain still verifies.
    let h = h.reopen(true);
    let kept = h.engine.dossier(&d.code).unwrap();
    assert_eq!(kept.applicant, changed.applicant);
    motcua::audit::verify_store(h.engine.store(), &Default::default()).unwrap();
}

/// Every notice the outbox holds for a dossier, worded with the catalogue's templates.
fn worded(h: &Harness, offices: &Offices) -> Vec<(Kind, String, String)> {
    let templates = Templates::new(Default::default()).unwrap();
    let link = |code: &str| Some(format!("https://motcua.example.vn/tra-cuu/{code}?secret=s"));
    let mut out = vec![];
    for (seq, event) in h.engine.store().outbox(0, 1000).unwrap() {
        if let Some((facts, reach)) =
            motcua::notice::gather(&h.engine, offices, &link, &event).unwrap()
        {
            for r in reach
                .into_iter()
                .filter(|r| r.channel == NoticeChannel::Email)
            {
                let n = templates.render(seq, &facts, r.channel, &r.to);
                out.push((facts.kind, n.subject, n.text));
            }
        }
    }
    out
}

#[test]
fn each_event_the_applicant_is_told_of_is_worded_from_the_stored_dossier() {
    let h = Harness::new("2026-12-07T09:00:00+07:00");
    let mut sub = house_permit(house());
    sub.applicant.email = Some("an@example.vn".into());
    sub.applicant.notify_by = vec![NoticeChannel::Email];
    let d = h.engine.submit(sub).unwrap().dossier;
    let offices = Offices::parse(
        "offices:\n  - agency: 000.17.22.H56\n    name: Bộ phận Một cửa quận Hải Châu\n    address: 270 Trưng Nữ Vương\n    hours: 'Thứ Hai – Thứ Sáu: 7:30–17:00'\n    phone: 0236 3 822 111\n",
    )
    .unwrap();
    let d = act(&h, &d, "chuyen_tham_dinh", desk()).unwrap();
    let d = act(&h, &d, "dat_quy_hoach", zoning()).unwrap();
    let d = act_with(
        &h,
        &d,
        "yeu_cau_bo_sung_ket_cau",
        structure(),
        serde_json::json!({"giay_to_can_bo_sung": ["ban_ve"]}),
        Some("Bản vẽ thiếu mặt cắt"),
    )
    .unwrap();
    let d = act_with(
        &h,
        &d,
        "nop_bo_sung_ket_cau",
        applicant_of(&d),
        serde_json::json!({"giay_to": ["ban_ve"]}),
        None,
    )
    .unwrap();
    let d = act(&h, &d, "dat_ket_cau", structure()).unwrap();
    let d = act(&h, &d, "trinh_ky", structure()).unwrap();
    let d = act(&h, &d, "ky", head_of_office()).unwrap();
    act(&h, &d, "tra", desk()).unwrap();

    let notices = worded(&h, &offices);
    let kinds: Vec<Kind> = notices.iter().map(|n| n.0).collect();
    assert_eq!(
        kinds,
        [
            Kind::Received,
            Kind::Supplement,
            Kind::Resumed,
            Kind::Result
        ],
        "moves between officers and the return are not the applicant's notices"
    );
    let (_, subject, text) = &notices[0];
    assert_eq!(subject, &format!("Hồ sơ {} đã được tiếp nhận", d.code));
    assert!(text.contains("lúc 07/12/2026 09:00"), "{text}");
    assert!(text.contains("Bộ phận Một cửa quận Hải Châu, 270 Trưng Nữ Vương (Thứ Hai – Thứ Sáu: 7:30–17:00); điện thoại 0236 3 822 111"), "{text}");
    assert!(
        text.contains(&format!(
            "https://motcua.example.vn/tra-cuu/{}?secret=s",
            d.code
        )),
        "{text}"
    );
    let (_, _, asked) = &notices[1];
    assert!(asked.contains("\n- Bản vẽ thiết kế\n"), "{asked}");
    assert!(asked.contains("Lý do: Bản vẽ thiếu mặt cắt"), "{asked}");
    // Without the office in the file, the notice still says where to go.
    let none = worded(&h, &Offices::default());
    assert!(
        none[3].2.contains("bộ phận một cửa của UBND quận Hải Châu"),
        "{}",
        none[3].2
    );
}

#[test]
fn a_refusal_is_told_with_its_reason_and_a_silent_applicant_hears_nothing() {
    let h = Harness::new("2026-12-07T09:00:00+07:00");
    let mut told = house_permit(house());
    told.applicant.phone = Some("0905123456".into());
    told.applicant.notify_by = vec![NoticeChannel::Sms];
    let d = h.engine.submit(told).unwrap().dossier;
    act_with(
        &h,
        &d,
        "tu_choi_tiep_nhan",
        desk(),
        serde_json::json!({}),
        Some("Thiếu chữ ký trên đơn"),
    )
    .unwrap();
    let silent = h.engine.submit(house_permit(house())).unwrap().dossier;
    act_with(
        &h,
        &silent,
        "tu_choi_tiep_nhan",
        desk(),
        serde_json::json!({}),
        Some("x"),
    )
    .unwrap();
    let templates = Templates::new(Default::default()).unwrap();
    let link = |_: &str| None;
    let mut sms = vec![];
    for (seq, event) in h.engine.store().outbox(0, 1000).unwrap() {
        if let Some((facts, reach)) =
            motcua::notice::gather(&h.engine, &Offices::default(), &link, &event).unwrap()
        {
            assert_eq!(event.dossier, d.code, "only the applicant who agreed");
            for r in reach {
                sms.push(templates.render(seq, &facts, r.channel, &r.to));
            }
        }
    }
    assert_eq!(sms.len(), 2);
    assert_eq!(sms[1].kind, "refused");
    assert_eq!(sms[1].to, "0905123456");
    assert_eq!(
        sms[1].text,
        format!(
            "Hồ sơ {} không được giải quyết. Lý do: Thiếu chữ ký trên đơn",
            d.code
        )
    );
    assert_eq!(sms[1].key(), format!("motcua-sms-{}", sms[1].seq));
}
