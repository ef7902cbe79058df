//! Staff search at a million dossiers (issue 25: a name or id search answers in at most 50 ms
//! at p99), beside a plain listing of the same page size in the same run.
//!
//! `cargo bench -p motcua --bench search` (`MOTCUA_BENCH_DOSSIERS`, default 1,000,000;
//! `MOTCUA_BENCH_STORE` keeps the filled store for another run):
//! 1. fills a sled store through the engine: that many dossiers received by 64 threads over
//!    the days of 2026, applicants named from common Vietnamese family, middle and given names
//!    (14 × 12 × 60 combinations, so a full name is shared by ~100 applicants), each with a
//!    unique id and phone; every tenth forwarded to appraisal;
//! 2. opens it as `motcua serve` does and times, query by query, what the server's handler
//!    asks the engine (`Engine::list`, one page of 50 with its dossiers read):
//!    - baseline: the department's work list (`dd` index, due order) and the all-dossiers
//!      list by receipt (no text);
//!    - a full name typed without accents, the last two words of a name, an id, a phone,
//!      and a dossier number.

#[path = "../../tests/support/calendar.rs"]
mod calendar;
mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use motcua::Engine;
use motcua::clock::ManualClock;
use motcua::dossier::transition::{ActionRequest, Submission};
use motcua::dossier::{Applicant, Channel};
use motcua::store::sled::{Options, SledStore};
use motcua::store::{Query, Scope, Search, Sort};
use support::walk::{THREADS, actor, fixture_dir};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FAMILY: [&str; 14] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô",
];
const MIDDLE: [&str; 12] = [
    "Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc", "Xuân", "Hoài", "Gia", "Kim",
];
const GIVEN: [&str; 60] = [
    "An", "Bình", "Chi", "Cường", "Dũng", "Duy", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa",
    "Hòa", "Hùng", "Hương", "Huy", "Khang", "Khánh", "Lan", "Linh", "Long", "Mai", "Minh", "My",
    "Nam", "Nga", "Ngân", "Nhung", "Phong", "Phúc", "Phương", "Quân", "Quang", "Sơn", "Tâm", "Tân",
    "Thảo", "Thắng", "Thành", "Thủy", "Tiến", "Trang", "Trí", "Trung", "Tú", "Tuấn", "Tùng",
    "Uyên", "Vân", "Việt", "Vinh", "Vy", "Xuân", "Yến", "Bảo", "Châu", "Đạt", "Định", "Khoa",
    "Lộc",
];

/// A deterministic spread over the names (a multiplicative hash, not sequential).
fn name(n: u64) -> String {
    let h = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!(
        "{} {} {}",
        FAMILY[(h % 14) as usize],
        MIDDLE[((h >> 8) % 12) as usize],
        GIVEN[((h >> 16) % 60) as usize]
    )
}

fn submission(n: u64) -> Submission {
    Submission {
        papers: vec![],
        procedure: "cap-phep-xay-dung-thu-nghiem".into(),
        applicant: Applicant {
            id: format!("048{n:09}"),
            name: name(n),
            phone: Some(format!("09{:08}", n * 7 % 100_000_000)),
            email: None,
            notify_by: vec![],
            disadvantaged_area: false,
        },
        channel: [Channel::Desk, Channel::Online, Channel::Post][(n % 3) as usize],
        data: serde_json::json!({"chu_dau_tu": name(n), "dien_tich_san": 180.5, "so_tang": 3}),
        documents: vec!["don".into(), "ban_ve".into(), "gcn_qsdd".into()],
        idempotency_key: None,
        received_by: actor("mc01", "mot_cua", "bo_phan_mot_cua"),
        meta: Default::default(),
        comment: None,
    }
}

fn open(path: &Path, options: Options, clock: Arc<ManualClock>) -> Engine {
    let store = Arc::new(SledStore::open(path, options).unwrap());
    let engine = Engine::new(store, Arc::new(calendar::test_calendar()), clock).unwrap();
    engine.load_procedures_dir(&fixture_dir()).unwrap();
    engine
}

