//! Store behaviour on real files in a temp dir: round trips, filters, the audit log,
//! recovery after a (simulated) crash, rebuild, check and prune. Killing real processes is
//! in tests/store.rs.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::time::SystemTime;

use super::*;
use crate::transcribe::{Segment, Token};

fn info(trainee: &str, scenario: &str, started: Timestamp) -> AttemptInfo {
    AttemptInfo {
        scenario: scenario.into(),
        rubric_sha256: "5e".repeat(32),
        model: "ggml-base-q5_1".into(),
        trainee: trainee.into(),
        device: "USB Headset".into(),
        org: "广利物业".into(),
        started,
        sitting: None,
    }
}

fn transcript(text: &str) -> Transcript {
    Transcript {
        text: text.into(),
        segments: vec![Segment {
            start_ms: 120,
            end_ms: 2400,
            text: text.into(),
            tokens: vec![Token {
                text: text.into(),
                start_ms: 120,
                end_ms: 2400,
                p: 0.42,
            }],
        }],
        cut_off: None,
    }
}

fn outcome(text: &str, score: f64, passed: bool, needs_review: bool) -> Outcome {
    Outcome {
        transcript: transcript(text),
        report: serde_json::json!({"score": score, "checks": [{"id": "greeting", "verdict": "pass"}]}),
        score,
        passed,
        needs_review,
        finished: Timestamp::now(),
    }
}

fn tone(n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| ((i as f32 * 0.07).sin() * 8000.0) as i16)
        .collect()
}

fn read_wav(path: &Path) -> Vec<i16> {
    hound::WavReader::open(path)
        .unwrap()
        .into_samples::<i16>()
        .map(|s| s.unwrap())
        .collect()
}

fn days_ago(d: i64) -> Timestamp {
    Timestamp::from_unix_ms(Timestamp::now().unix_ms() - d * 86_400_000)
}

/// `../shared/audio` beside the clone (CI), or beside the worktrees' parent (local).
fn shared_audio(rel: &str) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    for base in [
        manifest.join("../shared/audio"),
        manifest.join("../../shared/audio"),
    ] {
        if base.join(rel).exists() {
            return base.join(rel);
        }
    }
    panic!("test audio {rel} not found in ../shared/audio or ../../shared/audio (see BRIEF: CI lays shared/ beside the clone)");
}

#[test]
fn real_speech_round_trips_through_a_recording() {
    let wav = shared_audio("real/wenet_aishell_BAC009S0724W0121.wav");
    let speech = read_wav(&wav);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut rec = store
        .begin(
            info("王芳", "property-greeting", Timestamp::now()),
            AudioFormat::SPEECH,
        )
        .unwrap();
    for chunk in speech.chunks(320) {
        rec.push_i16(chunk).unwrap();
    }
    assert_eq!(rec.frames(), speech.len() as u64);
    let id = rec.id().clone();
    let out = outcome("您好,广利物业,请问有什么可以帮您?", 85.0, true, true);
    let summary = store.finish(rec, out.clone()).unwrap();

    let a = store.load(&id).unwrap();
    assert_eq!(a.meta.status, AttemptStatus::Finished);
    assert_eq!(a.meta.audio.frames, speech.len() as u64);
    assert_eq!(
        a.meta.audio.duration_ms,
        speech.len() as u64 * 1000 / 16_000
    );
    assert_eq!(read_wav(&a.audio_path), speech);
    assert_eq!(a.transcript.as_ref(), Some(&out.transcript));
    assert_eq!(a.report.as_ref(), Some(&out.report));
    assert_eq!(a.meta.files.len(), 3);
    assert!(a.audit.is_empty() && a.corrected_transcript.is_none());
    assert_eq!(
        store.list(&Query::default()).unwrap(),
        vec![summary.clone()]
    );
    assert_eq!(summary.score, Some(85.0));
    assert!(summary.needs_review && !summary.reviewed);
    assert!(!dir.path().join("inflight").join(id.as_str()).exists());
    let report = store.check(false, true).unwrap();
    assert_eq!(report.problems, vec![], "fresh store must check clean");
    assert_eq!(report.attempts, 1);
}

