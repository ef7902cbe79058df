//! The generated workload of the report tests: thousands of dossiers of the engine and
//! deadline fixtures, received at the desk, online and by post over July and August 2025, each
//! with its fate (its pace, whether it is refused, sent back for supplements, withdrawn,
//! extended, apologised for, or left where it is), driven through the real engine on a sled
//! store with a clock moved by hand, every timer fired as it comes due.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use jiff::Timestamp;
use motcua::Engine;
use motcua::calendar::{Calendar, Duration, Unit};
use motcua::clock::ManualClock;
use motcua::deadline::WorkingCalendar;
use motcua::dossier::transition::{ActionRequest, Submission};
use motcua::dossier::{Actor, Applicant, Channel, Dossier};
use motcua::store::sled::{Options, SledStore};

use crate::support::{at, citizen, fixture, officer};

pub const SAME_DAY: &str = "khai-sinh-trong-ngay-thu-nghiem";
pub const RESIDENCE: &str = "thuong-tru-tre-em-thu-nghiem";
pub const LINKED: &str = "lien-thong-khai-sinh-thu-nghiem";
pub const PERMIT: &str = "cap-phep-xay-dung-thu-nghiem";
pub const APPRAISAL: &str = "tham-dinh-co-han";

/// Receipts run from the first working day of July to the last one of August 2025; the
/// workload stops, with everything still open left where it is, at the close of that day.
pub const FIRST_DAY: &str = "2025-07-01T00:00:00+07:00";
pub const RECEIPT_DAYS: i64 = 52;
pub const END: &str = "2025-08-29T17:00:00+07:00";

/// xorshift64*: the same workload on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
    /// Working hours, in thousandths, between `lo` and `hi` hours.
    fn hours(&mut self, lo: u64, hi: u64) -> u64 {
        lo * 1000 + self.below((hi - lo) * 1000 + 1)
    }
}

/// What will happen to one dossier.
#[derive(Debug, Clone, Default)]
pub struct Fate {
    /// Working time between its moves, in thousandths of an hour.
    pace: u64,
    /// Moves it gets before it is left where it is (`None`: as many as it takes).
    moves_left: Option<u32>,
    refuse: bool,
    /// How many times it is sent back for a supplement at the consolidating step.
    supplements: u8,
    /// Sent back for a structure supplement inside the permit's parallel checks.
    branch_supplement: bool,
    fail_structure: bool,
    /// Withdrawn by the applicant while waiting on a supplement.
    withdraw: bool,
    /// The applicant never answers the supplement request: the clock stays paused.
    stall: bool,
    extend: bool,
    apologise: bool,
}

struct Life {
    code: String,
    fate: Fate,
    asked: u8,
    branch_asked: bool,
    extended: bool,
    apologised: bool,
}

/// One step an officer, the applicant or the citizen takes.
struct Move {
    action: &'static str,
    who: Actor,
    input: serde_json::Value,
    comment: Option<&'static str>,
    /// An extension or apology, which may be refused by its date rules: then the dossier goes
    /// on with its ordinary step.
    notice: bool,
}

pub struct Workload {
    /// Holds the store's folder until the workload is dropped.
    _dir: tempfile::TempDir,
    pub engine: Engine,
    pub calendar: Calendar,
    /// Every dossier received, children of linked groups included.
    pub codes: Vec<String>,
}

pub fn engine_on(path: &std::path::Path, clock: Arc<ManualClock>) -> Engine {
    // Durability is not what these tests measure; syncing thousands of commits is slow.
    let options = Options {
        fsync: false,
        ..Options::default()
    };
    let store = SledStore::open(path, options).expect("store opens");
    let engine = Engine::new(
        Arc::new(store),
        Arc::new(Calendar::vietnam_default()),
        clock,
    )
    .expect("engine opens");
    for dir in ["engine", "deadline"] {
        engine
            .load_procedures_dir(&fixture(dir))
            .expect("fixtures load");
    }
    engine
}

