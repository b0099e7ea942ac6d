//! Does a model keep the verdicts? Every scenario's model answers, spoken in the real voices
//! at speeds 1.0 and 1.2 by the mixed and the syllable speaker, are transcribed and graded
//! with each model (the f16 default and any quantised copy in the model cache, or
//! RINGCOACH_BENCH_MODELS=a.bin,b.bin), as a call picked up on the first ring. Prints, per
//! model, the calls passed, the failed and uncertain checks, and every check whose verdict
//! differs from the first model's, with what each heard.
//!
//! `cargo bench --bench model_verdicts`. Needs the models and the voices, as the tests do.
//! Timing-free: the same numbers on a busy machine (the time limit is set out of reach).
//! RINGCOACH_THREADS=N fixes the thread count; `RINGCOACH_BENCH_MODELS=a.bin@1,a.bin@2`
//! sets it per entry (the thread count alone can change a transcript: one model at two
//! thread counts shows how much flips by that alone);
//! RINGCOACH_BENCH_SCENARIOS=id,id grades only those scenarios.

mod bench_support;
use bench_support::machine;

#[path = "../tests/support/mod.rs"]
mod test_support;
use test_support::speech as support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use ringcoach::grading::{Call, Heard, Org, Pickup, Report, Verdict};
use ringcoach::scenario::{phrases, Catalog, ORG_PLACEHOLDER};
use ringcoach::transcribe::{clip, WhisperTranscriber};

/// A model to grade with, and a fixed thread count if one was given (`path@N`).
struct Setup {
    model: PathBuf,
    threads: Option<usize>,
}

impl Setup {
    fn name(&self) -> String {
        let file = self
            .model
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        match self.threads {
            Some(n) => format!("{file}, {n} thread(s)"),
            None => file,
        }
    }
}

fn models() -> Vec<Setup> {
    if let Ok(list) = std::env::var("RINGCOACH_BENCH_MODELS") {
        return list
            .split(',')
            .map(|spec| match spec.rsplit_once('@') {
                Some((path, n)) if n.parse::<usize>().is_ok() => Setup {
                    model: PathBuf::from(path),
                    threads: n.parse().ok(),
                },
                _ => Setup {
                    model: PathBuf::from(spec),
                    threads: None,
                },
            })
            .collect();
    }
    let f16 = support::test_model();
    let dir = f16.parent().unwrap().to_path_buf();
    let mut out = vec![f16];
    for q in ["q8_0", "q5_1", "q5_0"] {
        let p = dir.join(format!("ggml-base-{q}.bin"));
        if p.is_file() {
            out.push(p);
        }
    }
    out.into_iter()
        .map(|model| Setup {
            model,
            threads: None,
        })
        .collect()
}

/// One spoken call: its name and a WAV per trainee turn.
struct Spoken {
    name: String,
    scenario: String,
    wavs: Vec<PathBuf>,
}

fn spoken_calls(dir: &std::path::Path) -> Vec<Spoken> {
    let c = Catalog::builtin().unwrap();
    let only: Option<Vec<String>> = std::env::var("RINGCOACH_BENCH_SCENARIOS")
        .ok()
        .map(|v| v.split(',').map(str::to_string).collect());
    let mut out = Vec::new();
    for sc in &c.scenarios {
        if only
            .as_ref()
            .is_some_and(|o| !o.iter().any(|id| id == sc.id()))
        {
            continue;
        }
        for (a, answer) in sc.model_answers.get_ref().iter().enumerate() {
            for (speed, speaker) in [
                ("1.0", "mixed"),
                ("1.2", "mixed"),
                ("1.0", "syllables"),
                ("1.2", "syllables"),
            ] {
                let name = format!("{} #{} {speaker} ×{speed}", sc.id(), a + 1);
                let wavs = phrases(&answer.turns)
                    .enumerate()
                    .map(|(t, line)| {
                        let line = line
                            .replace(ORG_PLACEHOLDER, &c.org.name)
                            .replace("15", "十五")
                            .replace("0.1%", "千分之一")
                            .replace(['《', '》'], "");
                        support::compose(
                            dir,
                            &format!("{}-{a}-{speaker}-{speed}-{t}.wav", sc.id()),
                            &line,
                            &["--lead-ms", "300", "--speed", speed, "--speaker", speaker],
                        )
                    })
                    .collect();
                out.push(Spoken {
                    name,
                    scenario: sc.id().to_string(),
                    wavs,
                });
            }
        }
    }
    out
}