#[test]
fn listing_filters_sorts_and_searches() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(
        dir.path(),
        StoreOptions {
            sync: false,
            ..Default::default()
        },
    )
    .unwrap();
    let audio = tone(1600);
    let save = |t: &str, sc: &str, d: i64, text: &str, score: f64, passed: bool, review: bool| {
        store
            .save(
                info(t, sc, days_ago(d)),
                AudioFormat::SPEECH,
                &audio,
                outcome(text, score, passed, review),
            )
            .unwrap()
    };
    let a = save("王芳", "greeting", 10, "您好,广利物业", 90.0, true, false);
    let b = save("王芳", "complaint", 5, "喂,你找谁", 30.0, false, true);
    let c = save(
        "李雷",
        "greeting",
        1,
        "您好,请问有什么可以帮您",
        70.0,
        true,
        true,
    );
    let mut rec = store
        .begin(info("李雷", "greeting", days_ago(0)), AudioFormat::SPEECH)
        .unwrap();
    rec.push_i16(&audio).unwrap();
    drop(rec); // crash while recording -> interrupted on next open
    let store = Store::open(dir.path()).unwrap();
    let d = store
        .list(&Query {
            verdict: Some(Verdict::Interrupted),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(d.len(), 1);
    let ids_of = [a.id, b.id, c.id, d[0].id.clone()].map(|i| i.to_string());
    let [a, b, c, d] = ids_of.each_ref().map(String::as_str);

    let ids = |q: Query| {
        store
            .list(&q)
            .unwrap()
            .into_iter()
            .map(|s| s.id.to_string())
            .collect::<Vec<_>>()
    };
    let newest_first = Query {
        descending: true,
        ..Query::default()
    };
    assert_eq!(ids(newest_first.clone()), [d, c, b, a]);
    assert_eq!(
        ids(Query {
            trainee: Some("王芳".into()),
            ..newest_first.clone()
        }),
        [b, a]
    );
    assert_eq!(
        ids(Query {
            scenario: Some("greeting".into()),
            ..Query::default()
        }),
        [a, c, d]
    );
    assert_eq!(
        ids(Query {
            verdict: Some(Verdict::Passed),
            ..Query::default()
        }),
        [a, c]
    );
    assert_eq!(
        ids(Query {
            verdict: Some(Verdict::Failed),
            ..Query::default()
        }),
        [b]
    );
    assert_eq!(
        ids(Query {
            needs_review: Some(true),
            ..Query::default()
        }),
        [b, c]
    );
    assert_eq!(
        ids(Query {
            since: Some(days_ago(6)),
            until: Some(days_ago(2)),
            ..Query::default()
        }),
        [b]
    );
    assert_eq!(
        ids(Query {
            text: Some("您好".into()),
            ..Query::default()
        }),
        [a, c]
    );
    assert_eq!(
        ids(Query {
            sort: SortKey::Score,
            descending: true,
            verdict: Some(Verdict::Passed),
            ..Query::default()
        }),
        [a, c]
    );
    assert_eq!(
        ids(Query {
            limit: Some(2),
            ..newest_first
        }),
        [d, c]
    );
    store
        .mark_reviewed(&AttemptId::parse(b).unwrap(), "张老师", "")
        .unwrap();
    assert_eq!(
        ids(Query {
            needs_review: Some(true),
            reviewed: Some(false),
            ..Query::default()
        }),
        [c]
    );
}

#[test]
fn trainer_actions_keep_originals_and_an_append_only_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let s = store
        .save(
            info("王芳", "greeting", Timestamp::now()),
            AudioFormat::SPEECH,
            &tone(3200),
            outcome("您好,光力物业", 55.0, false, true),
        )
        .unwrap();
    let id = s.id.clone();
    let original = store.load(&id).unwrap();

    store
        .overrule(
            &id,
            "张老师",
            "company-name",
            "uncertain",
            "pass",
            "光力 is 广利 misheard",
        )
        .unwrap();
    let fixed = transcript("您好,广利物业");
    store
        .correct_transcript(&id, "张老师", &fixed, "homophone")
        .unwrap();
    let regraded = serde_json::json!({"score": 80.0, "checks": []});
    store
        .regrade(&id, "张老师", &regraded, 80.0, true, "after correction")
        .unwrap();
    let s = store.mark_reviewed(&id, "李老师", "ok").unwrap();

    assert_eq!(
        (s.overrules, s.corrected, s.regraded, s.reviewed),
        (1, true, true, true)
    );
    assert_eq!((s.score, s.passed), (Some(80.0), Some(true)));
    assert_eq!(s.text, "您好,广利物业");
    assert_eq!(store.summary(&id).unwrap().as_ref(), Some(&s));

    let a = store.load(&id).unwrap();
    assert_eq!(
        a.transcript, original.transcript,
        "original transcript kept"
    );
    assert_eq!(a.report, original.report, "original report kept");
    assert_eq!(a.corrected_transcript.as_ref(), Some(&fixed));
    assert_eq!(a.regraded_report.as_ref(), Some(&regraded));
    assert_eq!(a.meta, original.meta);
    let actions: Vec<_> = a
        .audit
        .iter()
        .map(|e| (&e.trainer[..], e.action.clone(), &e.note[..]))
        .collect();
    assert_eq!(
        actions,
        vec![
            (
                "张老师",
                AuditAction::Overrule {
                    check: "company-name".into(),
                    original: "uncertain".into(),
                    verdict: "pass".into(),
                    // The test's report has no such check: no machine verdict to record.
                    graded: None,
                    report: Some(0),
                },
                "光力 is 广利 misheard"
            ),
            (
                "张老师",
                AuditAction::Correction {
                    original_text: "您好,光力物业".into(),
                    corrected_text: "您好,广利物业".into()
                },
                "homophone"
            ),
            (
                "张老师",
                AuditAction::Regrade {
                    original_score: Some(55.0),
                    original_passed: Some(false),
                    score: 80.0,
                    passed: true
                },
                "after correction"
            ),
            ("李老师", AuditAction::Reviewed, "ok"),
        ]
    );
    assert!(a.audit.windows(2).all(|w| w[0].time <= w[1].time));
    // Searching finds the corrected words, not the misheard ones.
    assert_eq!(
        store
            .list(&Query {
                text: Some("广利".into()),
                ..Query::default()
            })
            .unwrap()
            .len(),
        1
    );
    assert!(store
        .list(&Query {
            text: Some("光力".into()),
            ..Query::default()
        })
        .unwrap()
        .is_empty());
    // Original file hashes in meta.json still match: nothing was rewritten in place.
    assert_eq!(store.check(false, true).unwrap().problems, vec![]);

    let err = store.mark_reviewed(&id, " ", "").unwrap_err().to_string();
    assert!(err.contains("--trainer"), "{err}");
    let ghost = AttemptId::generate(SystemTime::now());
    let err = store.mark_reviewed(&ghost, "张老师", "").unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
}