/// Receives `dossiers` dossiers and lives their fates up to [`END`].
pub fn run(dossiers: usize, seed: u64) -> Workload {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = Arc::new(ManualClock::new(at(FIRST_DAY)));
    let engine = engine_on(dir.path(), clock.clone());
    let cal = Calendar::vietnam_default();
    let mut rng = Rng::new(seed);
    let end = at(END);

    // (when, tie-break, which): plans first by index, then lives.
    let mut queue: BinaryHeap<Reverse<(Timestamp, u64, Event)>> = BinaryHeap::new();
    let mut plans = vec![];
    for i in 0..dossiers {
        let (sub, when, fate) = plan(&cal, &mut rng);
        queue.push(Reverse((when, i as u64, Event::Receive(plans.len()))));
        plans.push(Some((sub, fate)));
    }
    let mut lives: Vec<Life> = vec![];
    let mut tie = dossiers as u64;
    let mut fired_through = at(FIRST_DAY);
    while let Some(Reverse((when, _, event))) = queue.pop() {
        if when > end {
            break;
        }
        clock.set(when);
        if when > fired_through {
            engine.fire_due(when).expect("timers fire");
            fired_through = when;
        }
        let index = match event {
            Event::Receive(p) => {
                let Some((sub, fate)) = plans[p].take() else {
                    continue;
                };
                let receipt = engine.submit(sub).expect("received");
                lives.push(Life::new(receipt.dossier.code, fate));
                lives.len() - 1
            }
            Event::Move(l) => {
                let d = engine.dossier(&lives[l].code).expect("stored");
                let before = d.children.len();
                let Some(d) = step(&engine, &cal, when, &d, &mut lives[l]) else {
                    continue;
                };
                // Children of a linked group live their own (short) lives.
                for child in &d.children[before..] {
                    let fate = Fate {
                        pace: rng.hours(1, 60),
                        moves_left: rng.percent(30).then_some(0),
                        ..Fate::default()
                    };
                    lives.push(Life::new(child.clone(), fate));
                    tie += 1;
                    let next = cal
                        .add(when, pace(&lives[lives.len() - 1]))
                        .expect("in range");
                    queue.push(Reverse((next, tie, Event::Move(lives.len() - 1))));
                }
                l
            }
        };
        let life = &mut lives[index];
        if life.fate.moves_left == Some(0) {
            continue;
        }
        tie += 1;
        let next = cal.add(when, pace(life)).expect("in range");
        queue.push(Reverse((next, tie, Event::Move(index))));
    }
    clock.set(end);
    engine.fire_due(end).expect("timers fire");
    // At the end, the applicants of most dossiers with a result rate them (a rating counts
    // on the resolution's day, whenever given); a separate stream keeps the plans above as
    // they were.
    let mut votes = Rng::new(seed ^ 0x5a715f);
    for l in &lives {
        let d = engine.dossier(&l.code).expect("stored");
        if d.parent.is_some() || !motcua::dossier::transition::ratable(&d) || !votes.percent(70) {
            continue;
        }
        let level = motcua::dossier::feedback::Level::ALL[votes.below(3) as usize];
        engine
            .rate(motcua::dossier::transition::RateRequest {
                dossier: d.code.clone(),
                actor: applicant(&d),
                level,
                comment: None,
            })
            .expect("rated");
    }
    let codes = lives.into_iter().map(|l| l.code).collect();
    Workload {
        _dir: dir,
        engine,
        calendar: cal,
        codes,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Receive(usize),
    Move(usize),
}

impl Life {
    fn new(code: String, fate: Fate) -> Life {
        Life {
            code,
            fate,
            asked: 0,
            branch_asked: false,
            extended: false,
            apologised: false,
        }
    }
}

fn pace(life: &Life) -> Duration {
    Duration::new(life.fate.pace, Unit::WorkingHours)
}

/// The submission of one dossier, when it arrives and its fate.
fn plan(cal: &Calendar, rng: &mut Rng) -> (Submission, Timestamp, Fate) {
    let (procedure, data, documents, pace) = match rng.below(100) {
        0..30 => (
            SAME_DAY,
            serde_json::json!({"ho_ten_tre": "Lê Minh Khang"}),
            vec![],
            rng.hours(0, 10),
        ),
        30..45 => (
            RESIDENCE,
            serde_json::json!({"ho_ten": "Lê Minh Khang"}),
            vec![],
            rng.hours(2, 80),
        ),
        45..60 => (
            LINKED,
            serde_json::json!({"ho_ten_tre": "Lê Minh Khang", "ngay_sinh": "2025-06-20"}),
            vec![],
            rng.hours(0, 8),
        ),
        60..80 => (
            PERMIT,
            serde_json::json!({"chu_dau_tu": "Nguyễn Văn An", "dien_tich_san": 180.5, "so_tang": 3}),
            vec!["don", "ban_ve", "gcn_qsdd"],
            rng.hours(2, 30),
        ),
        _ => (
            APPRAISAL,
            serde_json::json!({"ten": "Trần Thị Bình"}),
            vec!["don"],
            rng.hours(1, 14),
        ),
    };
    let channel = match rng.below(10) {
        0..4 => Channel::Desk,
        4..9 => Channel::Online,
        _ => Channel::Post,
    };
    // Online at any hour of any day; the desk and the post office in office hours.
    let day = at(FIRST_DAY)
        .checked_add(jiff::SignedDuration::from_hours(
            24 * rng.below(RECEIPT_DAYS as u64) as i64,
        ))
        .expect("in range");
    let mut when = day
        .checked_add(jiff::SignedDuration::from_mins(rng.below(24 * 60) as i64))
        .expect("in range");
    if channel != Channel::Online {
        when = cal.next_working_instant(when).expect("in range");
    }
    let fate = Fate {
        pace,
        moves_left: rng.percent(12).then(|| rng.below(4) as u32),
        refuse: rng.percent(6),
        supplements: match rng.below(100) {
            0..70 => 0,
            70..92 => 1,
            _ => 2,
        },
        branch_supplement: rng.percent(15),
        fail_structure: rng.percent(5),
        withdraw: rng.percent(15),
        stall: rng.percent(25),
        extend: rng.percent(15),
        apologise: rng.percent(8),
    };
    let sub = Submission {
        papers: vec![],
        procedure: procedure.into(),
        applicant: Applicant {
            id: format!("0480900{:05}", rng.below(100_000)),
            name: "Trần Thị Bình".into(),
            phone: None,
            email: None,
            notify_by: vec![],
            disadvantaged_area: false,
        },
        channel,
        data,
        documents: documents.into_iter().map(String::from).collect(),
        idempotency_key: None,
        received_by: officer("mc01", "mot_cua", "mot_cua"),
        meta: Default::default(),
        comment: None,
    };
    (sub, when, fate)
}

/// Takes the dossier's next step by its fate; `None` when it has none to take now.
fn step(
    engine: &Engine,
    cal: &Calendar,
    now: Timestamp,
    d: &Dossier,
    life: &mut Life,
) -> Option<Dossier> {
    if !d.is_open() || life.fate.moves_left == Some(0) {
        return None;
    }
    for _ in 0..2 {
        let (state, m) = d
            .active_states()
            .find_map(|s| decide(cal, now, d, s, life).map(|m| (s.to_string(), m)))?;
        let req = ActionRequest {
            dossier: d.code.clone(),
            action: m.action.into(),
            actor: m.who,
            input: m.input,
            comment: m.comment.map(String::from),
            seen_version: d.version,
            on_behalf: false,
        };
        match engine.act(req) {
            Ok(next) => {
                if let Some(n) = &mut life.fate.moves_left {
                    *n -= 1;
                }
                return Some(next);
            }
            // Its flag is set now: the dossier takes its ordinary step instead.
            Err(_) if m.notice => continue,
            Err(e) => panic!("{} in {state}: '{}' refused: {e}", d.code, m.action),
        }
    }
    None
}

fn take(action: &'static str, who: Actor) -> Option<Move> {
    Some(Move {
        action,
        who,
        input: serde_json::json!({}),
        comment: None,
        notice: false,
    })
}

fn with(
    action: &'static str,
    who: Actor,
    input: serde_json::Value,
    comment: &'static str,
) -> Option<Move> {
    Some(Move {
        action,
        who,
        input,
        comment: Some(comment),
        notice: false,
    })
}

fn notice(action: &'static str, who: Actor, input: serde_json::Value) -> Option<Move> {
    Some(Move {
        notice: true,
        ..with(action, who, input, "Cần lấy thêm ý kiến")?
    })
}

fn applicant(d: &Dossier) -> Actor {
    Actor {
        id: d.applicant.id.clone(),
        roles: vec![],
        departments: vec![],
    }
}

/// The step the dossier's fate takes from `state`, if any.
fn decide(
    cal: &Calendar,
    now: Timestamp,
    d: &Dossier,
    state: &str,
    life: &mut Life,
) -> Option<Move> {
    let f = life.fate.clone();
    let none = serde_json::json!({});
    let docs = serde_json::json!({"giay_to_can_bo_sung": ["ban_ve"]});
    let handed_in = serde_json::json!({"giay_to": ["ban_ve"]});
    let registrar = || officer("tp01", "tu_phap", "tu_phap_ho_tich");
    let desk = |dep: &str| officer("mc01", "mot_cua", dep);
    let expert = |dep: &str| officer("cv01", "chuyen_vien", dep);
    let leader = |dep: &str| officer("ld01", "lanh_dao", dep);
    let waiting = |then: Option<Move>| if f.stall { None } else { then };
    match (d.procedure.as_str(), state) {
        (SAME_DAY, "dang_ky") | (LINKED, "da_dang_ky") => take("tra_ket_qua", registrar()),
        (LINKED, "dang_ky") => take("dang_ky_xong", registrar()),
        (RESIDENCE, "xu_ly") => take("duyet", officer("ca01", "cong_an", "cong_an_phuong")),

        (APPRAISAL, "tiep_nhan") => take("chuyen", desk("mot_cua")),
        (APPRAISAL, "xu_ly") if f.refuse => {
            with("tu_choi", expert("phong_kt"), none, "Không đủ điều kiện")
        }
        (APPRAISAL, "xu_ly") if life.asked < f.supplements => {
            life.asked += 1;
            with("yeu_cau_bo_sung", expert("phong_kt"), none, "Thiếu bản vẽ")
        }
        (APPRAISAL, "xu_ly") if f.apologise && !life.apologised => {
            life.apologised = true;
            // A working day after the appointment (and after today).
            let later = cal.add(
                d.clock.due_at.max(now),
                Duration::new(16_000, Unit::WorkingHours),
            );
            let promised = cal.local_date(later.ok()?).to_string();
            notice(
                "xin_loi_xu_ly",
                leader("phong_kt"),
                serde_json::json!({"promised": promised}),
            )
        }
        (APPRAISAL, "xu_ly") => take("trinh", expert("phong_kt")),
        (APPRAISAL, "giam_sat") => take("trinh_giam_sat", leader("phong_kt")),
        (APPRAISAL, "cho_bo_sung") if f.withdraw => waiting(take("rut", applicant(d))),
        (APPRAISAL, "cho_bo_sung") => waiting(take("nop_bo_sung", applicant(d))),
        (APPRAISAL, "ky") if f.extend && !life.extended => {
            life.extended = true;
            notice(
                "gia_han",
                leader("phong_kt"),
                serde_json::json!({"extension": "2 working days"}),
            )
        }
        (APPRAISAL, "ky") => take("ky", leader("phong_kt")),
        (APPRAISAL, "tra_ket_qua") => take("tra", desk("mot_cua")),

        (PERMIT, "tiep_nhan") if f.refuse => with(
            "tu_choi_tiep_nhan",
            desk("bo_phan_mot_cua"),
            none,
            "Hồ sơ không hợp lệ",
        ),
        (PERMIT, "tiep_nhan") => take("chuyen_tham_dinh", desk("bo_phan_mot_cua")),
        (PERMIT, "quy_hoach") => take("dat_quy_hoach", expert("phong_tnmt")),
        (PERMIT, "ket_cau") if f.fail_structure => with(
            "khong_dat_ket_cau",
            expert("phong_qlxd"),
            none,
            "Móng không đảm bảo",
        ),
        (PERMIT, "ket_cau") if f.branch_supplement && !life.branch_asked => {
            life.branch_asked = true;
            with(
                "yeu_cau_bo_sung_ket_cau",
                expert("phong_qlxd"),
                docs,
                "Thiếu bản vẽ kết cấu",
            )
        }
        (PERMIT, "ket_cau") => take("dat_ket_cau", expert("phong_qlxd")),
        (PERMIT, "cho_bo_sung_ket_cau") => waiting(with(
            "nop_bo_sung_ket_cau",
            applicant(d),
            handed_in,
            "Nộp bản vẽ",
        )),
        (PERMIT, "tong_hop") if life.asked < f.supplements => {
            life.asked = f.supplements;
            with(
                "yeu_cau_bo_sung",
                expert("phong_qlxd"),
                docs,
                "Bản vẽ thiếu mặt cắt",
            )
        }
        (PERMIT, "tong_hop") => take("trinh_ky", expert("phong_qlxd")),
        (PERMIT, "cho_bo_sung") if f.withdraw => waiting(take("rut", applicant(d))),
        (PERMIT, "cho_bo_sung") => {
            waiting(with("nop_bo_sung", citizen(), handed_in, "Nộp bổ sung"))
        }
        (PERMIT, "xem_xet_bo_sung") => take("trinh_ky_sau_bo_sung", expert("phong_qlxd")),
        (PERMIT, "ky_duyet") if f.extend && !life.extended => {
            life.extended = true;
            notice(
                "xin_gia_han",
                leader("phong_qlxd"),
                serde_json::json!({"extension": "5 working days"}),
            )
        }
        (PERMIT, "ky_duyet") => take("ky", leader("phong_qlxd")),
        (PERMIT, "tra_ket_qua") => take("tra", desk("bo_phan_mot_cua")),
        _ => None,
    }
}
