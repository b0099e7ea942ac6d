//! The server goes away in the middle of a session and comes back (`pg_ctl stop`, then
//! `start`, on the `scripts/with-postgres` server): the desk goes on recording, attempts
//! queue, and after the restart every attempt arrives with matching hashes — nothing lost,
//! nothing twice. Alone in its test binary, since it stops the shared test server.

mod db_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use db_support::TestDb;
use ringcoach::db::load::save_attempt;
use ringcoach::db::{sync_now, AttemptFiles, Role, SyncOptions, SyncWorker};
use ringcoach::store::{AttemptId, Store};

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_server_that_goes_away_mid_session_loses_nothing_and_duplicates_nothing() {
    let Some(t) = TestDb::migrated("outage") else {
        return;
    };
    let a = t.add("wang", Role::Agent);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    // Five seconds of audio each, so uploads are in flight when the server stops.
    let audio = |n: u64| -> Vec<i16> {
        (0..80_000u64)
            .map(|i| ((i * 7919 + n * 104_729) % 6000) as i16 - 3000)
            .collect()
    };
    let mut ids: Vec<AttemptId> = Vec::new();
    let mut record = |n: u64| {
        let s = save_attempt(
            &store,
            &a,
            "property-greeting",
            &audio(n),
            "您好,广利物业",
            n,
        )
        .unwrap();
        ids.push(s.id);
    };
    for n in 0..40 {
        record(n);
    }
    let opts = SyncOptions {
        interval: Duration::from_secs(60),
        backoff_min: Duration::from_millis(100),
        backoff_max: Duration::from_millis(800),
        keep_uploaded: None,
    };
    let w = SyncWorker::start(dir.path(), t.socket_settings(&a), opts).unwrap();
    w.nudge();
    let count = || -> i64 {
        t.superuser()
            .query_one("SELECT count(*) FROM ringcoach.attempts", &[])
            .unwrap()
            .get(0)
    };
    // Stop the server while the worker is part-way through the queue.
    wait_for("the first uploads", Duration::from_secs(60), || {
        count() >= 3
    });
    t.ctl("stop");
    let during = sync_now(&store, &t.socket_settings(&a), &SyncOptions::default()).unwrap();
    assert!(during.offline.is_some(), "{during:?}");
    assert!(
        during.waiting > 0,
        "the server stopped part-way through the queue: {during:?}"
    );

    // The desk goes on: recording and nudging never wait for the server.
    for n in 40..50 {
        let t0 = Instant::now();
        record(n);
        w.nudge();
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "recording waited {:?}",
            t0.elapsed()
        );
    }
    wait_for(
        "the worker to see the server gone",
        Duration::from_secs(30),
        || w.last_report().is_some_and(|r| r.offline.is_some()),
    );
    wait_for("the queue to be counted", Duration::from_secs(30), || {
        w.waiting() >= 10
    });
    let queued = w.waiting();
    assert!((10..=47).contains(&queued), "{queued} waiting");

    t.ctl("start");
    wait_for(
        "the queue to drain after the restart",
        Duration::from_secs(120),
        || {
            w.waiting() == 0
                && w.last_report()
                    .is_some_and(|r| r.offline.is_none() && r.waiting == 0)
        },
    );
    assert!(w.stop(Duration::from_secs(10)));

    // Every attempt, once, with the desk's hashes, the audio checked by the server itself.
    let rows = t
        .superuser()
        .query(
            "SELECT a.id, a.files::text, encode(sha256(au.wav), 'hex') = a.audio_sha256 \
             FROM ringcoach.attempts a JOIN ringcoach.audio au ON au.attempt_id = a.id ORDER BY a.id",
            &[],
        )
        .unwrap();
    let mut want: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    want.sort();
    let got: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(got, want, "exactly the desk's attempts, each once");
    for r in &rows {
        let id = AttemptId::parse(&r.get::<_, String>(0)).unwrap();
        let files: BTreeMap<String, String> = serde_json::from_str(&r.get::<_, String>(1)).unwrap();
        let local = AttemptFiles::read(&store.attempt_dir(&id)).unwrap();
        assert_eq!(&files, local.hashes(), "{id}");
        assert!(r.get::<_, bool>(2), "{id}: audio differs from its hash");
    }
}
