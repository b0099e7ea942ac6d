//! Test support for the crash test: a deterministic synthetic recording, and the loop the
//! hidden `ringcoach store __soak` child runs until it is killed. The test regenerates the
//! same samples from the seed (the trainee name is `soak-<seed>`) and checks that what
//! survived is exactly a prefix of what was pushed.
//!
//! The child reports progress on stdout, one line per event, so the parent knows, after a
//! SIGKILL, how much audio each attempt had pushed: `begin <id> <seed> <frames>`,
//! `pushed <id> <frames so far>`, `finished <id>`.

use std::io::Write;

use super::{AttemptInfo, AudioFormat, Outcome, Store, StoreError, Timestamp};
use crate::transcribe::{Segment, Token, Transcript};

/// Frames pushed at a time: 20 ms at 16 kHz, like a capture thread draining its ring.
pub const CHUNK: usize = 320;

fn mix(mut z: u64) -> u64 {
    // splitmix64: cheap, well spread, identical in parent and child.
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Sample `i` of recording `seed`: noise, so a shifted or repeated block never matches.
pub fn sample(seed: u64, i: u64) -> i16 {
    (mix(seed.wrapping_mul(0x1_0000_0001) ^ i) >> 48) as u16 as i16 / 4
}

/// Length of recording `seed`: 0.3–2.0 s at 16 kHz.
pub fn frames_for(seed: u64) -> u64 {
    4_800 + mix(seed) % 27_200
}

pub fn trainee(seed: u64) -> String {
    format!("soak-{seed}")
}

/// The seed of a soak attempt, from its trainee name.
pub fn seed_of(trainee: &str) -> Option<u64> {
    trainee.strip_prefix("soak-")?.parse().ok()
}

pub fn transcript(seed: u64) -> Transcript {
    let text = format!("您好,测试{seed}");
    Transcript {
        text: text.clone(),
        segments: vec![Segment {
            start_ms: 0,
            end_ms: 300,
            text: text.clone(),
            tokens: vec![Token {
                text,
                start_ms: 0,
                end_ms: 300,
                p: 0.9,
            }],
        }],
        cut_off: None,
    }
}

/// Records and finishes `count` attempts with seeds `first_seed..`, reporting on `out`.
pub fn run(
    store: &Store,
    first_seed: u64,
    count: u64,
    out: &mut impl Write,
) -> Result<(), StoreError> {
    let say = |out: &mut dyn Write, line: String| {
        // Progress is best effort: a closed pipe must not stop the recording.
        let _ = writeln!(out, "{line}").and_then(|_| out.flush());
    };
    for seed in first_seed..first_seed + count {
        let info = AttemptInfo {
            scenario: "soak".into(),
            rubric_sha256: "0".repeat(64),
            model: "none".into(),
            trainee: trainee(seed),
            device: "synthetic".into(),
            org: String::new(),
            started: Timestamp::now(),
            sitting: None,
        };
        let n = frames_for(seed);
        let mut rec = store.begin(info, AudioFormat::SPEECH)?;
        say(out, format!("begin {} {seed} {n}", rec.id()));
        let mut i = 0u64;
        let mut buf = Vec::with_capacity(CHUNK);
        while i < n {
            let end = (i + CHUNK as u64).min(n);
            buf.clear();
            buf.extend((i..end).map(|k| sample(seed, k)));
            rec.push_i16(&buf)?;
            i = end;
            say(out, format!("pushed {} {i}", rec.id()));
        }
        let id = rec.id().clone();
        let outcome = Outcome {
            transcript: transcript(seed),
            // Shaped like a grader's report, so a kill between report.json and meta.json
            // is recovered with its grade, as a real attempt's is.
            report: serde_json::json!({
                "seed": seed,
                "score": (seed % 101) as f64,
                "passed": seed.is_multiple_of(2),
                "checks": if seed.is_multiple_of(3) {
                    serde_json::json!([{ "id": "soak", "verdict": "uncertain" }])
                } else {
                    serde_json::json!([])
                },
            }),
            score: (seed % 101) as f64,
            passed: seed.is_multiple_of(2),
            needs_review: seed.is_multiple_of(3),
            finished: Timestamp::now(),
        };
        store.finish(rec, outcome)?;
        say(out, format!("finished {id}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_is_deterministic_and_not_constant() {
        let a: Vec<i16> = (0..1000).map(|i| sample(7, i)).collect();
        let b: Vec<i16> = (0..1000).map(|i| sample(7, i)).collect();
        let c: Vec<i16> = (0..1000).map(|i| sample(8, i)).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.windows(2).filter(|w| w[0] == w[1]).count() < 10);
        for s in 0..100 {
            assert!((4_800..32_000).contains(&frames_for(s)));
        }
        assert_eq!(seed_of(&trainee(42)), Some(42));
        assert_eq!(seed_of("王芳"), None);
    }
}
