//! Two engines, as two nodes, on one PostgreSQL database: timer shards, webhook leases and
//! uploaded procedure versions shared between them.

use crate::support;
use motcua::store::Shared;
use std::sync::Arc;
use support::*;

fn two_nodes() -> (Node, Node) {
    two_nodes_on(&support::pg::cluster().fresh_database())
}

/// Two more nodes on the database at `url`.
fn two_nodes_on(url: &str) -> (Node, Node) {
    let url = url.to_string();
    let clock = Arc::new(motcua::clock::ManualClock::new(at(
        "2026-06-01T09:00:00+07:00",
    )));
    let node = || {
        let store = Arc::new(motcua::store::pg::PgStore::open(&url, Default::default()).unwrap());
        let engine = motcua::Engine::new(
            store.clone(),
            Arc::new(support::calendar::test_calendar()),
            clock.clone(),
        )
        .unwrap();
        engine.load_procedures_dir(&fixture("engine")).unwrap();
        Node {
            engine,
            store,
            url: url.clone(),
        }
    };
    (node(), node())
}

struct Node {
    engine: motcua::Engine,
    store: Arc<motcua::store::pg::PgStore>,
    url: String,
}

#[test]
fn a_node_acts_on_a_dossier_pinned_to_a_version_only_another_node_loaded() {
    let (a, b) = two_nodes();
    let v1 = std::fs::read_to_string(fixture("engine/xay-dung.yaml")).unwrap();
    let v2 = v1.replace("version: \"1\"", "version: \"2\"");
    assert_ne!(v1, v2, "the fixture names its version");
    a.engine.load_procedure("xay-dung-v2.yaml", v2).unwrap();
    let d = a.engine.submit(house_permit(house())).unwrap().dossier;
    let on_a = a.engine.procedure_versions("cap-phep-xay-dung-thu-nghiem");
    assert!(on_a.len() >= 2, "{on_a:?}");
    // Node b never loaded version 2; the store has it pinned, so b acts on the dossier.
    let moved = b.engine.act(forwarded(&d)).unwrap();
    assert_eq!(moved.version, d.version + 1);
    assert_eq!(moved.procedure_hash, d.procedure_hash);
}

