//! Listing and filtering 10,000 attempts (target: under 100 ms each), plus opening the
//! store, rebuilding the index and checking it. Generates a real store (files + index)
//! in a temp dir through the public API, with fsync off to keep generation short.
//!
//! `cargo bench --bench store` (or `-- 2000` for a smaller store). Prints the machine.

mod bench_support;
use bench_support::machine;

use std::time::{Duration, Instant};

use ringcoach::store::{
    AttemptInfo, AudioFormat, Outcome, Query, SortKey, Store, StoreOptions, Timestamp, Verdict,
};
use ringcoach::transcribe::Transcript;

const PHRASES: [&str; 5] = [
    "您好,广利物业,请问有什么可以帮您?",
    "喂,你找谁?",
    "您好,这里是客服中心,很高兴为您服务",
    "对不起,让您久等了,请问您贵姓?",
    "谢谢您的来电,再见",
];

fn time<T>(reps: usize, mut f: impl FnMut() -> T) -> (Duration, Duration, Duration, T) {
    let mut times = Vec::with_capacity(reps);
    let mut last = None;
    for _ in 0..reps {
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed());
    }
    times.sort();
    (times[0], times[reps / 2], times[reps - 1], last.unwrap())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    println!(
        "store bench: {n} attempts; machine: {machine}",
        machine = machine()
    );
    let dir = tempfile::tempdir().unwrap();
    let opts = StoreOptions {
        sync: false,
        ..Default::default()
    };
    let store = Store::open_with(dir.path(), opts).unwrap();
    let now = Timestamp::now().unix_ms();
    let audio: Vec<i16> = (0..1600).map(|i| ((i * 37) % 2000) as i16).collect();
    let t = Instant::now();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let text = PHRASES[(x % 5) as usize];
        let info = AttemptInfo {
            scenario: format!("scenario-{:02}", x % 12),
            rubric_sha256: "ab".repeat(32),
            model: "ggml-base-q5_1".into(),
            trainee: format!("trainee-{:02}", (x >> 8) % 50),
            device: "USB Headset".into(),
            org: "广利物业".into(),
            started: Timestamp::from_unix_ms(now - ((x >> 16) % (180 * 86_400_000)) as i64),
            sitting: None,
        };
        let score = ((x >> 24) % 101) as f64;
        let outcome = Outcome {
            transcript: Transcript {
                text: text.into(),
                segments: vec![],
                cut_off: None,
            },
            report: serde_json::json!({ "score": score, "i": i }),
            score,
            passed: score >= 60.0,
            needs_review: (x >> 32).is_multiple_of(7),
            finished: Timestamp::from_unix_ms(now),
        };
        store
            .save(info, AudioFormat::SPEECH, &audio, outcome)
            .unwrap();
    }
    println!(
        "generate {n} attempts (no fsync): {:.1} s",
        t.elapsed().as_secs_f64()
    );
    drop(store);

    let (_, open, _, store) = time(1, || Store::open(dir.path()).unwrap());
    println!("open store (recovery scan): {:.1} ms", ms(open));

    let since = Timestamp::from_unix_ms(now - 30 * 86_400_000);
    let queries: Vec<(&str, Query)> = vec![
        (
            "all, newest first",
            Query {
                descending: true,
                ..Query::default()
            },
        ),
        (
            "one trainee",
            Query {
                trainee: Some("trainee-07".into()),
                descending: true,
                ..Query::default()
            },
        ),
        (
            "one trainee, last 30 days",
            Query {
                trainee: Some("trainee-07".into()),
                since: Some(since),
                ..Query::default()
            },
        ),
        (
            "scenario + failed",
            Query {
                scenario: Some("scenario-03".into()),
                verdict: Some(Verdict::Failed),
                ..Query::default()
            },
        ),
        (
            "needs review, unreviewed",
            Query {
                needs_review: Some(true),
                reviewed: Some(false),
                ..Query::default()
            },
        ),
        (
            "transcript search 喂",
            Query {
                text: Some("喂".into()),
                ..Query::default()
            },
        ),
        (
            "all, by score",
            Query {
                sort: SortKey::Score,
                descending: true,
                ..Query::default()
            },
        ),
        (
            "first page of 50",
            Query {
                descending: true,
                limit: Some(50),
                ..Query::default()
            },
        ),
    ];
    let mut worst = Duration::ZERO;
    println!(
        "{:<28} {:>6} {:>9} {:>9} {:>9}",
        "query", "rows", "min ms", "median", "max ms"
    );
    for (name, q) in &queries {
        let (min, med, max, rows) = time(21, || store.list(q).unwrap().len());
        worst = worst.max(med);
        println!(
            "{name:<28} {rows:>6} {:>9.2} {:>9.2} {:>9.2}",
            ms(min),
            ms(med),
            ms(max)
        );
    }
    println!(
        "slowest median listing: {:.2} ms — target < 100 ms: {}",
        ms(worst),
        if worst < Duration::from_millis(100) {
            "met"
        } else {
            "MISSED"
        }
    );
    let id = store
        .list(&Query {
            limit: Some(1),
            ..Query::default()
        })
        .unwrap()[0]
        .id
        .clone();
    let (_, load, _, _) = time(21, || store.load(&id).unwrap());
    println!(
        "load one attempt (meta, transcript, report, audit): {:.2} ms median",
        ms(load)
    );
    let (_, rebuild, _, r) = time(1, || store.rebuild().unwrap());
    println!(
        "rebuild index from {} attempts' files: {:.1} ms",
        r.indexed,
        ms(rebuild)
    );
    let (_, check, _, c) = time(1, || store.check(false, false).unwrap());
    println!(
        "check (no hashes): {:.1} ms, {} problem(s)",
        ms(check),
        c.problems.len()
    );
    durable_recording();
}