fn fill(path: &Path, total: u64) {
    let clock = Arc::new(ManualClock::new(
        "2026-01-01T08:00:00+07:00".parse().unwrap(),
    ));
    let options = Options {
        fsync: false,
        ..Options::default()
    };
    let engine = Arc::new(open(path, options, clock.clone()));
    let per_day = total.div_ceil(365);
    let start = Instant::now();
    for day in 0..365u64 {
        let (first, last) = (day * per_day, ((day + 1) * per_day).min(total));
        if first >= last {
            break;
        }
        let next = Arc::new(AtomicU64::new(first));
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let (engine, next) = (engine.clone(), next.clone());
                std::thread::spawn(move || {
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= last {
                            break;
                        }
                        let d = engine.submit(submission(n)).unwrap().dossier;
                        if n.is_multiple_of(10) {
                            engine
                                .act(ActionRequest {
                                    dossier: d.code.clone(),
                                    action: "chuyen_tham_dinh".into(),
                                    actor: actor("mc01", "mot_cua", "bo_phan_mot_cua"),
                                    input: serde_json::json!({}),
                                    comment: None,
                                    seen_version: d.version,
                                    on_behalf: false,
                                })
                                .unwrap();
                        }
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        clock.advance(jiff::SignedDuration::from_hours(24));
    }
    println!(
        "fill: {total} dossiers in {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

/// Milliseconds at the 50th and 99th percentile, and the most matches a page held.
fn time(engine: &Engine, queries: &[Query]) -> (f64, f64, usize) {
    let mut ms = Vec::with_capacity(queries.len());
    let mut most = 0;
    for q in queries {
        let start = Instant::now();
        let page = engine.list(q, None, 50).unwrap();
        ms.push(start.elapsed().as_secs_f64() * 1000.0);
        most = most.max(page.dossiers.len());
    }
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((ms.len() as f64 * p) as usize).min(ms.len() - 1)];
    (at(0.50), at(0.99), most)
}

fn text(t: String) -> Query {
    Query::Search(Box::new(Search {
        text: Some(t),
        scope: Scope::All,
        sort: Sort::Received,
        ..Default::default()
    }))
}

fn main() {
    let total: u64 = std::env::var("MOTCUA_BENCH_DOSSIERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let kept = std::env::var("MOTCUA_BENCH_STORE").ok();
    let tmp = tempfile::tempdir().unwrap();
    let path = kept
        .as_deref()
        .map_or_else(|| tmp.path().join("store"), |p| Path::new(p).to_path_buf());
    if !path.join("db").exists() {
        fill(&path, total);
    }
    let clock = Arc::new(ManualClock::new(
        "2026-12-31T10:00:00+07:00".parse().unwrap(),
    ));
    let engine = open(&path, Options::default(), clock);
    let count = engine.store().dossier_count().unwrap();
    println!("store: {count} dossiers at {}", path.display());
    let picks: Vec<u64> = (0..1000u64)
        .map(|i| i.wrapping_mul(2_654_435_761) % count)
        .collect();
    let fold = |s: &str| motcua::search::fold(s);
    let department = |_: &u64| {
        Query::Search(Box::new(Search {
            department: Some("bo_phan_mot_cua".into()),
            ..Default::default()
        }))
    };
    let received = |_: &u64| {
        Query::Search(Box::new(Search {
            scope: Scope::All,
            sort: Sort::Received,
            ..Default::default()
        }))
    };
    let full_name = |n: &u64| text(fold(&name(*n)));
    let two_words = |n: &u64| {
        let folded = fold(&name(*n));
        let words: Vec<&str> = folded.split(' ').collect();
        text(words[1..].join(" "))
    };
    let id = |n: &u64| text(format!("048{n:09}"));
    let phone = |n: &u64| text(format!("09{:08}", n * 7 % 100_000_000));
    let number = |n: &u64| text(format!("{:04}", n % 2_740 + 1));
    type Make<'a> = &'a dyn Fn(&u64) -> Query;
    let cases: [(&str, Make); 7] = [
        ("baseline: a department's work, due order", &department),
        ("baseline: all dossiers, latest receipt first", &received),
        ("full name without accents", &full_name),
        ("last two words of a name", &two_words),
        ("id (CCCD)", &id),
        ("phone", &phone),
        ("dossier number (NNNN)", &number),
    ];
    // Warm the cache as a running server would be, then measure each case twice, alternating.
    for (_, make) in &cases {
        let qs: Vec<Query> = picks.iter().take(100).map(make).collect();
        time(&engine, &qs);
    }
    println!("| query (page of 50) | p50 ms | p99 ms | most on a page |");
    println!("|---|---|---|---|");
    for round in 1..=2 {
        for (label, make) in &cases {
            let qs: Vec<Query> = picks.iter().map(make).collect();
            let (p50, p99, most) = time(&engine, &qs);
            println!("| {label} (round {round}) | {p50:.2} | {p99:.2} | {most} |");
        }
    }
}