#[test]
fn a_live_recording_is_not_recovered_by_another_opener_but_a_dead_one_is() {
    let dir = tempfile::tempdir().unwrap();
    let opts = StoreOptions {
        sync: true,
        checkpoint_frames: 1600,
    };
    let store = Store::open_with(dir.path(), opts).unwrap();
    let mut rec = store
        .begin(
            info("王芳", "greeting", Timestamp::now()),
            AudioFormat::SPEECH,
        )
        .unwrap();
    let audio = tone(2600);
    rec.push_i16(&audio[..1600]).unwrap(); // checkpoint: header says 1600
    rec.push_i16(&audio[1600..]).unwrap(); // on disk, header lags
    let id = rec.id().clone();

    // A second opener (the trainer) while the desk is still recording: hands off.
    let other = Store::open(dir.path()).unwrap();
    assert_eq!(other.recovered(), &[]);
    assert!(matches!(
        other.load(&id),
        Err(StoreError::InProgress { .. })
    ));
    let check = other.check(true, false).unwrap();
    assert_eq!((check.in_progress, check.problems.len()), (1, 0));
    let prune = other.prune(Timestamp::now(), false).unwrap();
    assert_eq!((prune.pruned.len(), prune.skipped_in_progress), (0, 1));

    drop(rec); // the recorder dies without finishing
    let after = Store::open(dir.path()).unwrap();
    assert_eq!(
        after.recovered(),
        &[Recovered::Interrupted {
            id: id.clone(),
            frames: 2600,
            header_repaired: true
        }]
    );
    let a = after.load(&id).unwrap();
    assert_eq!(a.meta.status, AttemptStatus::Interrupted);
    assert_eq!(
        read_wav(&a.audio_path),
        audio,
        "every pushed sample survives"
    );
    assert!(a.transcript.is_none() && a.report.is_none());
    assert_eq!(a.meta.info.trainee, "王芳");
    let s = after.summary(&id).unwrap().unwrap();
    assert_eq!(
        (s.status, s.passed, s.duration_ms),
        (AttemptStatus::Interrupted, None, 162)
    );
    assert!(!dir.path().join("inflight").join(id.as_str()).exists());
    assert_eq!(
        Store::open(dir.path()).unwrap().recovered(),
        &[],
        "recovery happens once"
    );
    assert_eq!(after.check(false, true).unwrap().problems, vec![]);
}

#[test]
fn an_attempt_without_audio_is_removed_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let rec = store
        .begin(
            info("王芳", "greeting", Timestamp::now()),
            AudioFormat::SPEECH,
        )
        .unwrap();
    let (id, adir) = (rec.id().clone(), rec.dir().to_path_buf());
    drop(rec);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.recovered(), &[Recovered::Removed { id: id.clone() }]);
    assert!(!adir.exists());
    assert!(
        !dir.path().join("attempts").join(&id.as_str()[..4]).exists(),
        "empty date dirs go too"
    );
    assert!(store.list(&Query::default()).unwrap().is_empty());
    assert_eq!(
        fs::read_dir(dir.path().join("inflight")).unwrap().count(),
        0
    );
    assert_eq!(fs::read_dir(dir.path().join("trash")).unwrap().count(), 0);
}

#[test]
fn abandon_discards_everything() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut rec = store
        .begin(
            info("王芳", "greeting", Timestamp::now()),
            AudioFormat::SPEECH,
        )
        .unwrap();
    rec.push_i16(&tone(800)).unwrap();
    let adir = rec.dir().to_path_buf();
    store.abandon(rec).unwrap();
    assert!(!adir.exists());
    assert_eq!(Store::open(dir.path()).unwrap().recovered(), &[]);
    assert_eq!(store.check(false, false).unwrap(), CheckReport::default());
}

#[test]
fn killed_after_meta_but_before_index_is_reindexed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let s = store
        .save(
            info("王芳", "greeting", Timestamp::now()),
            AudioFormat::SPEECH,
            &tone(800),
            outcome("您好", 60.0, true, false),
        )
        .unwrap();
    // Recreate the state a kill between meta.json and the index leaves behind.
    store.index.remove(&s.id).unwrap();
    fs::write(dir.path().join("inflight").join(s.id.as_str()), b"").unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        store.recovered(),
        &[Recovered::Reindexed { id: s.id.clone() }]
    );
    assert_eq!(store.summary(&s.id).unwrap(), Some(s));
}