/// What a recorder thread sees with fsync on (the product's setting): latency of each
/// 20 ms push (every fifth one rewrites the header and waits for fdatasync), and of
/// begin and finish.
fn durable_recording() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let (mut pushes, mut begins, mut finishes) = (Vec::new(), Vec::new(), Vec::new());
    let chunk: Vec<i16> = (0..320).map(|i| (i * 50) as i16).collect();
    for k in 0..10 {
        let info = AttemptInfo {
            scenario: "greeting".into(),
            rubric_sha256: "ab".repeat(32),
            model: "base".into(),
            trainee: format!("t{k}"),
            device: "mic".into(),
            org: String::new(),
            started: Timestamp::now(),
            sitting: None,
        };
        let t = Instant::now();
        let mut rec = store.begin(info, AudioFormat::SPEECH).unwrap();
        begins.push(t.elapsed());
        for _ in 0..150 {
            let t = Instant::now();
            rec.push_i16(&chunk).unwrap();
            pushes.push(t.elapsed());
        }
        let outcome = Outcome {
            transcript: Transcript {
                text: PHRASES[0].into(),
                segments: vec![],
                cut_off: None,
            },
            report: serde_json::json!({}),
            score: 80.0,
            passed: true,
            needs_review: false,
            finished: Timestamp::now(),
        };
        let t = Instant::now();
        store.finish(rec, outcome).unwrap();
        finishes.push(t.elapsed());
    }
    for v in [&mut pushes, &mut begins, &mut finishes] {
        v.sort();
    }
    let p = |v: &[Duration], q: f64| ms(v[((v.len() - 1) as f64 * q) as usize]);
    println!(
        "durable recording (fsync on, 10 x 3 s): push of 20 ms audio median {:.3} ms, p99 {:.2} ms, max {:.2} ms; \
         begin median {:.1} ms; finish median {:.1} ms, max {:.1} ms",
        p(&pushes, 0.5),
        p(&pushes, 0.99),
        p(&pushes, 1.0),
        p(&begins, 0.5),
        p(&finishes, 0.5),
        p(&finishes, 1.0)
    );
}
