//! The attempts store with real processes: SIGKILL at random points while recording and
//! saving, two recorders and a trainer on one data directory at once, and the `store` CLI.
//!
//! Child processes are the real binary's hidden `ringcoach store __soak`, which records
//! synthetic attempts (see `ringcoach::store::soak`) and reports progress on stdout.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ringcoach::store::{
    soak, AttemptStatus, AttemptSummary, AudioFormat, Query, Recovered, Store, StoreOptions,
    Timestamp, Verdict,
};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ringcoach"));
    c.env_remove("RINGCOACH_DATA_DIR");
    c
}

fn spawn_soak(dir: &Path, first_seed: u64, count: u64) -> Child {
    bin()
        .args(["store", "--data-dir"])
        .arg(dir)
        .args([
            "__soak",
            "--first-seed",
            &first_seed.to_string(),
            "--count",
            &count.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ringcoach")
}

/// What children said they did, from their stdout.
#[derive(Default, Debug)]
struct Progress {
    /// id -> (seed, frames it will push)
    begun: HashMap<String, (u64, u64)>,
    /// id -> frames pushed, as last acknowledged
    pushed: HashMap<String, u64>,
    finished: HashSet<String>,
}

impl Progress {
    fn read(&mut self, lines: &[String]) {
        for line in lines {
            let f: Vec<&str> = line.split(' ').collect();
            match f.as_slice() {
                ["begin", id, seed, n] => {
                    self.begun
                        .insert(id.to_string(), (seed.parse().unwrap(), n.parse().unwrap()));
                }
                ["pushed", id, n] => {
                    self.pushed.insert(id.to_string(), n.parse().unwrap());
                }
                ["finished", id] => {
                    self.finished.insert(id.to_string());
                }
                // A line torn by the kill: the attempt is still judged from the files.
                _ => {}
            }
        }
    }
}

/// Collects a child's stdout on a thread so the child never blocks on a full pipe.
fn drain(child: &mut Child) -> thread::JoinHandle<Vec<String>> {
    let out = child.stdout.take().unwrap();
    thread::spawn(move || BufReader::new(out).lines().map_while(Result::ok).collect())
}

fn read_wav(path: &Path) -> Vec<i16> {
    let r = hound::WavReader::open(path)
        .unwrap_or_else(|e| panic!("{} is not playable: {e}", path.display()));
    let spec = r.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (1, 16_000, 16)
    );
    r.into_samples::<i16>().map(|s| s.unwrap()).collect()
}

/// Checks every attempt in the store against the synthetic signal it was recorded from.
/// Returns (finished, interrupted, max frames acknowledged-but-lost, header repairs).
fn verify_all(store: &Store, progress: &Progress) -> (usize, usize, u64, usize) {
    let rows = store.list(&Query::default()).unwrap();
    let (mut finished, mut interrupted, mut max_lost, mut repaired) = (0, 0, 0u64, 0);
    let mut present = HashSet::new();
    for s in &rows {
        present.insert(s.id.to_string());
        let seed = soak::seed_of(&s.trainee).expect("soak trainee");
        let n = soak::frames_for(seed);
        let a = store.load(&s.id).unwrap();
        let got = read_wav(&a.audio_path);
        assert_eq!(
            got.len() as u64,
            a.meta.audio.frames,
            "{}: meta frames",
            s.id
        );
        let want: Vec<i16> = (0..got.len() as u64)
            .map(|i| soak::sample(seed, i))
            .collect();
        assert!(
            got == want,
            "{}: audio is not a prefix of what was pushed",
            s.id
        );
        match s.status {
            AttemptStatus::Finished => {
                finished += 1;
                assert_eq!(got.len() as u64, n, "{}: finished attempt lost audio", s.id);
                assert_eq!(a.transcript.unwrap(), soak::transcript(seed));
                assert_eq!(a.report.unwrap()["seed"], seed);
                assert_eq!(s.passed, Some(seed.is_multiple_of(2)));
            }
            AttemptStatus::Ungraded => panic!("{}: the soak never leaves one ungraded", s.id),
            AttemptStatus::Interrupted => {
                interrupted += 1;
                assert!(got.len() as u64 <= n);
                assert!(
                    !got.is_empty(),
                    "{}: an interrupted attempt without audio must be removed",
                    s.id
                );
                if a.meta.recovered.as_ref().unwrap().header_repaired {
                    repaired += 1;
                }
                let acked = progress.pushed.get(s.id.as_str()).copied().unwrap_or(0);
                max_lost = max_lost.max(acked.saturating_sub(got.len() as u64));
                // At most the one push in flight when the kill came can be beyond the last ack.
                assert!(
                    got.len() as u64 <= acked + soak::CHUNK as u64,
                    "{}: {} > {acked} + chunk",
                    s.id,
                    got.len()
                );
            }
        }
    }
    for id in &progress.finished {
        assert!(present.contains(id), "finished attempt {id} vanished");
        let row = rows.iter().find(|r| r.id.as_str() == id).unwrap();
        assert_eq!(row.status, AttemptStatus::Finished, "{id}");
    }
    for (id, &n) in &progress.pushed {
        assert!(
            n == 0 || present.contains(id),
            "attempt {id} had {n} frames pushed but is gone"
        );
    }
    (finished, interrupted, max_lost, repaired)
}

fn assert_clean(dir: &Path, store: &Store) {
    let report = store.check(false, true).unwrap();
    assert_eq!(report.problems, vec![], "store must check clean");
    assert_eq!(
        std::fs::read_dir(dir.join("inflight")).unwrap().count(),
        0,
        "markers left"
    );
    assert_eq!(
        std::fs::read_dir(dir.join("trash")).unwrap().count(),
        0,
        "trash left"
    );
}

/// xorshift64*: the kill schedule; its seed is printed so a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn sigkill_at_random_points_keeps_finished_attempts_and_recovers_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let seed = std::env::var("SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("kill schedule seed: SOAK_SEED={seed}");
    let mut rng = Rng(seed);
    let mut progress = Progress::default();
    // Bounded in time, not asserted on: a slow machine runs fewer rounds.
    let budget = Instant::now() + Duration::from_secs(120);
    let mut runs = 0;
    while runs < 40 && Instant::now() < budget {
        let mut child = spawn_soak(dir.path(), runs * 1_000, 1_000);
        let out = drain(&mut child);
        // A quarter of the kills land in the first 40 ms (opening, recovering, beginning).
        let delay = if rng.next().is_multiple_of(4) {
            rng.next() % 40
        } else {
            rng.next() % 700
        };
        thread::sleep(Duration::from_millis(delay));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        progress.read(&out.join().unwrap());
        runs += 1;
    }
    let store = Store::open(dir.path()).unwrap();
    assert!(
        !store
            .recovered()
            .iter()
            .any(|r| matches!(r, Recovered::Failed { .. })),
        "{:?}",
        store.recovered()
    );
    let (finished, interrupted, max_lost, repaired) = verify_all(&store, &progress);
    let begun_absent = progress
        .begun
        .keys()
        .filter(|id| store.summary(&id.parse_id()).unwrap().is_none())
        .count();
    eprintln!(
        "{runs} SIGKILL runs: {finished} finished intact, {interrupted} interrupted and recovered \
         ({repaired} with a stale WAV header), {begun_absent} begun without audio and cleanly absent; \
         max acknowledged audio lost: {max_lost} frames = {} ms",
        max_lost * 1000 / 16_000
    );
    assert!(runs >= 10, "only {runs} runs fitted in the time budget");
    assert!(
        finished > 0 && interrupted > 0,
        "the kills must hit both phases"
    );
    assert_eq!(max_lost, 0, "pushed audio was lost");
    assert_clean(dir.path(), &store);
}