#[test]
fn a_torn_audit_line_does_not_swallow_the_next_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let s = store
        .save(
            info("王芳", "greeting", Timestamp::now()),
            AudioFormat::SPEECH,
            &tone(800),
            outcome("您好", 60.0, true, false),
        )
        .unwrap();
    store
        .overrule(&s.id, "张老师", "greeting", "fail", "pass", "")
        .unwrap();
    let audit = store.attempt_dir(&s.id).join(AUDIT);
    let mut f = OpenOptions::new().append(true).open(&audit).unwrap();
    f.write_all(br#"{"time":"2026-11-27T09:00:00.000Z","trai"#)
        .unwrap();
    drop(f);
    store.mark_reviewed(&s.id, "张老师", "").unwrap();
    let a = store.load(&s.id).unwrap();
    assert_eq!(a.audit.len(), 2);
    assert_eq!(a.audit[1].action, AuditAction::Reviewed);
    assert_eq!(a.unreadable_audit_lines, 1);
    let check = store.check(true, false).unwrap();
    assert_eq!(check.problems.len(), 1);
    assert!(
        check.problems[0].what.contains("unreadable line"),
        "{:?}",
        check.problems
    );
}

#[test]
fn rebuild_recreates_the_index_from_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(
        dir.path(),
        StoreOptions {
            sync: false,
            ..Default::default()
        },
    )
    .unwrap();
    for (i, t) in ["王芳", "李雷", "韩梅梅"].iter().enumerate() {
        let s = store
            .save(
                info(t, "greeting", days_ago(i as i64)),
                AudioFormat::SPEECH,
                &tone(400),
                outcome("您好", 50.0 + i as f64, i % 2 == 0, false),
            )
            .unwrap();
        store
            .overrule(&s.id, "张老师", "greeting", "fail", "pass", "")
            .unwrap();
    }
    let before = store.list(&Query::default()).unwrap();
    drop(store);
    Store::delete_index(dir.path()).unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert!(store.list(&Query::default()).unwrap().is_empty());
    let r = store.rebuild().unwrap();
    assert_eq!(
        (r.indexed, r.unfinished, r.removed_rows, r.unreadable.len()),
        (3, 0, 0, 0)
    );
    assert_eq!(store.list(&Query::default()).unwrap(), before);
}

#[test]
fn check_reports_and_repairs_what_it_safely_can() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let save = |t: &str| {
        store
            .save(
                info(t, "greeting", Timestamp::now()),
                AudioFormat::SPEECH,
                &tone(1000),
                outcome("您好", 70.0, true, false),
            )
            .unwrap()
    };
    let (a, b, c, d, e) = (save("a"), save("b"), save("c"), save("d"), save("e"));
    // a: row missing.  b: row stale.  c: files deleted behind our back.
    store.index.remove(&a.id).unwrap();
    store
        .index
        .upsert(&AttemptSummary {
            reviewed: true,
            ..b.clone()
        })
        .unwrap();
    fs::remove_dir_all(store.attempt_dir(&c.id)).unwrap();
    // d: a leftover temp file and a tampered transcript (only the hash can tell).
    fs::write(store.attempt_dir(&d.id).join(".meta.json.tmp-1-1"), b"{").unwrap();
    fs::write(
        store.attempt_dir(&d.id).join(TRANSCRIPT),
        serde_json::to_vec(&transcript("你好")).unwrap(),
    )
    .unwrap();
    // e: audio truncated.
    let wav = store.audio_path(&e.id);
    let len = fs::metadata(&wav).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&wav)
        .unwrap()
        .set_len(len - 200)
        .unwrap();

    let found = store.check(false, true).unwrap();
    let whats: Vec<(Option<&AttemptId>, &str, bool)> = found
        .problems
        .iter()
        .map(|p| (p.id.as_ref(), p.what.as_str(), p.repaired))
        .collect();
    assert!(
        whats.contains(&(Some(&a.id), "not in the index", false)),
        "{whats:?}"
    );
    assert!(
        whats.contains(&(Some(&b.id), "index row differs from the files", false)),
        "{whats:?}"
    );
    assert!(
        whats.contains(&(Some(&c.id), "indexed but its files are gone", false)),
        "{whats:?}"
    );
    assert!(
        whats.contains(&(Some(&d.id), "leftover temporary file", false)),
        "{whats:?}"
    );
    assert!(
        whats.contains(&(
            Some(&d.id),
            "damaged: its content differs from its SHA-256 in meta.json; `--repair` moves it to quarantine/",
            false
        )),
        "{whats:?}"
    );
    assert!(
        whats
            .iter()
            .any(|(id, w, _)| *id == Some(&e.id) && w.contains("meta.json says 1000")),
        "{whats:?}"
    );
    // d's changed text also makes its index row stale; e's audio also fails its hash.
    assert_eq!(found.problems.len(), 8, "{whats:?}");

    let fixed = store.check(true, true).unwrap();
    assert_eq!(
        fixed.unrepaired(),
        2,
        "damaged audio needs a backup (it is never moved): {:?}",
        fixed.problems
    );
    // d's changed transcript went to quarantine/, noted in its meta.json; nothing deleted.
    let d_meta = store.load(&d.id).unwrap().meta;
    assert_eq!(d_meta.set_aside.len(), 1, "{d_meta:?}");
    assert_eq!(d_meta.set_aside[0].file, TRANSCRIPT);
    assert!(dir.path().join(&d_meta.set_aside[0].moved_to).is_file());
    assert_eq!(d_meta.score, Some(70.0), "the grade stays");
    assert_eq!(fixed.quarantined.len(), 1);
    let again = store.check(false, true).unwrap();
    assert_eq!(
        (again.problems.len(), again.unrepaired()),
        (2, 2),
        "{:?}",
        again.problems
    );
    assert_eq!(store.summary(&a.id).unwrap(), Some(a));
    assert_eq!(store.summary(&b.id).unwrap(), Some(b));
    assert_eq!(store.summary(&c.id).unwrap(), None);
}