/// Graded as the product grades: each turn heard, then asked about.
fn grade(t: &mut WhisperTranscriber, call: &Spoken, c: &Catalog) -> Report {
    let sc = c.get(&call.scenario).unwrap();
    let org = Org::given(c.org.name.clone());
    let mut turns: Vec<Heard> = Vec::new();
    for w in &call.wavs {
        let (turn, n) = (turns.len(), call.wavs.len());
        let ask = |tr: &ringcoach::transcribe::Transcript| {
            ringcoach::grading::questions(sc, &c.phrasebook, &org, &turns, turn, n, tr)
        };
        let h = clip::hear_file_asking(t, w, Duration::from_secs(600), &ask).unwrap();
        turns.push(Heard {
            transcript: h.transcript,
            facts: Some(h.facts),
            readings: h.readings,
        });
    }
    Call {
        turns,
        pickup: Pickup::Rings(1),
        org,
    }
    .grade(sc, &c.phrasebook)
}

fn main() {
    println!("machine: {}", machine());
    let dir = tempfile::tempdir().unwrap();
    let calls = spoken_calls(dir.path());
    let c = Catalog::builtin().unwrap();
    let models = models();
    println!(
        "{} spoken calls, models: {}\n",
        calls.len(),
        models
            .iter()
            .map(Setup::name)
            .collect::<Vec<_>>()
            .join(" · ")
    );
    let mut reports: Vec<Vec<Report>> = Vec::new();
    for m in &models {
        let mut cfg = support::config();
        cfg.model = m.model.clone();
        if let Some(n) = m.threads {
            cfg.threads = ringcoach::transcribe::Threads::Fixed(n);
        }
        let mut t = WhisperTranscriber::new(cfg).unwrap();
        reports.push(calls.iter().map(|call| grade(&mut t, call, &c)).collect());
    }
    println!("| model | calls passed | failed checks | uncertain checks | checks that differ from the first |");
    println!("| --- | --- | --- | --- | --- |");
    let count = |rs: &[Report], v: Verdict| -> usize {
        rs.iter()
            .map(|r| r.checks.iter().filter(|ch| ch.verdict == v).count())
            .sum()
    };
    let mut diffs: Vec<String> = Vec::new();
    for (k, m) in models.iter().enumerate() {
        let rs = &reports[k];
        let mut differ = 0;
        for (i, r) in rs.iter().enumerate() {
            let first: BTreeMap<&str, Verdict> = reports[0][i]
                .checks
                .iter()
                .map(|ch| (ch.id.as_str(), ch.verdict))
                .collect();
            for ch in &r.checks {
                if first.get(ch.id.as_str()) != Some(&ch.verdict) {
                    differ += 1;
                    diffs.push(format!(
                        "- {} · {}: {} → {} ({}: heard {:?}; {}: heard {:?})",
                        calls[i].name,
                        ch.id,
                        first
                            .get(ch.id.as_str())
                            .map_or("–".into(), |v| v.to_string()),
                        ch.verdict,
                        models[0].name(),
                        reports[0][i].transcript,
                        m.name(),
                        r.transcript
                    ));
                }
            }
        }
        println!(
            "| {} | {}/{} | {} | {} | {differ} |",
            m.name(),
            rs.iter().filter(|r| r.passed).count(),
            rs.len(),
            count(rs, Verdict::Fail),
            count(rs, Verdict::Uncertain),
        );
    }
    if !diffs.is_empty() {
        println!("\nverdicts that differ:");
        for d in diffs {
            println!("{d}");
        }
    }
}
