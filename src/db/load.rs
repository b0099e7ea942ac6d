//! A training room under load, for `benches/db_load.rs` (by hand, at full size) and a small
//! test: desks, each with its own local store and database user, record attempts and their
//! upload workers send them, while a trainer lists and opens attempts. At the end every
//! attempt must be on the server exactly once, with every hash matching the desk's files.
//!
//! Test support, like [`crate::store::soak`]: not used by the product.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::reader::PgStore;
use super::sync::{SyncOptions, SyncWorker};
use super::{DbError, DbSettings};
use crate::store::{AttemptInfo, AudioFormat, Outcome, Query, Store, StoreOptions, Timestamp};
use crate::transcribe::{Segment, Transcript};

/// Saves one finished attempt in `store`: `samples` (16 kHz mono) with sample 0 nudged by
/// `n`, so no two attempts share an audio hash, a transcript of `text` and a plausible report.
pub fn save_attempt(
    store: &Store,
    trainee: &str,
    scenario: &str,
    samples: &[i16],
    text: &str,
    n: u64,
) -> Result<crate::store::AttemptSummary, crate::store::StoreError> {
    let mut samples = samples.to_vec();
    if let Some(s) = samples.first_mut() {
        *s = s.wrapping_add((n % 30_000) as i16 + 1);
    }
    let duration_ms = samples.len() as u64 * 1000 / 16_000;
    let score = (n * 37 % 101) as f64;
    let info = AttemptInfo {
        scenario: scenario.into(),
        rubric_sha256: "ab".repeat(32),
        model: "ggml-base-q5_1".into(),
        trainee: trainee.into(),
        device: "USB Headset".into(),
        org: "广利物业".into(),
        started: Timestamp::now(),
        sitting: None,
    };
    let outcome = Outcome {
        transcript: Transcript {
            text: text.into(),
            segments: vec![Segment {
                start_ms: 0,
                end_ms: duration_ms,
                text: text.into(),
                tokens: vec![],
            }],
            cut_off: None,
        },
        report: serde_json::json!({ "scenario": scenario, "score": score, "checks": [
            { "id": "greeting", "verdict": if score >= 60.0 { "pass" } else { "fail" } },
            { "id": "organisation", "verdict": "uncertain" }
        ]}),
        score,
        passed: score >= 60.0,
        needs_review: n.is_multiple_of(5),
        finished: Timestamp::now(),
    };
    store.save(info, AudioFormat::SPEECH, &samples, outcome)
}

/// The room: who the desks are and what they record.
pub struct Plan {
    /// One per desk: its database user (which is also its trainee name) and settings.
    pub desks: Vec<(String, DbSettings)>,
    pub attempts_per_desk: usize,
    /// Recordings (16 kHz mono) and their transcripts, used in turn.
    pub recordings: Vec<(Vec<i16>, String)>,
    /// The trainer's connection.
    pub trainer: DbSettings,
    /// Local stores and the trainer's audio cache go here.
    pub work_dir: PathBuf,
    /// Give up after this long.
    pub timeout: Duration,
}

/// What the run measured.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    pub desks: usize,
    pub attempts: usize,
    pub audio_bytes: u64,
    /// Recording the local stores (not part of the upload time).
    pub record_time: Duration,
    /// From starting the workers to the last attempt confirmed on the server.
    pub upload_time: Duration,
    /// The trainer's list of the newest 50, and of one trainee's attempts, under load.
    pub list_ms: Vec<f64>,
    /// The trainer opening an attempt: load + audio fetched into the cache.
    pub open_ms: Vec<f64>,
    /// Rows on the server for the room's attempts (must equal `attempts`).
    pub rows_on_server: usize,
    /// Attempts whose files or audio hash on the server differ from the desk's.
    pub mismatches: Vec<String>,
}

impl LoadReport {
    pub fn uploads_per_s(&self) -> f64 {
        self.attempts as f64 / self.upload_time.as_secs_f64().max(1e-9)
    }
}