#[test]
fn check_repair_recovers_an_orphaned_unfinished_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut rec = store
        .begin(
            info("王芳", "greeting", Timestamp::now()),
            AudioFormat::SPEECH,
        )
        .unwrap();
    rec.push_i16(&tone(500)).unwrap();
    let id = rec.id().clone();
    drop(rec);
    // The marker is lost (say, the inflight dir was cleaned by hand).
    fs::remove_file(dir.path().join("inflight").join(id.as_str())).unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.recovered(), &[]);
    let r = store.check(false, false).unwrap();
    assert_eq!(r.unrepaired(), 1);
    let r = store.check(true, false).unwrap();
    assert_eq!(
        (r.unrepaired(), r.problems.len()),
        (0, 1),
        "{:?}",
        r.problems
    );
    assert_eq!(
        store.summary(&id).unwrap().unwrap().status,
        AttemptStatus::Interrupted
    );
}

#[test]
fn prune_deletes_old_attempts_files_and_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let old = store
        .save(
            info("王芳", "greeting", days_ago(100)),
            AudioFormat::SPEECH,
            &tone(400),
            outcome("您好", 70.0, true, false),
        )
        .unwrap();
    let recent = store
        .save(
            info("王芳", "greeting", days_ago(10)),
            AudioFormat::SPEECH,
            &tone(400),
            outcome("您好", 70.0, true, false),
        )
        .unwrap();
    let mut live = store
        .begin(info("李雷", "greeting", days_ago(200)), AudioFormat::SPEECH)
        .unwrap();
    live.push_i16(&tone(400)).unwrap();
    let cutoff = Timestamp::now().minus(parse_age("90d").unwrap());

    let dry = store.prune(cutoff, true).unwrap();
    assert_eq!(dry.pruned, vec![(old.id.clone(), old.started)]);
    assert_eq!(dry.skipped_in_progress, 1);
    assert!(
        store.attempt_dir(&old.id).exists(),
        "dry run deletes nothing"
    );

    let done = store.prune(cutoff, false).unwrap();
    assert_eq!(done.pruned, dry.pruned);
    assert!(!store.attempt_dir(&old.id).exists());
    assert_eq!(store.summary(&old.id).unwrap(), None);
    assert_eq!(store.list(&Query::default()).unwrap(), vec![recent]);
    let live_id = live.id().clone();
    store
        .finish(live, outcome("您好", 10.0, false, false))
        .unwrap();
    assert_eq!(
        store.prune(cutoff, false).unwrap().pruned[0].0,
        live_id,
        "pruned once finished"
    );
    assert_eq!(store.check(false, true).unwrap().problems, vec![]);
}

#[test]
fn prune_keeps_the_calls_of_a_certification_sitting() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut exam = info("刘芳", "answer-call", days_ago(400));
    exam.sitting = Some("20250101T090000Z-sitting".into());
    let kept = store
        .save(
            exam,
            AudioFormat::SPEECH,
            &tone(400),
            outcome("您好", 90.0, true, false),
        )
        .unwrap();
    let practice = store
        .save(
            info("刘芳", "answer-call", days_ago(400)),
            AudioFormat::SPEECH,
            &tone(400),
            outcome("您好", 90.0, true, false),
        )
        .unwrap();
    let cutoff = Timestamp::now().minus(parse_age("90d").unwrap());
    let done = store.prune(cutoff, false).unwrap();
    assert_eq!(done.pruned, vec![(practice.id.clone(), practice.started)]);
    assert_eq!(done.kept_for_sittings, 1);
    assert!(store.attempt_dir(&kept.id).join("audio.wav").exists());
    assert_eq!(store.list(&Query::default()).unwrap(), vec![kept]);
}

#[test]
fn refuses_bad_input_and_newer_formats() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let err = store
        .begin(info("", "greeting", Timestamp::now()), AudioFormat::SPEECH)
        .unwrap_err();
    assert!(err.to_string().contains("trainee"), "{err}");
    let rec = store
        .begin(
            info("王芳", "greeting", Timestamp::now()),
            AudioFormat::SPEECH,
        )
        .unwrap();
    let id = rec.id().clone();
    let err = store
        .finish(rec, outcome("您好", f64::NAN, true, false))
        .unwrap_err();
    assert!(err.to_string().contains("finite"), "{err}");
    // The refused attempt was not half-saved: it is recovered (no audio) on the next open.
    assert_eq!(
        Store::open(dir.path()).unwrap().recovered(),
        &[Recovered::Removed { id }]
    );

    let s = store
        .save(
            info("王芳", "greeting", Timestamp::now()),
            AudioFormat::SPEECH,
            &tone(400),
            outcome("您好", 70.0, true, false),
        )
        .unwrap();
    let meta = store.attempt_dir(&s.id).join(META);
    let mut v: serde_json::Value = serde_json::from_slice(&fs::read(&meta).unwrap()).unwrap();
    v["format"] = 7.into();
    v["status"] = "archived".into();
    fs::write(&meta, serde_json::to_vec(&v).unwrap()).unwrap();
    let err = store.load(&s.id).unwrap_err().to_string();
    assert!(
        err.contains("newer ringcoach") && err.contains("format 7"),
        "{err}"
    );
    assert!(matches!(
        AttemptId::parse("../../x"),
        Err(StoreError::BadId { .. })
    ));
}

