//! The desk's upload queue against a real PostgreSQL server (`scripts/with-postgres`): what
//! `store sync` reports, the worker thread, decisions made offline, conflicts, damaged local
//! files, pruning only what the server confirms, and a small room under load with real voices.

mod db_support;

use std::path::Path;
use std::time::{Duration, Instant};

use db_support::{compose, same_id_other_grade, samples, TestDb};
use ringcoach::db::load::{self, save_attempt};
use ringcoach::db::sync::{self, STATE_FILE};
use ringcoach::db::{sync_now, DbSettings, PgStore, Role, SyncOptions, SyncWorker};
use ringcoach::store::{AttemptId, Query, Store};
use ringcoach::transcribe::Transcript;

fn record(store: &Store, trainee: &str, n: u64) -> AttemptId {
    save_attempt(
        store,
        trainee,
        "property-greeting",
        &samples(n),
        "您好,广利物业",
        n,
    )
    .unwrap()
    .id
}

fn on_server(t: &TestDb) -> Vec<String> {
    t.superuser()
        .query("SELECT id FROM ringcoach.attempts ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn nobody_listening(t: &TestDb, user: &str) -> DbSettings {
    DbSettings::new(format!(
        "postgresql://{user}@127.0.0.1:1/{}?sslmode=disable&connect_timeout=2",
        t.name
    ))
}

#[test]
fn store_sync_says_how_many_went_and_how_many_wait() {
    let Some(t) = TestDb::migrated("sync_now") else {
        return;
    };
    let a = t.add("wang", Role::Agent);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let ids: Vec<_> = (0..3).map(|i| record(&store, &a, i)).collect();
    let settings = t.socket_settings(&a);
    let opts = SyncOptions::default();

    // Offline: nothing goes, all wait, and the report says why without the URL.
    let r = sync_now(&store, &nobody_listening(&t, &a), &opts).unwrap();
    assert_eq!((r.uploaded, r.waiting), (0, 3), "{r:?}");
    let why = r.offline.unwrap();
    assert!(
        why.contains("127.0.0.1:1/") && !why.contains("postgresql://"),
        "{why}"
    );
    assert_eq!(sync::waiting(&store).unwrap(), 3);

    let r = sync_now(&store, &settings, &opts).unwrap();
    assert_eq!((r.uploaded, r.already_there, r.waiting), (3, 0, 0), "{r:?}");
    assert!(
        r.offline.is_none() && r.conflicts.is_empty() && r.rejected.is_empty(),
        "{r:?}"
    );
    let mut want: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    want.sort();
    assert_eq!(on_server(&t), want);
    // Nothing left: a pass does nothing (it does not even connect: an unreachable server
    // is not noticed).
    let r = sync_now(&store, &nobody_listening(&t, &a), &opts).unwrap();
    assert_eq!(
        (r.uploaded, r.waiting, r.offline.as_deref()),
        (0, 0, None),
        "{r:?}"
    );
    // Losing the state file costs only a look: everything is already there.
    std::fs::remove_file(dir.path().join(STATE_FILE)).unwrap();
    let r = sync_now(&store, &settings, &opts).unwrap();
    assert_eq!((r.uploaded, r.already_there, r.waiting), (0, 3, 0), "{r:?}");
    assert_eq!(on_server(&t).len(), 3);

    // A damaged local attempt is not uploaded; the report says what to do.
    let bad = record(&store, &a, 9);
    let wav = store.audio_path(&bad);
    let mut bytes = std::fs::read(&wav).unwrap();
    bytes[1000] ^= 0x55;
    std::fs::write(&wav, bytes).unwrap();
    let r = sync_now(&store, &settings, &opts).unwrap();
    assert_eq!(
        (r.uploaded, r.waiting, r.rejected.len()),
        (0, 1, 1),
        "{r:?}"
    );
    assert!(r.rejected[0].contains("store check"), "{r:?}");
    assert_eq!(on_server(&t).len(), 3);

    // An agent whose desk records under another trainee name: refused by the database,
    // reported, and kept on the desk.
    let other = record(&store, &t.user("li"), 10);
    let r = sync_now(&store, &settings, &opts).unwrap();
    assert!(
        r.rejected.iter().any(|l| l.contains(other.as_str())
            && l.contains("row-level security")
            && l.contains("practise under your database user name")),
        "{r:?}"
    );
    assert!(store.attempt_dir(&other).join("meta.json").exists());
}

#[test]
fn the_same_id_with_other_content_is_a_conflict_and_stays_as_it_is_on_both_sides() {
    let Some(t) = TestDb::migrated("sync_conflict") else {
        return;
    };
    let a = t.add("wang", Role::Agent);
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let s1 = Store::open(d1.path()).unwrap();
    let id = record(&s1, &a, 1);
    let settings = t.socket_settings(&a);
    assert_eq!(
        sync_now(&s1, &settings, &SyncOptions::default())
            .unwrap()
            .uploaded,
        1
    );
    let before: String = t
        .superuser()
        .query_one("SELECT files::text FROM ringcoach.attempts", &[])
        .unwrap()
        .get(0);

    // A second desk holds an attempt under the same id with another grade (a restored
    // backup of another machine, say): consistent in itself, different from the server's.
    let s2 = Store::open(d2.path()).unwrap();
    let dst = s2.attempt_dir(&id);
    let report = same_id_other_grade(&s1.attempt_dir(&id), &dst);
    s2.rebuild().unwrap();

    for _ in 0..2 {
        let r = sync_now(&s2, &settings, &SyncOptions::default()).unwrap();
        assert_eq!(
            (r.conflicts.clone(), r.uploaded, r.waiting),
            (vec![id.clone()], 0, 0),
            "{r:?}"
        );
    }
    let after: String = t
        .superuser()
        .query_one("SELECT files::text FROM ringcoach.attempts", &[])
        .unwrap()
        .get(0);
    assert_eq!(before, after, "the server's copy was not touched");
    assert_eq!(
        std::fs::read_to_string(dst.join("report.json")).unwrap(),
        report,
        "nor the desk's"
    );
}

#[test]
fn decisions_made_offline_follow_and_local_copies_go_only_once_the_server_confirms_them() {
    let Some(t) = TestDb::migrated("sync_prune") else {
        return;
    };
    let tr = t.add("zhao", Role::Trainer);
    let other_trainer = t.add("qian", Role::Trainer);
    let dir = tempfile::tempdir().unwrap();
    // A trainer's desk, grading recorded calls of two trainees, offline at first.
    let store = Store::open(dir.path()).unwrap();
    let ids: Vec<_> = (0..4)
        .map(|i| record(&store, if i % 2 == 0 { "王芳" } else { "李雷" }, i))
        .collect();
    store
        .overrule(
            &ids[0],
            &tr,
            "organisation",
            "uncertain",
            "pass",
            "听得清楚",
        )
        .unwrap();
    let corrected = Transcript {
        text: "您好,广利物业,请讲".into(),
        segments: vec![],
        cut_off: None,
    };
    store
        .correct_transcript(&ids[1], &tr, &corrected, "广立→广利")
        .unwrap();
    store
        .regrade(
            &ids[1],
            &tr,
            &serde_json::json!({"score": 88.0}),
            88.0,
            true,
            "after correction",
        )
        .unwrap();
    // Another trainer's decision on this desk: the database will not take it from `tr`.
    store.mark_reviewed(&ids[2], &other_trainer, "").unwrap();
    let offline = sync_now(&store, &nobody_listening(&t, &tr), &SyncOptions::default()).unwrap();
    assert_eq!(offline.waiting, 4);

    let keep = SyncOptions {
        keep_uploaded: Some(Duration::ZERO),
        ..SyncOptions::default()
    };
    let r = sync_now(&store, &t.socket_settings(&tr), &keep).unwrap();
    assert_eq!((r.uploaded, r.decisions, r.waiting), (4, 3, 0), "{r:?}");
    assert!(
        r.rejected.iter().any(|l| l.contains(&other_trainer)),
        "{r:?}"
    );
    // Pruned: those the server confirms, decisions and all; not the one with a decision
    // the server would not take.
    let mut pruned = r.pruned.clone();
    pruned.sort();
    assert_eq!(
        pruned,
        vec![ids[0].clone(), ids[1].clone(), ids[3].clone()],
        "{r:?}"
    );
    assert!(store.attempt_dir(&ids[2]).join("audit.jsonl").exists());
    for id in &pruned {
        assert!(!store.attempt_dir(id).exists(), "{id}");
    }
    let left: Vec<_> = store
        .list(&Query::default())
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(left, vec![ids[2].clone()]);
    assert!(store.check(false, true).unwrap().problems.is_empty());
    // What went is on the server, decisions and the corrected transcript with it.
    let mut pg = PgStore::new(t.connect_as(&tr), tempfile::tempdir().unwrap().path()).unwrap();
    assert_eq!(pg.list(&Query::default()).unwrap().len(), 4);
    let a = pg.load(&ids[1]).unwrap();
    assert_eq!(
        a.corrected_transcript.as_ref().map(|t| t.text.as_str()),
        Some(corrected.text.as_str())
    );
    assert_eq!(a.regraded_report, Some(serde_json::json!({"score": 88.0})));
    assert_eq!(pg.summary(&ids[0]).unwrap().unwrap().overrules, 1);

    // A call of a certification sitting goes up but stays on the desk: a certificate rests
    // on its files.
    let exam_dir = tempfile::tempdir().unwrap();
    let s3 = Store::open(exam_dir.path()).unwrap();
    let exam_call = s3
        .save(
            ringcoach::store::AttemptInfo {
                scenario: "answer-call".into(),
                rubric_sha256: "ab".repeat(32),
                model: "ggml-base".into(),
                trainee: tr.clone(),
                device: "exam".into(),
                org: "广利物业".into(),
                started: ringcoach::store::Timestamp::now(),
                sitting: Some("20261130T090000Z-sitting".into()),
            },
            ringcoach::store::AudioFormat::SPEECH,
            &samples(9),
            ringcoach::store::Outcome {
                transcript: Transcript {
                    text: "您好,广利物业".into(),
                    segments: vec![],
                    cut_off: None,
                },
                report: serde_json::json!({"score": 90.0, "checks": []}),
                score: 90.0,
                passed: true,
                needs_review: false,
                finished: ringcoach::store::Timestamp::now(),
            },
        )
        .unwrap()
        .id;
    let r = sync_now(&s3, &t.socket_settings(&tr), &keep).unwrap();
    assert_eq!((r.uploaded, r.pruned.len()), (1, 0), "{r:?}");
    assert!(s3.attempt_dir(&exam_call).join("meta.json").exists());

    // Without retention nothing is ever pruned.
    let kept = tempfile::tempdir().unwrap();
    let s2 = Store::open(kept.path()).unwrap();
    let id = record(&s2, "王芳", 7);
    let r = sync_now(&s2, &t.socket_settings(&tr), &SyncOptions::default()).unwrap();
    assert_eq!((r.uploaded, r.pruned.len()), (1, 0));
    assert!(s2.attempt_dir(&id).join("meta.json").exists());
}

#[test]
fn the_worker_uploads_in_the_background_and_counts_what_waits() {
    let Some(t) = TestDb::migrated("sync_worker") else {
        return;
    };
    let a = t.add("wang", Role::Agent);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let fast = SyncOptions {
        interval: Duration::from_secs(60),
        backoff_min: Duration::from_millis(100),
        backoff_max: Duration::from_millis(500),
        keep_uploaded: None,
    };
    let w = SyncWorker::start(dir.path(), t.socket_settings(&a), fast).unwrap();
    for i in 0..5 {
        record(&store, &a, i);
        // The caller never waits on the network.
        let t0 = Instant::now();
        w.nudge();
        let _ = w.waiting();
        assert!(t0.elapsed() < Duration::from_millis(50));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(on_server(&t).len() == 5 && w.waiting() == 0) {
        assert!(Instant::now() < deadline, "worker: {:?}", w.last_report());
        std::thread::sleep(Duration::from_millis(20));
    }
    // A desk recording under a name that is not its database user: refused by the server,
    // counted as waiting, and the reason stays in every later report.
    record(&store, &t.user("li"), 9);
    w.nudge();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(w.waiting() == 1 && w.last_report().is_some_and(|r| r.rejected.len() == 1)) {
        assert!(Instant::now() < deadline, "worker: {:?}", w.last_report());
        std::thread::sleep(Duration::from_millis(20));
    }
    for _ in 0..3 {
        w.nudge();
        std::thread::sleep(Duration::from_millis(100));
        let r = w.last_report().unwrap();
        assert!(
            r.rejected[0].contains("row-level security") && r.waiting == 1,
            "{r:?}"
        );
    }
    assert_eq!(on_server(&t).len(), 5);
    assert!(w.stop(Duration::from_secs(10)));
    let err = SyncWorker::start(Path::new("/nonexistent/store"), t.socket_settings(&a), fast)
        .unwrap_err();
    assert!(err.to_string().contains("no attempts store"), "{err}");
}

#[test]
fn a_small_room_under_load_loses_nothing_and_duplicates_nothing() {
    let Some(t) = TestDb::migrated("load_small") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let recordings: Vec<(Vec<i16>, String)> = [
        "您好,广利物业,请问有什么可以帮您?",
        "对不起,让您久等了,请问您贵姓?",
    ]
    .iter()
    .enumerate()
    .map(|(i, text)| {
        (
            compose(text, &work.path().join(format!("v{i}.wav"))),
            text.to_string(),
        )
    })
    .collect();
    let desks: Vec<(String, DbSettings)> = (0..3)
        .map(|d| {
            let u = t.add(&format!("desk{d}"), Role::Agent);
            let s = t.socket_settings(&u);
            (u, s)
        })
        .collect();
    let trainer = t.add("zhao", Role::Trainer);
    let plan = load::Plan {
        desks,
        attempts_per_desk: 4,
        recordings,
        trainer: t.socket_settings(&trainer),
        work_dir: work.path().to_path_buf(),
        timeout: Duration::from_secs(120),
    };
    let r = load::run(&plan).unwrap();
    assert_eq!(r.attempts, 12);
    assert_eq!(r.rows_on_server, 12);
    assert!(r.mismatches.is_empty(), "{:?}", r.mismatches);
    assert!(
        !r.list_ms.is_empty(),
        "the trainer listed while desks uploaded"
    );
}