/// The p-th percentile (0–100) of `xs`, nearest rank.
pub fn percentile(xs: &[f64], p: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

/// Runs the room: records every desk's attempts locally, then starts all upload workers at
/// once and a trainer beside them, until everything is on the server; then checks it.
pub fn run(plan: &Plan) -> Result<LoadReport, DbError> {
    assert!(!plan.recordings.is_empty(), "a load run needs recordings");
    let mut report = LoadReport {
        desks: plan.desks.len(),
        attempts: plan.desks.len() * plan.attempts_per_desk,
        ..LoadReport::default()
    };
    let t = Instant::now();
    let opts = StoreOptions {
        sync: false,
        ..StoreOptions::default()
    };
    let mut roots = Vec::new();
    let mut expected: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (d, (user, _)) in plan.desks.iter().enumerate() {
        let root = plan.work_dir.join(format!("desk-{d:02}"));
        let store = Store::open_with(&root, opts)?;
        for i in 0..plan.attempts_per_desk {
            let (samples, text) = &plan.recordings[(d + i) % plan.recordings.len()];
            let s = save_attempt(
                &store,
                user,
                &format!("scenario-{:02}", i % 7),
                samples,
                text,
                (d * 10_000 + i) as u64,
            )?;
            let meta = crate::db::upload::AttemptFiles::read(&store.attempt_dir(&s.id))?;
            report.audio_bytes += meta.audio.len() as u64;
            expected.insert(s.id.to_string(), meta.meta.files.clone());
        }
        roots.push(root);
    }
    report.record_time = t.elapsed();

    let fast = SyncOptions {
        interval: Duration::from_millis(500),
        backoff_min: Duration::from_millis(200),
        backoff_max: Duration::from_secs(5),
        keep_uploaded: None,
    };
    let done = Arc::new(AtomicBool::new(false));
    let trainer = {
        let settings = plan.trainer.clone();
        let cache = plan.work_dir.join("trainer-cache");
        let users: Vec<String> = plan.desks.iter().map(|(u, _)| u.clone()).collect();
        let done = Arc::clone(&done);
        std::thread::spawn(move || trainer_loop(&settings, &cache, &users, &done))
    };
    let t = Instant::now();
    let workers: Vec<SyncWorker> = roots
        .iter()
        .zip(&plan.desks)
        .map(|(root, (_, settings))| SyncWorker::start(root, settings.clone(), fast))
        .collect::<Result<_, _>>()?;
    for w in &workers {
        w.nudge();
    }
    let all_there = |ws: &[SyncWorker]| {
        ws.iter().all(|w| {
            w.waiting() == 0
                && w.last_report()
                    .is_some_and(|r| r.offline.is_none() && r.waiting == 0)
        })
    };
    while !all_there(&workers) {
        if t.elapsed() > plan.timeout {
            done.store(true, Ordering::Relaxed);
            let waiting: usize = workers.iter().map(SyncWorker::waiting).sum();
            let last = workers
                .iter()
                .filter_map(|w| w.last_report())
                .find_map(|r| r.offline.or(r.rejected.first().cloned()));
            return Err(DbError::Local(format!(
                "load run: {waiting} attempts still waiting after {:?}; last trouble: {}",
                plan.timeout,
                last.unwrap_or_else(|| "none reported".into())
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    report.upload_time = t.elapsed();
    done.store(true, Ordering::Relaxed);
    for w in workers {
        w.stop(Duration::from_secs(30));
    }
    let (list_ms, open_ms) = trainer
        .join()
        .map_err(|_| DbError::Local("the trainer thread panicked".into()))??;
    report.list_ms = list_ms;
    report.open_ms = open_ms;

    // Everything there, once, with the desks' hashes, and the audio as recorded.
    let mut c = plan.trainer.connect()?;
    let ids: Vec<String> = expected.keys().cloned().collect();
    let rows = c
        .query(
            "SELECT a.id, a.files::text, encode(sha256(au.wav), 'hex') = a.audio_sha256 \
             FROM ringcoach.attempts a JOIN ringcoach.audio au ON au.attempt_id = a.id \
             WHERE a.id = ANY($1)",
            &[&ids],
        )
        .map_err(|e| DbError::sql("checking the load run", e))?;
    report.rows_on_server = rows.len();
    for r in &rows {
        let id: String = r.get(0);
        let files: BTreeMap<String, String> =
            serde_json::from_str(&r.get::<_, String>(1)).unwrap_or_default();
        if expected.get(&id) != Some(&files) || !r.get::<_, bool>(2) {
            report.mismatches.push(id);
        }
    }
    Ok(report)
}

type Latencies = (Vec<f64>, Vec<f64>);

fn trainer_loop(
    settings: &DbSettings,
    cache: &Path,
    users: &[String],
    done: &AtomicBool,
) -> Result<Latencies, DbError> {
    let mut pg = PgStore::new(settings.connect()?, cache)?;
    let (mut list_ms, mut open_ms) = (Vec::new(), Vec::new());
    let mut i = 0usize;
    while !done.load(Ordering::Relaxed) {
        let q = if i.is_multiple_of(2) {
            Query {
                descending: true,
                limit: Some(50),
                ..Query::default()
            }
        } else {
            Query {
                trainee: Some(users[i / 2 % users.len()].clone()),
                descending: true,
                ..Query::default()
            }
        };
        let t = Instant::now();
        let rows = pg.list(&q)?;
        list_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        if let Some(s) = rows.get(i % rows.len().max(1)) {
            let t = Instant::now();
            let a = pg.load(&s.id)?;
            let path = pg.audio(&s.id)?;
            open_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            debug_assert_eq!(a.meta.id, s.id);
            let _ = std::fs::remove_file(path); // every open fetches, as a cold cache would
        } else {
            std::thread::sleep(Duration::from_millis(50));
        }
        i += 1;
    }
    Ok((list_ms, open_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&xs, 50.0), 50.0);
        assert_eq!(percentile(&xs, 95.0), 95.0);
        assert_eq!(percentile(&xs, 100.0), 100.0);
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
        assert!(percentile(&[], 50.0).is_nan());
    }
}
