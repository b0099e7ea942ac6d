//! What asking the model about readings adds to a reply: for composed 5–8 s model answers,
//! the time `score_readings` takes for the four readings a grader typically asks about (喂 at
//! the onset, the right organisation, another greeting, another offer of help at the end),
//! after the free decode, per reply and per reading, with the default tail (4 tokens after a
//! reading rejoins the transcript) and with the whole tail, on one and two threads.
//!
//! `cargo bench --bench verify`. Needs the model and the voices, as the tests do. Prints
//! the machine and its load average first: on a shared machine the numbers are upper
//! bounds (one-token decoder calls are short, so they suffer less than the encoder does).

mod bench_support;
use bench_support::machine;

#[path = "../tests/support/mod.rs"]
mod test_support;
use test_support::speech as support;

use std::time::Instant;

use ringcoach::audio::wav;
use ringcoach::transcribe::{Reading, ScoreConfig, Transcriber, WhisperTranscriber};

const RUNS: usize = 5;

/// Model answers of the scenarios, spoken at 1.2× to make 5–8 s replies (their lengths
/// are printed).
const REPLIES: [&str; 4] = [
    "您好,广利物业,请问有什么可以帮您?",
    "您好,广利物业,很高兴为您服务。",
    "对不起,他暂时不在办公室,有什么事情需要我转告他吗?",
    "您好,广利物业服务中心。请问您室内哪里要维修?",
];

/// The readings a grader asks about one reply.
fn readings(text: &str) -> Vec<Reading> {
    let n = text.chars().count();
    let mut out = vec![Reading::at_onset(text, "喂,")];
    let chars: Vec<char> = text.chars().collect();
    // The organisation: the two characters before 物业, or characters 3..7.
    let org = chars
        .windows(2)
        .position(|w| w == ['物', '业'])
        .filter(|&i| i >= 2)
        .map_or(3.min(n)..7.min(n), |i| i - 2..i + 2);
    out.push(Reading::substitute(text, org, "广利物业").unwrap());
    out.push(Reading::substitute(text, 0..2.min(n), "你好").unwrap());
    // An offer of help in place of the last four spoken characters.
    let end = chars
        .iter()
        .rposition(|c| c.is_alphanumeric())
        .map_or(n, |i| i + 1);
    out.push(Reading::substitute(text, end.saturating_sub(4)..end, "帮助您吗").unwrap());
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    println!("machine: {}", machine());
    println!("each time is the median of {RUNS} runs after one warm-up\n");
    let dir = tempfile::tempdir().unwrap();
    println!(
        "| reply | clip | free decode | threads | tail | readings | tokens compared | scoring | per reading | per token |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (k, line) in REPLIES.iter().enumerate() {
        let p = support::compose(
            dir.path(),
            &format!("{k}.wav"),
            line,
            &["--lead-ms", "300", "--speed", "1.2"],
        );
        let samples = wav::read_wav_16k(&p, std::time::Duration::from_secs(60)).unwrap();
        let secs = samples.len() as f64 / 16_000.0;
        for threads in [1usize, 2] {
            let mut cfg = support::config();
            cfg.threads = ringcoach::transcribe::Threads::Fixed(threads);
            let mut t = WhisperTranscriber::new(cfg).unwrap();
            let t0 = Instant::now();
            let text = t.transcribe(&samples).unwrap().text;
            let free_ms = t0.elapsed().as_secs_f64() * 1000.0;
            let rs = readings(&text);
            for tail in [Some(4), None] {
                t.set_score_config(ScoreConfig {
                    threads,
                    tail_tokens: tail,
                });
                let first = t.score_readings(&rs).unwrap();
                let tokens: usize = first
                    .iter()
                    .map(|s| {
                        s.as_ref()
                            .map_or(0, |s| s.tokens() + s.free_token_logprobs.len())
                    })
                    .sum();
                let ms: Vec<f64> = (0..RUNS)
                    .map(|_| {
                        let t0 = Instant::now();
                        let s = t.score_readings(&rs).unwrap();
                        assert_eq!(s.len(), rs.len());
                        t0.elapsed().as_secs_f64() * 1000.0
                    })
                    .collect();
                let m = median(ms);
                println!(
                    "| {k}: {} | {secs:.1} s | {free_ms:.0} ms | {threads} | {} | {} | {tokens} | {m:.0} ms | {:.0} ms | {:.1} ms |",
                    text,
                    tail.map_or("all".to_string(), |k| k.to_string()),
                    rs.len(),
                    m / rs.len() as f64,
                    m / tokens.max(1) as f64,
                );
            }
        }
    }
}