#[test]
fn default_data_dir_honours_the_environment() {
    // Only this test touches the variable.
    std::env::set_var(DATA_DIR_ENV, "/tmp/ringcoach-test-data");
    assert_eq!(
        default_data_dir().unwrap(),
        PathBuf::from("/tmp/ringcoach-test-data")
    );
    std::env::remove_var(DATA_DIR_ENV);
    if let Some(d) = dirs::data_dir() {
        assert_eq!(default_data_dir().unwrap(), d.join("ringcoach"));
    }
}

#[test]
fn another_index_can_be_plugged_in_and_filled_from_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let room = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let saved: Vec<_> = ["王芳", "李雷"]
        .iter()
        .map(|t| {
            store
                .save(
                    info(t, "greeting", Timestamp::now()),
                    AudioFormat::SPEECH,
                    &tone(400),
                    outcome("您好", 70.0, true, false),
                )
                .unwrap()
        })
        .collect();
    drop(store);
    let shared = SqliteIndex::open(&room.path().join("room.sqlite"), true).unwrap();
    let store =
        Store::open_with_index(dir.path(), StoreOptions::default(), Box::new(shared)).unwrap();
    assert!(store.list(&Query::default()).unwrap().is_empty());
    assert_eq!(store.rebuild().unwrap().indexed, 2);
    assert_eq!(store.list(&Query::default()).unwrap(), saved);
}

#[test]
fn a_temp_marker_of_a_dead_recorder_is_a_leftover() {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    assert!(super::recovery::temp_marker_owner_is_dead(&format!(
        ".20261127T000000.000000Z-1a2b3c4d.tmp-{dead}"
    )));
    let me = std::process::id();
    assert!(!super::recovery::temp_marker_owner_is_dead(&format!(
        ".20261127T000000.000000Z-1a2b3c4d.tmp-{me}"
    )));
    assert!(!super::recovery::temp_marker_owner_is_dead(
        ".x.tmp-notapid"
    ));
}

/// A report shaped as the grader writes it (score, verdict, checks).
fn graded_outcome(text: &str, score: f64, passed: bool) -> Outcome {
    Outcome {
        report: serde_json::json!({
            "score": score,
            "passed": passed,
            "checks": [{"id": "greeting", "verdict": "uncertain"}],
        }),
        needs_review: true,
        ..outcome(text, score, passed, true)
    }
}

fn recording(store: &Store, samples: usize) -> Recording {
    let mut rec = store
        .begin(
            info("王芳", "greeting", Timestamp::now()),
            AudioFormat::SPEECH,
        )
        .unwrap();
    rec.push_i16(&tone(samples)).unwrap();
    rec
}

#[test]
fn a_call_without_a_grade_is_kept_with_its_reason_and_graded_later() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut rec = recording(&store, 3200);
    let call = CallFacts {
        rings: Some(2),
        pickup_ms: Some(6500),
        turns: vec![[0, 1600], [1600, 3200]],
    };
    rec.set_call(call.clone());
    let why = "transcription took longer than 13184 ms and was cut off";
    let kept = store
        .keep(rec, AttemptStatus::Ungraded, why)
        .unwrap()
        .expect("audio was recorded");
    assert_eq!(
        (kept.status, kept.score, kept.passed),
        (AttemptStatus::Ungraded, None, None)
    );
    let q = Query {
        verdict: Some(Verdict::Ungraded),
        ..Query::default()
    };
    assert_eq!(store.list(&q).unwrap(), vec![kept.clone()]);
    let a = store.load(&kept.id).unwrap();
    assert_eq!(a.meta.reason.as_deref(), Some(why));
    assert_eq!(a.meta.call.as_ref(), Some(&call));
    assert_eq!(
        read_wav(&a.audio_path),
        tone(3200),
        "the recording is all there"
    );
    assert_eq!(store.check(false, true).unwrap().problems, vec![]);

    // Graded later: finished, with what it was before and why.
    let s = store
        .complete(&kept.id, graded_outcome("您好,广利物业", 82.0, true))
        .unwrap();
    assert_eq!(
        (s.status, s.score, s.passed, s.needs_review),
        (AttemptStatus::Finished, Some(82.0), Some(true), true)
    );
    let a = store.load(&kept.id).unwrap();
    let later = a.meta.graded_later.clone().unwrap();
    assert_eq!(
        (later.was, later.reason.as_deref()),
        (AttemptStatus::Ungraded, Some(why))
    );
    assert_eq!(a.meta.reason, None);
    assert_eq!(a.transcript.unwrap().text, "您好,广利物业");
    assert_eq!(store.check(false, true).unwrap().problems, vec![]);
    let err = store
        .complete(&kept.id, graded_outcome("x", 1.0, false))
        .unwrap_err();
    assert!(err.to_string().contains("already has a grade"), "{err}");

    // A hung-up call is interrupted; one with no audio at all holds nothing to keep.
    let rec = recording(&store, 800);
    let s = store
        .keep(rec, AttemptStatus::Interrupted, "the trainee hung up")
        .unwrap()
        .unwrap();
    assert_eq!(s.status, AttemptStatus::Interrupted);
    let rec = recording(&store, 0);
    let adir = rec.dir().to_path_buf();
    assert_eq!(
        store
            .keep(rec, AttemptStatus::Interrupted, "hung up at once")
            .unwrap(),
        None
    );
    assert!(!adir.exists());
}