trait ParseId {
    fn parse_id(&self) -> ringcoach::store::AttemptId;
}
impl ParseId for String {
    fn parse_id(&self) -> ringcoach::store::AttemptId {
        ringcoach::store::AttemptId::parse(self).unwrap()
    }
}

#[test]
fn two_recorders_and_a_trainer_share_one_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let per_child = 12;
    let mut kids = [
        spawn_soak(dir.path(), 100_000, per_child),
        spawn_soak(dir.path(), 200_000, per_child),
    ];
    let outs: Vec<_> = kids.iter_mut().map(drain).collect();
    let mut reviewed = HashSet::new();
    let mut opens = 0;
    while kids.iter_mut().any(|k| k.try_wait().unwrap().is_none()) {
        // The trainer's side: open (which must not take live recordings for dead ones),
        // list, and mark finished attempts reviewed while the desks keep recording.
        let store = Store::open(dir.path()).unwrap();
        opens += 1;
        for r in store.recovered() {
            assert!(
                matches!(r, Recovered::Reindexed { .. }),
                "live attempt recovered: {r:?}"
            );
        }
        for s in store
            .list(&Query {
                verdict: Some(Verdict::Passed),
                reviewed: Some(false),
                ..Query::default()
            })
            .unwrap()
        {
            store.mark_reviewed(&s.id, "张老师", "heard it").unwrap();
            reviewed.insert(s.id);
        }
        thread::sleep(Duration::from_millis(20));
    }
    for k in &mut kids {
        assert!(k.wait().unwrap().success(), "a recorder failed");
    }
    let mut progress = Progress::default();
    for o in outs {
        progress.read(&o.join().unwrap());
    }
    let store = Store::open(dir.path()).unwrap();
    let (finished, interrupted, _, _) = verify_all(&store, &progress);
    assert_eq!((finished, interrupted), (2 * per_child as usize, 0));
    assert_eq!(progress.finished.len(), 2 * per_child as usize);
    let rows = store.list(&Query::default()).unwrap();
    for s in &rows {
        assert_eq!(s.reviewed, reviewed.contains(&s.id), "{}", s.id);
    }
    eprintln!(
        "{opens} trainer opens during recording; {} attempts reviewed concurrently",
        reviewed.len()
    );
    assert!(
        opens > 1 && !reviewed.is_empty(),
        "the trainer must have run while the desks recorded"
    );
    assert_clean(dir.path(), &store);
}