/// The catalogue is the store's, not each node's: a version uploaded on one node receives the
/// very next submission on another, and a procedure new to the other node receives at once.
#[test]
fn a_version_uploaded_on_one_node_receives_the_next_submission_on_the_other() {
    let (a, b) = two_nodes();
    let v1 = std::fs::read_to_string(fixture("engine/xay-dung.yaml")).unwrap();
    let v2 = v1.replace("version: \"1\"", "version: \"2\"");
    a.engine
        .upload_procedure("cap-phep-xay-dung-thu-nghiem", v2)
        .unwrap();
    let d = b.engine.submit(house_permit(house())).unwrap().dossier;
    assert_eq!(
        d.procedure_version, "2",
        "node b received under the version uploaded on node a a moment ago"
    );

    // A procedure node b has never heard of.
    let other = v1.replace(
        "id: cap-phep-xay-dung-thu-nghiem",
        "id: cap-phep-xay-dung-thu-nghiem-2",
    );
    a.engine
        .upload_procedure("cap-phep-xay-dung-thu-nghiem-2", other)
        .unwrap();
    let mut sub = house_permit(house());
    sub.procedure = "cap-phep-xay-dung-thu-nghiem-2".into();
    let d = b.engine.submit(sub).unwrap().dossier;
    assert_eq!(d.procedure, "cap-phep-xay-dung-thu-nghiem-2");

    // A node that joins picks the uploads up at its first listing; one uploaded after that
    // is told (NOTIFY) and listed well before the fallback look.
    let (c, _) = two_nodes_on(&a.url);
    assert!(
        c.engine
            .procedure("cap-phep-xay-dung-thu-nghiem")
            .is_some_and(|p| p.procedure.version == "2")
    );
    let v3 = v1.replace("version: \"1\"", "version: \"3\"");
    a.engine
        .upload_procedure("cap-phep-xay-dung-thu-nghiem", v3)
        .unwrap();
    let told_c = std::time::Instant::now();
    loop {
        if c.engine
            .procedure("cap-phep-xay-dung-thu-nghiem")
            .is_some_and(|p| p.procedure.version == "3")
        {
            break;
        }
        assert!(
            told_c.elapsed() < std::time::Duration::from_secs(4),
            "node c was not told of version 3 (the fallback look is every {:?})",
            motcua::store::pg::POLL
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_node_passes_over_timers_another_node_claims_and_fires_them_once_released() {
    use motcua::store::Shared;
    let (a, b) = two_nodes();
    let d = a.engine.submit(house_permit(house())).unwrap().dossier;
    // Long past every deadline of the receipt step.
    let later = at("2026-07-15T09:00:00+07:00");
    let claim = a.store.claim_timers().unwrap();
    assert!(claim.covers(&d.code), "the first claimer holds every shard");
    let fired = b.engine.fire_due(later).unwrap();
    assert!(fired.is_empty(), "b fired what a claims: {fired:?}");
    assert!(b.engine.others_firing());
    drop(claim);
    // The claim is released on a thread of its own; b fires once it is.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let fired = loop {
        let fired = b.engine.fire_due(later).unwrap();
        if !fired.is_empty() || std::time::Instant::now() > deadline {
            break fired;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(fired.iter().all(|f| f.dossier == d.code) && !fired.is_empty());
    assert!(!b.engine.others_firing());
    // Nothing is left for a: each timer fired once.
    assert!(a.engine.fire_due(later).unwrap().is_empty());
    let entries = a.engine.history(&d.code).unwrap();
    let overdue = entries
        .iter()
        .filter(|e| e.action == "system:overdue")
        .count();
    let fired_overdue = fired
        .iter()
        .filter(|f| f.kind == "step_due" || f.kind == "appointment")
        .count();
    assert!(fired_overdue > 0);
    assert_eq!(overdue, fired_overdue, "one entry per breach fired");
}

#[test]
fn a_webhook_cursor_is_leased_by_one_node_at_a_time() {
    use motcua::store::Marks;
    let (a, b) = two_nodes();
    let name = "webhook/portal/cursor";
    let (mut lease, value) = a.store.lease(name).unwrap().expect("a free lease");
    assert_eq!(value, None);
    assert!(
        b.store.lease(name).unwrap().is_none(),
        "b leased what a holds"
    );
    assert!(lease.set(&*a.store, b"17").unwrap(), "a keeps its lease");
    assert!(b.store.lease(name).unwrap().is_none());
    assert_eq!(b.store.mark(name).unwrap().as_deref(), Some(&b"17"[..]));
    drop(lease);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let (_, value) = loop {
        if let Some(l) = b.store.lease(name).unwrap() {
            break l;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the lease was never released"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(
        value.as_deref(),
        Some(&b"17"[..]),
        "b continues from a's cursor"
    );
}

#[test]
fn a_hung_node_holding_the_chain_stops_the_others_only_until_its_session_is_ended() {
    use motcua::store::pg::{Options, connection_config};
    use std::time::{Duration, Instant};
    let (a, _) = two_nodes();
    // A node with the guards every node has (a shorter idle timeout, for the test) takes
    // the records' lock in its transaction, then hangs: a stopped process, a frozen VM.
    let guarded = Options {
        idle_in_transaction: Duration::from_secs(2),
        ..Options::default()
    };
    let mut hung = connection_config(&a.url, &guarded)
        .unwrap()
        .connect(postgres::NoTls)
        .unwrap();
    hung.batch_execute("BEGIN; LOCK TABLE motcua_kv IN EXCLUSIVE MODE")
        .unwrap();
    // The server's clock on the hung session starts now. Node a's submission waits for
    // the lock, and is received once the server has ended the hung session.
    let submitted = Instant::now();
    let received = a.engine.submit(house_permit(house())).unwrap().dossier;
    let waited = submitted.elapsed();
    assert!(waited >= Duration::from_secs(1), "not blocked: {waited:?}");
    assert!(
        waited < Duration::from_secs(30),
        "blocked too long: {waited:?}"
    );
    assert_eq!(states(&received), ["tiep_nhan"]);
    assert_eq!(received.version, 1);
    assert!(
        hung.batch_execute("SELECT 1").is_err(),
        "the hung session was ended"
    );
}

#[test]
fn a_timer_claim_is_kept_by_a_busy_node_and_lost_by_a_hung_one() {
    use motcua::store::Shared;
    use motcua::store::pg::{Options, PgStore};
    use std::time::{Duration, Instant};
    let url = support::pg::cluster().fresh_database();
    let node = PgStore::open(
        &url,
        Options {
            idle_in_transaction: Duration::from_millis(400),
            ..Options::default()
        },
    )
    .unwrap();
    let other = PgStore::open(&url, Options::default()).unwrap();
    let mut claim = node.claim_timers().unwrap();
    assert!(!claim.is_partial(), "the first claimer holds every shard");
    // A long firing (a backlog after a restart) renews its claim between pages.
    for _page in 0..6 {
        std::thread::sleep(Duration::from_millis(200));
        assert!(claim.renew(), "a busy node lost its claim");
    }
    assert!(
        other.claim_timers().unwrap().is_partial(),
        "taken mid-firing"
    );
    // Then the node hangs mid-firing: the server ends its session, and the shards go to
    // the node still working.
    let hung_at = Instant::now();
    loop {
        if !other.claim_timers().unwrap().is_partial() {
            break;
        }
        assert!(
            hung_at.elapsed() < Duration::from_secs(20),
            "the hung node kept its shards"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !claim.renew(),
        "the hung node still thinks it holds the shards"
    );
}

#[test]
fn a_webhook_lease_outlives_the_idle_timeout_through_a_long_retry() {
    use motcua::store::Marks;
    use motcua::store::pg::{Options, PgStore};
    use std::time::Duration;
    let url = support::pg::cluster().fresh_database();
    let patient = PgStore::open(
        &url,
        Options {
            idle_in_transaction: Duration::from_millis(300),
            ..Options::default()
        },
    )
    .unwrap();
    let other = PgStore::open(&url, Options::default()).unwrap();
    let name = "webhook/portal/cursor";
    let (mut lease, _) = patient.lease(name).unwrap().expect("a free lease");
    // A receiver that keeps failing: the node waits out its backoff, lease in hand.
    std::thread::sleep(Duration::from_millis(1200));
    assert!(other.lease(name).unwrap().is_none(), "taken mid-retries");
    assert!(
        lease.set(&patient, b"8").unwrap(),
        "the lease is still held"
    );
    std::thread::sleep(Duration::from_millis(1200));
    assert!(
        lease.set(&patient, b"9").unwrap(),
        "held again after the save"
    );
    assert_eq!(other.mark(name).unwrap().as_deref(), Some(&b"9"[..]));
}