#[test]
fn repair_never_throws_away_a_grade_it_can_read() {
    // meta.json deleted: before, repair rewrote the attempt as interrupted with no score
    // although transcript.json and report.json were there.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let s = store
        .save(
            info("王芳", "greeting", Timestamp::now()),
            AudioFormat::SPEECH,
            &tone(1600),
            graded_outcome("您好", 88.0, true),
        )
        .unwrap();
    fs::remove_file(store.attempt_dir(&s.id).join(META)).unwrap();
    let r = store.check(false, false).unwrap();
    assert_eq!(r.unrepaired(), 1, "{:?}", r.problems);
    let r = store.check(true, false).unwrap();
    assert_eq!(r.unrepaired(), 0, "{:?}", r.problems);
    assert!(
        r.problems[0].what.contains("grade kept"),
        "{:?}",
        r.problems
    );
    let after = store.summary(&s.id).unwrap().unwrap();
    assert_eq!(
        (
            after.status,
            after.score,
            after.passed,
            after.needs_review,
            &after.text
        ),
        (
            AttemptStatus::Finished,
            Some(88.0),
            Some(true),
            true,
            &s.text
        )
    );
    assert_eq!(store.check(false, true).unwrap().problems, vec![]);

    // meta.json damaged: set aside (not deleted) and rebuilt from the rest, grade kept.
    let s = store
        .save(
            info("李雷", "greeting", Timestamp::now()),
            AudioFormat::SPEECH,
            &tone(800),
            graded_outcome("您好", 40.0, false),
        )
        .unwrap();
    fs::write(
        store.attempt_dir(&s.id).join(META),
        b"{\"format\": 1, garbage",
    )
    .unwrap();
    let r = store.check(false, false).unwrap();
    assert!(
        r.problems.iter().any(|p| p.what.contains("damaged")),
        "{:?}",
        r.problems
    );
    store.check(true, false).unwrap();
    let after = store.load(&s.id).unwrap();
    assert_eq!(
        (after.meta.status, after.meta.score, after.meta.passed),
        (AttemptStatus::Finished, Some(40.0), Some(false))
    );
    let aside = &after.meta.set_aside[0];
    assert_eq!(aside.file, META);
    assert_eq!(
        fs::read(dir.path().join(&aside.moved_to)).unwrap(),
        b"{\"format\": 1, garbage"
    );
    assert_eq!(store.check(false, true).unwrap().problems, vec![]);
}

#[test]
fn killed_after_the_report_was_written_keeps_the_grade() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let rec = recording(&store, 1600);
    let (id, adir) = (rec.id().clone(), rec.dir().to_path_buf());
    // What finish() had written when the process died: the transcript and the report.
    let o = graded_outcome("您好,广利物业", 91.0, true);
    fs::write(
        adir.join(TRANSCRIPT),
        serde_json::to_vec(&o.transcript).unwrap(),
    )
    .unwrap();
    fs::write(adir.join(REPORT), serde_json::to_vec(&o.report).unwrap()).unwrap();
    drop(rec);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.recovered(), &[Recovered::Graded { id: id.clone() }]);
    let s = store.summary(&id).unwrap().unwrap();
    assert_eq!(
        (s.status, s.score, s.passed, s.text.as_str()),
        (
            AttemptStatus::Finished,
            Some(91.0),
            Some(true),
            "您好,广利物业"
        )
    );
    assert_eq!(store.check(false, true).unwrap().problems, vec![]);
}

#[test]
fn a_damaged_report_is_found_and_set_aside_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let s = store
        .save(
            info("王芳", "greeting", Timestamp::now()),
            AudioFormat::SPEECH,
            &tone(800),
            graded_outcome("您好", 77.0, true),
        )
        .unwrap();
    let report = store.attempt_dir(&s.id).join(REPORT);
    fs::write(&report, b"\x00\x01garbage{{").unwrap();
    // Before, check said nothing (hashes only with --verify-hashes, and JSON never parsed).
    let r = store.check(false, false).unwrap();
    assert_eq!(r.unrepaired(), 1, "{:?}", r.problems);
    assert!(
        r.problems[0].what.contains("not valid JSON"),
        "{:?}",
        r.problems
    );
    let r = store.check(true, false).unwrap();
    assert_eq!(r.unrepaired(), 0, "{:?}", r.problems);
    assert!(
        r.problems[0]
            .what
            .contains("score and verdict in meta.json are kept"),
        "{:?}",
        r.problems
    );
    assert!(!report.exists());
    let a = store.load(&s.id).unwrap();
    assert_eq!(a.report, None);
    assert_eq!(
        fs::read(dir.path().join(&a.meta.set_aside[0].moved_to)).unwrap(),
        b"\x00\x01garbage{{"
    );
    assert_eq!(store.summary(&s.id).unwrap().unwrap().score, Some(77.0));
    let again = store.check(false, true).unwrap();
    assert_eq!(again.problems, vec![]);
    assert_eq!(again.quarantined.len(), 1);

    // Valid JSON that is not a report is damage too.
    let s = store
        .save(
            info("李雷", "greeting", Timestamp::now()),
            AudioFormat::SPEECH,
            &tone(800),
            graded_outcome("您好", 77.0, true),
        )
        .unwrap();
    fs::write(store.attempt_dir(&s.id).join(REPORT), b"[1, 2, 3]").unwrap();
    let r = store.check(false, false).unwrap();
    assert!(
        r.problems.iter().any(|p| p.what.contains("not a report")),
        "{:?}",
        r.problems
    );
}