fn run(dir: &Path, args: &[&str]) -> Output {
    bin()
        .args(["store", "--data-dir"])
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn seed_store(dir: &Path) -> Vec<AttemptSummary> {
    let store = Store::open_with(
        dir,
        StoreOptions {
            sync: false,
            ..Default::default()
        },
    )
    .unwrap();
    let day = 86_400_000;
    let mut out = Vec::new();
    for (seed, age_days, trainee) in [(1u64, 100, "王芳"), (2, 3, "王芳"), (3, 1, "李雷")] {
        let info = ringcoach::store::AttemptInfo {
            scenario: "greeting".into(),
            rubric_sha256: "1".repeat(64),
            model: "base".into(),
            trainee: trainee.into(),
            device: "mic".into(),
            org: String::new(),
            started: Timestamp::from_unix_ms(Timestamp::now().unix_ms() - age_days * day),
            sitting: None,
        };
        let samples: Vec<i16> = (0..1600).map(|i| soak::sample(seed, i)).collect();
        let outcome = ringcoach::store::Outcome {
            transcript: soak::transcript(seed),
            report: serde_json::json!({
                "score": 50.0 + seed as f64, "passed": seed != 2, "checks": []
            }),
            score: 50.0 + seed as f64,
            passed: seed != 2,
            needs_review: seed == 3,
            finished: Timestamp::now(),
        };
        out.push(
            store
                .save(info, AudioFormat::SPEECH, &samples, outcome)
                .unwrap(),
        );
    }
    out
}

#[test]
fn cli_lists_checks_rebuilds_and_prunes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let rows = seed_store(dir);

    let o = run(dir, &["list"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    assert!(stdout.starts_with("ID\tSTARTED (UTC)\tTRAINEE"), "{stdout}");
    assert_eq!(stdout.lines().count(), 4, "{stdout}");
    assert!(
        stdout
            .lines()
            .nth(1)
            .unwrap()
            .starts_with(rows[2].id.as_str()),
        "newest first: {stdout}"
    );
    assert!(
        stdout.contains("\tfailed\t") && stdout.contains("\tpassed\t"),
        "{stdout}"
    );

    let o = run(dir, &["list", "--json", "--trainee", "王芳", "--asc"]);
    assert!(o.status.success());
    let listed: Vec<AttemptSummary> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(listed, rows[..2].to_vec());
    let o = run(dir, &["list", "--json", "--needs-review", "--since", "2d"]);
    let listed: Vec<AttemptSummary> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(listed, rows[2..].to_vec());
    let o = run(
        dir,
        &["list", "--json", "--verdict", "failed", "--search", "测试2"],
    );
    let listed: Vec<AttemptSummary> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(listed, rows[1..2].to_vec());

    for bad in [
        &["list", "--since", "yesterday"][..],
        &["prune", "--older-than", "90"],
        &["list", "--verdict", "maybe"],
    ] {
        let o = run(dir, bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", text(&o.stderr));
        assert!(!text(&o.stderr).is_empty());
    }

    let o = run(dir, &["prune", "--older-than", "90d", "--dry-run"]);
    assert!(o.status.success());
    assert!(
        text(&o.stdout).contains(&format!("would delete {}", rows[0].id)),
        "{}",
        text(&o.stdout)
    );
    let listed: Vec<AttemptSummary> =
        serde_json::from_slice(&run(dir, &["list", "--json"]).stdout).unwrap();
    assert_eq!(listed.len(), 3, "a dry run deletes nothing");
    let o = run(dir, &["prune", "--older-than", "90d"]);
    assert!(
        text(&o.stdout).contains("deleted 1 attempt(s)"),
        "{}",
        text(&o.stdout)
    );
    let listed: Vec<AttemptSummary> =
        serde_json::from_slice(&run(dir, &["list", "--json", "--asc"]).stdout).unwrap();
    assert_eq!(listed, rows[1..].to_vec());

    let o = run(dir, &["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));

    // A damaged index: listing says what to do; rebuild recreates it from the files.
    for name in ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    std::fs::write(dir.join("index.sqlite"), vec![b'x'; 4096]).unwrap();
    let o = run(dir, &["list"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("ringcoach store rebuild"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(
        text(&o.stderr).lines().count(),
        1,
        "one clear line: {}",
        text(&o.stderr)
    );
    let o = run(dir, &["rebuild"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("indexed 2 attempt(s)"),
        "{}",
        text(&o.stdout)
    );
    let listed: Vec<AttemptSummary> =
        serde_json::from_slice(&run(dir, &["list", "--json", "--asc"]).stdout).unwrap();
    assert_eq!(listed, rows[1..].to_vec());

    // A trainer's mark shows up; then files deleted behind the store's back: check fails
    // (exit 1), --repair drops the orphan row, check passes.
    {
        let store = Store::open(dir).unwrap();
        store.mark_reviewed(&rows[1].id, "张老师", "").unwrap();
    }
    assert_eq!(run(dir, &["check"]).status.code(), Some(0));
    std::fs::remove_dir_all(Store::open(dir).unwrap().attempt_dir(&rows[2].id)).unwrap();
    let o = run(dir, &["check"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).contains("indexed but its files are gone"),
        "{}",
        text(&o.stdout)
    );
    assert_eq!(run(dir, &["check", "--repair"]).status.code(), Some(0));
    assert_eq!(
        run(dir, &["check", "--verify-hashes"]).status.code(),
        Some(0)
    );

    // The data dir comes from the environment when not given.
    let o = bin()
        .env("RINGCOACH_DATA_DIR", dir)
        .args(["store", "list", "--json"])
        .output()
        .unwrap();
    let listed: Vec<AttemptSummary> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, rows[1].id);
    assert!(listed[0].reviewed);
}

/// `store check` says a recording is missing once, not once as unreadable and again as
/// missing.
#[test]
fn a_missing_recording_is_one_problem() {
    let dir = tempfile::tempdir().unwrap();
    let store = ringcoach::store::Store::open(dir.path()).unwrap();
    let info = ringcoach::store::AttemptInfo {
        scenario: "answer-call".into(),
        rubric_sha256: String::new(),
        model: "m".into(),
        trainee: "li.na".into(),
        device: "test".into(),
        org: String::new(),
        started: ringcoach::store::Timestamp::now(),
        sitting: None,
    };
    let outcome = ringcoach::store::Outcome {
        transcript: ringcoach::transcribe::Transcript::default(),
        report: serde_json::json!({"checks": []}),
        score: 50.0,
        passed: false,
        needs_review: false,
        finished: ringcoach::store::Timestamp::now(),
    };
    let s = store
        .save(
            info,
            ringcoach::store::AudioFormat::SPEECH,
            &[0i16; 1600],
            outcome,
        )
        .unwrap();
    std::fs::remove_file(store.audio_path(&s.id)).unwrap();
    let r = store.check(false, false).unwrap();
    let about_audio: Vec<_> = r
        .problems
        .iter()
        .filter(|p| p.path.ends_with("audio.wav"))
        .collect();
    assert_eq!(about_audio.len(), 1, "{:?}", r.problems);
    assert!(
        about_audio[0].what.starts_with("missing;"),
        "{}",
        about_audio[0].what
    );
}
