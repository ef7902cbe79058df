//! The citizen heard: a satisfaction rating once the result is issued, once; feedback at any
//! time, bounded, addressed to the department in charge; an answer only by a leader of that
//! department; each its own audited version; ratings counted on the resolution's day.

use crate::support;

conformance!();

use jiff::civil::date;
use motcua::dossier::feedback::Level;
use motcua::dossier::transition::{
    AnswerRequest, Error as Refusal, FeedbackRequest, RateRequest, feedback_limits,
};
use motcua::dossier::{Actor, Dossier};
use motcua::report::{self, By, Query};
use support::*;

use crate::engine::{appraised, desk, head_of_office, structure};

fn refused(r: motcua::Result<Dossier>) -> Refusal {
    match r {
        Err(motcua::Error::Refused(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn rating(d: &Dossier, level: Level, comment: Option<&str>) -> RateRequest {
    RateRequest {
        dossier: d.code.clone(),
        actor: applicant_of(d),
        level,
        comment: comment.map(String::from),
    }
}

fn feedback(d: &Dossier, text: &str) -> FeedbackRequest {
    FeedbackRequest {
        dossier: d.code.clone(),
        actor: applicant_of(d),
        text: text.into(),
    }
}

fn answer(d: &Dossier, number: u32, who: Actor, text: &str) -> AnswerRequest {
    AnswerRequest {
        dossier: d.code.clone(),
        actor: who,
        number,
        text: text.into(),
    }
}

fn zoning_leader() -> Actor {
    officer("tnmt00", "lanh_dao", "phong_tnmt")
}

fn desk_leader() -> Actor {
    officer("mc00", "lanh_dao", "bo_phan_mot_cua")
}

/// Received Monday 1 June 2026 09:00 and appraised, submitted for signature.
fn to_sign(h: &Harness) -> Dossier {
    let d = appraised(h);
    act(h, &d, "trinh_ky", structure()).unwrap()
}

#[test]
fn a_dossier_is_rated_once_after_its_result_by_its_applicant() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = appraised(&h);
    // Before the result: nothing to rate yet.
    let e = refused(h.engine.rate(rating(&d, Level::Satisfied, None)));
    assert!(matches!(e, Refusal::NotRatable { .. }), "{e}");
    let d = act(&h, &d, "trinh_ky", structure()).unwrap();
    h.now("2026-06-02T10:00:00+07:00");
    let d = act(&h, &d, "ky", head_of_office()).unwrap();
    // Only the applicant rates.
    let mut stranger = rating(&d, Level::NotSatisfied, None);
    stranger.actor = officer("mc01", "mot_cua", "bo_phan_mot_cua");
    let e = refused(h.engine.rate(stranger));
    assert!(matches!(e, Refusal::ApplicantOnly { .. }), "{e}");
    // A comment past its bound is refused whole.
    let long = "ý".repeat(feedback_limits::RATING_COMMENT + 1);
    let e = refused(h.engine.rate(rating(&d, Level::Satisfied, Some(&long))));
    assert!(matches!(e, Refusal::BadText { .. }), "{e}");

    h.now("2026-06-03T08:30:00+07:00");
    let before = d.version;
    let d = h
        .engine
        .rate(rating(
            &d,
            Level::VerySatisfied,
            Some("  Nhanh, tận tình  "),
        ))
        .unwrap();
    assert_eq!(d.version, before + 1);
    let r = d.rating.clone().unwrap();
    assert_eq!(r.level, Level::VerySatisfied);
    assert_eq!(r.comment.as_deref(), Some("Nhanh, tận tình"));
    assert_eq!(r.at, at("2026-06-03T08:30:00+07:00"));
    assert_eq!(states(&d), ["tra_ket_qua"], "a rating moves nothing");

    let e = refused(h.engine.rate(rating(&d, Level::NotSatisfied, None)));
    assert!(matches!(e, Refusal::AlreadyRated { .. }), "{e}");
    assert_eq!(motcua::Error::Refused(e).code(), "already_rated");

    // Returned to the applicant: still rated once, still one entry.
    let d = act(&h, &d, "tra", desk()).unwrap();
    assert_eq!(d.rating.unwrap().level, Level::VerySatisfied);
    let history = h.engine.history(&d.code).unwrap();
    let rates: Vec<_> = history.iter().filter(|e| e.action == "rate").collect();
    assert_eq!(rates.len(), 1);
    assert_eq!(rates[0].actor, "079090001234");
    assert_eq!(rates[0].input["level"], "very_satisfied");
    assert_eq!(rates[0].comment.as_deref(), Some("Nhanh, tận tình"));
    assert_eq!(rates[0].version, before + 1);
    motcua::audit::verify_store(h.engine.store(), &Default::default()).unwrap();
}

#[test]
fn feedback_reaches_the_department_in_charge_and_only_its_leader_answers() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = h.engine.submit(house_permit(house())).unwrap().dossier;
    // At the desk: the desk's department has it.
    let d = h
        .engine
        .send_feedback(feedback(&d, "Xin cho biết khi nào có kết quả?"))
        .unwrap();
    assert_eq!(d.feedback[0].number, 1);
    assert_eq!(d.feedback[0].department.as_deref(), Some("bo_phan_mot_cua"));
    let d = act(&h, &d, "chuyen_tham_dinh", desk()).unwrap();
    let d = act(
        &h,
        &d,
        "dat_quy_hoach",
        officer("tnmt01", "chuyen_vien", "phong_tnmt"),
    )
    .unwrap();
    let d = act(&h, &d, "dat_ket_cau", structure()).unwrap();
    // At consolidation: the works office has it.
    let d = h
        .engine
        .send_feedback(feedback(&d, "Cán bộ hẹn gọi lại nhưng chưa gọi."))
        .unwrap();
    assert_eq!(d.feedback[1].department.as_deref(), Some("phong_qlxd"));

    // A leader of another department, an officer of the right one who leads nothing, the
    // desk's officer: all refused.
    for who in [zoning_leader(), structure(), desk()] {
        let e = refused(h.engine.answer_feedback(answer(&d, 2, who, "Đã xử lý")));
        assert!(matches!(e, Refusal::NotLeader { .. }), "{e}");
    }
    let e = refused(
        h.engine
            .answer_feedback(answer(&d, 3, head_of_office(), "Không có")),
    );
    assert!(
        matches!(e, Refusal::UnknownFeedback { number: 3, .. }),
        "{e}"
    );
    let e = refused(
        h.engine
            .answer_feedback(answer(&d, 2, head_of_office(), "   ")),
    );
    assert!(matches!(e, Refusal::BadText { .. }), "{e}");

    h.now("2026-06-01T14:00:00+07:00");
    let d = h
        .engine
        .answer_feedback(answer(&d, 2, head_of_office(), "Phòng đã gọi lại cho anh."))
        .unwrap();
    let a = d.feedback[1].answer.clone().unwrap();
    assert_eq!(a.officer, "qlxd00");
    assert_eq!(a.at, at("2026-06-01T14:00:00+07:00"));
    let e = refused(
        h.engine
            .answer_feedback(answer(&d, 2, head_of_office(), "Lần nữa")),
    );
    assert!(matches!(e, Refusal::FeedbackAnswered { .. }), "{e}");
    // The first went to the desk: its leader answers it, the works office's cannot.
    let e = refused(
        h.engine
            .answer_feedback(answer(&d, 1, head_of_office(), "x")),
    );
    assert!(matches!(e, Refusal::NotLeader { .. }), "{e}");
    let d = h
        .engine
        .answer_feedback(answer(&d, 1, desk_leader(), "Dự kiến ngày 22/6."))
        .unwrap();
    assert!(d.feedback.iter().all(|f| f.answer.is_some()));
    assert_eq!(states(&d), ["tong_hop"], "feedback moves nothing");

    let history = h.engine.history(&d.code).unwrap();
    let actions: Vec<(&str, &str)> = history
        .iter()
        .filter(|e| e.action.contains("feedback"))
        .map(|e| (e.action.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("feedback", "079090001234"),
            ("feedback", "079090001234"),
            ("answer_feedback", "qlxd00"),
            ("answer_feedback", "mc00"),
        ]
    );
    motcua::audit::verify_store(h.engine.store(), &Default::default()).unwrap();
}

#[test]
fn a_dossier_holds_a_bounded_number_of_feedback_each_of_bounded_length() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let mut d = h.engine.submit(house_permit(house())).unwrap().dossier;
    let long = "a".repeat(feedback_limits::TEXT + 1);
    let e = refused(h.engine.send_feedback(feedback(&d, &long)));
    assert!(matches!(e, Refusal::BadText { .. }), "{e}");
    let e = refused(h.engine.send_feedback(feedback(&d, "a\u{0}b")));
    assert!(matches!(e, Refusal::BadText { .. }), "{e}");
    for i in 0..feedback_limits::FEEDBACK {
        d = h
            .engine
            .send_feedback(feedback(&d, &format!("Lần {}\nxin hỏi", i + 1)))
            .unwrap();
    }
    let e = refused(h.engine.send_feedback(feedback(&d, "Thêm")));
    assert!(matches!(e, Refusal::FeedbackFull { limit: 20, .. }), "{e}");
    assert_eq!(motcua::Error::Refused(e).code(), "feedback_limit");
    assert_eq!(h.engine.dossier(&d.code).unwrap().feedback.len(), 20);
}

#[test]
fn a_rating_counts_on_the_day_its_dossier_was_resolved_and_the_share_is_of_those_resolved() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let (first, second) = (to_sign(&h), to_sign(&h));
    // Both signed on Tuesday: their results are issued that day.
    h.now("2026-06-02T10:00:00+07:00");
    let first = act(&h, &first, "ky", head_of_office()).unwrap();
    let second = act(&h, &second, "ky", head_of_office()).unwrap();
    // Rated three days after the result: it counts on the result's day.
    h.now("2026-06-05T09:00:00+07:00");
    h.engine
        .rate(rating(&first, Level::NotSatisfied, None))
        .unwrap();
    let r = report::on_time(
        h.engine.store(),
        &Query {
            from: date(2026, 6, 2),
            to: date(2026, 6, 2),
            by: By::Department,
        },
    )
    .unwrap();
    assert_eq!(r.rows.len(), 1);
    let row = &r.rows[0];
    assert_eq!(row.key, "phong_qlxd");
    assert_eq!(row.ended, 2);
    assert_eq!(
        (
            row.very_satisfied,
            row.satisfied,
            row.not_satisfied,
            row.rated
        ),
        (0, 0, 1, 1)
    );
    assert_eq!(row.rated_share, Some(0.5));
    let rated_day = report::on_time(
        h.engine.store(),
        &Query {
            from: date(2026, 6, 5),
            to: date(2026, 6, 5),
            by: By::Agency,
        },
    )
    .unwrap();
    assert_eq!(rated_day.total.rated, 0);
    assert!(rated_day.rows.is_empty());
    // The second, returned and then rated: the counts follow.
    let second = act(&h, &second, "tra", desk()).unwrap();
    h.engine
        .rate(rating(&second, Level::VerySatisfied, None))
        .unwrap();
    let r = report::on_time(
        h.engine.store(),
        &Query {
            from: date(2026, 6, 1),
            to: date(2026, 6, 30),
            by: By::Procedure,
        },
    )
    .unwrap();
    let t = &r.total;
    assert_eq!((t.very_satisfied, t.not_satisfied, t.rated), (1, 1, 2));
    assert_eq!(t.rated_share, Some(1.0));
}

/// Regression (review of issue 28): a dossier the applicant withdrew was offered for rating,
/// though the rule is a result issued, a refusal or a stop.
#[test]
fn a_withdrawn_dossier_is_not_rated() {
    let h = Harness::new("2026-06-01T09:00:00+07:00");
    let d = crate::engine::awaiting_supplement(&h);
    let d = act(&h, &d, "rut", applicant_of(&d)).unwrap();
    assert!(d.ending.is_some(), "withdrawn");
    let e = refused(h.engine.rate(rating(&d, Level::Satisfied, None)));
    assert!(matches!(e, Refusal::NotRatable { .. }), "{e}");
}