#[test]
fn what_cannot_be_an_attempt_is_quarantined_never_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let rec = recording(&store, 1600);
    let (id, adir) = (rec.id().clone(), rec.dir().to_path_buf());
    drop(rec);
    // started.json lost: nobody knows whose it is, but the audio is someone's recording.
    fs::remove_file(adir.join(STARTED)).unwrap();
    let store = Store::open(dir.path()).unwrap();
    let moved_to = match store.recovered() {
        [Recovered::Quarantined { id: got, moved_to }] if got == &id => moved_to.clone(),
        other => panic!("{other:?}"),
    };
    assert!(!adir.exists());
    assert_eq!(
        read_wav(&dir.path().join(&moved_to).join(AUDIO)),
        tone(1600)
    );
    assert_eq!(store.summary(&id).unwrap(), None);
}

#[test]
fn only_recording_creates_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("ringcoahc");
    let err = Store::open_existing(&typo).unwrap_err();
    assert!(matches!(err, StoreError::NoStore { .. }), "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(
        !typo.exists(),
        "a mistyped --data-dir must not become a store"
    );
    let home = dir.path().join("home");
    fs::create_dir(&home).unwrap();
    let err = Store::open_existing(&home).unwrap_err().to_string();
    assert!(err.contains("no attempts/"), "{err}");
    assert_eq!(fs::read_dir(&home).unwrap().count(), 0, "nothing written");
    let real = dir.path().join("store");
    Store::open(&real).unwrap();
    let s = Store::open_existing(&real).unwrap();
    assert_eq!(s.access(), &Access::ReadWrite);
}

#[test]
fn index_errors_fit_their_cause_and_carry_no_sql() {
    use rusqlite::ffi;
    let p = Path::new("/data/index.sqlite");
    let full = rusqlite::Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_FULL), None);
    let m = super::index::describe(p, &full);
    assert!(m.contains("disk is full") && !m.contains("rebuild"), "{m}");
    let busy = rusqlite::Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_BUSY), None);
    let m = super::index::describe(p, &busy);
    assert!(m.contains("try again") && !m.contains("rebuild"), "{m}");
    let sql = rusqlite::Error::SqlInputError {
        error: ffi::Error::new(ffi::SQLITE_ERROR),
        msg: "no such column: started_ms".into(),
        sql: "SELECT id,\n status,\n scenario\n FROM attempts\n WHERE x\n ORDER BY y".into(),
        offset: 3,
    };
    let m = super::index::describe(p, &sql);
    assert!(!m.contains('\n') && !m.contains("SELECT"), "{m}");
    assert!(m.contains("store rebuild"), "{m}");

    // An index of another layout is said to be one, and rebuild can replace it.
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("index.sqlite")).unwrap();
    conn.execute_batch("CREATE TABLE attempts (id TEXT, who TEXT);")
        .unwrap();
    drop(conn);
    fs::create_dir(dir.path().join("attempts")).unwrap();
    let err = Store::open_existing(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::IndexLayout { .. }), "{err}");
    let m = err.to_string();
    assert!(
        m.contains("who") && m.contains("store rebuild") && !m.contains('\n'),
        "{m}"
    );
}

#[test]
fn io_errors_advise_by_cause() {
    let e = |kind| {
        StoreError::Io {
            action: "write",
            path: PathBuf::from("/d/x"),
            err: std::io::Error::from(kind),
        }
        .to_string()
    };
    assert!(e(std::io::ErrorKind::StorageFull).contains("the disk is full"));
    let exists = e(std::io::ErrorKind::AlreadyExists);
    assert!(!exists.contains("space"), "{exists}");
    assert!(e(std::io::ErrorKind::PermissionDenied).contains("permission"));
}

#[test]
fn one_opener_at_a_time_the_others_wait_rather_than_fail() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("new-store");
    fs::create_dir(&root).unwrap();
    // Another process is creating the store: it holds the open lock.
    let held = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(root.join(".open.lock"))
        .unwrap();
    held.lock().unwrap();
    let r = root.clone();
    let opener = std::thread::spawn(move || Store::open(&r).map(|_| ()));
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!opener.is_finished(), "it must wait for the creator");
    assert!(
        !root.join("index.sqlite").exists(),
        "nothing made beside the creator"
    );
    held.unlock().unwrap();
    opener.join().unwrap().unwrap();
    assert!(root.join("index.sqlite").exists());
}
