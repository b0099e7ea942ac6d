//! Calibrates the grader's questions about banned phrases that may hide in what the model
//! wrote (a lone 喂 heard as "play", 不知道 heard as 吐池道, 投诉 heard as 投足): voices rude
//! replies and short polite ones with the shared test voices (`compose.py`) at several
//! speeds and rooms, hears each as the product does (`questions` asked while the model holds
//! the audio), grades it, and writes one JSON line per banned-phrase reading the grader
//! asked, with whether that phrase was really said and the reply's voiced time and pauses.
//! The model answers of every scenario are the other half of the data: run
//! `scripts/accuracy-sweep --no-rude --keep DIR` and pass `--reports DIR` to add the
//! readings of their reports (never said).
//!
//! Run by hand (a few minutes), not in CI:
//!
//! ```text
//! cargo run --release --example calibrate_banned -- --out tests/data/banned-calibration.jsonl
//! cargo run --release --example calibrate_banned -- --reports DIR --out FILE   # add a sweep's
//! cargo run --release --example calibrate_banned -- --summarize FILE             # the tables
//! ```
//!
//! `tests/data/banned-calibration.md` says what the thresholds in
//! `src/grading/checks/banned.rs` take from it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ringcoach::grading::{questions, Call, Heard, Org, Pickup, Report};
use ringcoach::scenario::Catalog;
use ringcoach::text::normalize;
use ringcoach::transcribe::clip::hear_file_asking;
use ringcoach::transcribe::{WhisperConfig, WhisperTranscriber};
use serde::{Deserialize, Serialize};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// (scenario, line): rude replies, each saying the banned phrases its text holds.
const RUDE: &[(&str, &str)] = &[
    ("answer-call", "喂?"),
    ("answer-call", "喂!"),
    ("answer-call", "喂喂?"),
    ("answer-call", "喂,你找谁?"),
    ("answer-call", "不知道。"),
    ("answer-call", "不清楚。"),
    ("answer-call", "你问我我问谁?"),
    ("cannot-hear", "大点声!"),
    ("cannot-hear", "听不见。"),
    ("complaint-call", "有本事就去投诉我。"),
    ("complaint-call", "有本事你去投诉啊。"),
    ("repair-request", "这事不归我管。"),
];

/// Short first replies that are not rude: a lone 喂 must not be heard in them.
const SHORT: &[&str] = &[
    "您好。",
    "你好。",
    "您好!",
    "好的。",
    "对。",
    "是的。",
    "在的。",
    "请讲。",
    "哪位?",
    "稍等。",
    "好。",
    "行。",
    "谢谢。",
    "您说。",
];

/// compose.py arguments of each voicing.
const VOICINGS: &[&[&str]] = &[
    &["--speaker", "mixed", "--speed", "1.0"],
    &["--speaker", "mixed", "--speed", "1.15"],
    &["--speaker", "mixed", "--speed", "1.3"],
    &["--speaker", "mixed", "--speed", "1.4"],
    &["--speaker", "syllables", "--speed", "1.0"],
    &["--speaker", "syllables", "--speed", "1.15"],
    &["--speaker", "syllables", "--speed", "1.3"],
    &["--speaker", "syllables", "--speed", "1.4"],
    &["--speaker", "mixed", "--room-ms", "300"],
    &["--speaker", "syllables", "--room-ms", "300"],
    &[
        "--speaker",
        "mixed",
        "--room-ms",
        "400",
        "--gain-db",
        "-10",
        "--snr-db",
        "20",
    ],
    &[
        "--speaker",
        "syllables",
        "--room-ms",
        "400",
        "--gain-db",
        "-10",
        "--snr-db",
        "20",
    ],
];

#[derive(Serialize, Deserialize)]
struct Row<'a> {
    #[serde(borrow)]
    source: &'a str,
    line: String,
    voicing: String,
    heard: String,
    check: String,
    phrase: String,
    /// What the transcript had where the phrase was asked about ("" = in front).
    at: String,
    reading: String,
    margin: Option<f32>,
    /// The phrase was really said (its characters are in the line spoken).
    said: bool,
    speaking_ms: Option<u64>,
    pauses: Option<u32>,
    verdict: String,
}

fn rows<'a>(source: &'a str, line: &str, voicing: &str, r: &Report, out: &mut Vec<Row<'a>>) {
    let spoken = normalize(line);
    let facts = r.turns.first().and_then(|t| t.audio.as_ref());
    for q in r
        .readings
        .iter()
        .filter(|q| q.check.starts_with("banned_phrase"))
    {
        let verdict = r
            .checks
            .iter()
            .find(|c| c.id == q.check)
            .map_or(String::new(), |c| c.verdict.to_string());
        out.push(Row {
            source,
            line: line.to_string(),
            voicing: voicing.to_string(),
            heard: r.transcript.clone(),
            check: q.check.clone(),
            phrase: q.phrase.clone(),
            at: q.heard.clone(),
            reading: q.reading.clone(),
            margin: q.margin,
            said: !normalize(&q.phrase).is_empty() && spoken.contains(&normalize(&q.phrase)),
            speaking_ms: facts.map(|f| f.speaking_ms),
            pauses: facts.map(|f| f.pauses),
            verdict,
        });
    }
}

fn compose(line: &str, out: &Path, args: &[&str]) {
    let script = Path::new(ROOT).join("../shared/audio/compose.py");
    let ok = Command::new("python3")
        .arg(&script)
        .arg(line)
        .arg(out)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "compose.py could not voice {line:?} with {args:?}");
}

fn models() -> (PathBuf, PathBuf) {
    let dir = std::env::var_os("RINGCOACH_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| dirs::data_dir().unwrap().join("ringcoach/models"));
    (dir.join("ggml-base.bin"), dir.join("ggml-silero-vad.bin"))
}

fn main() {
    let mut out_path = PathBuf::from(ROOT).join("tests/data/banned-calibration.jsonl");
    let mut reports: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out_path = args.next().expect("--out FILE").into(),
            "--reports" => reports = Some(args.next().expect("--reports DIR").into()),
            "--summarize" => {
                summarize(Path::new(&args.next().expect("--summarize FILE")));
                return;
            }
            _ => panic!("unknown argument {a:?}: use --out FILE, --reports DIR, --summarize FILE"),
        }
    }
    let mut out: Vec<Row> = Vec::new();
    if let Some(dir) = &reports {
        // A sweep's kept reports of model answers: every banned reading asked is one not said.
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("the reports directory")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let r: Report = serde_json::from_str(&text).unwrap();
            let name = f.file_stem().unwrap().to_string_lossy().to_string();
            // The model answer's own lines are not in the report: "said" is judged on
            // the phrase book's model answer, which never holds a banned phrase.
            let before = out.len();
            rows("model-answer", "", &name, &r, &mut out);
            for row in &mut out[before..] {
                row.said = false;
            }
        }
    } else {
        let catalog = Catalog::builtin().unwrap();
        let org = Org::resolve(None, &catalog.org).unwrap();
        let (model, vad) = models();
        let mut cfg = WhisperConfig::new(model, Some(vad));
        cfg.time_base = Duration::from_secs(600);
        cfg.threads = ringcoach::transcribe::Threads::Fixed(1);
        let mut t = WhisperTranscriber::new(cfg).expect("the model loads");
        let dir = tempfile::tempdir().unwrap();
        let lines: Vec<(&str, &str, &str)> = RUDE
            .iter()
            .map(|&(s, l)| ("rude", s, l))
            .chain(SHORT.iter().map(|&l| ("short", "answer-call", l)))
            .collect();
        for (source, sid, line) in lines {
            let sc = catalog.get(sid).unwrap();
            for v in VOICINGS {
                let wav = dir.path().join("v.wav");
                compose(line, &wav, v);
                let before: Vec<Heard> = Vec::new();
                let ask = |h: &ringcoach::transcribe::Transcript| {
                    questions(sc, &catalog.phrasebook, &org, &before, 0, 1, h)
                };
                let heard = hear_file_asking(&mut t, &wav, Duration::from_secs(60), &ask).unwrap();
                let call = Call {
                    turns: vec![Heard {
                        transcript: heard.transcript,
                        facts: Some(heard.facts),
                        readings: heard.readings,
                    }],
                    pickup: Pickup::Rings(1),
                    org: org.clone(),
                };
                let r = call.grade(sc, &catalog.phrasebook);
                let voicing = v.join(" ");
                eprintln!("{line} [{voicing}]: {}", r.transcript);
                rows(source, line, &voicing, &r, &mut out);
            }
        }
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&out_path)
        .unwrap();
    for r in &out {
        writeln!(f, "{}", serde_json::to_string(r).unwrap()).unwrap();
    }
    eprintln!("{} readings appended to {}", out.len(), out_path.display());
}

/// The question a row answers, as the grader judges it (`src/grading/checks/banned.rs`).
fn kind(r: &Row) -> &'static str {
    let letters: Vec<char> = r.heard.chars().filter(|c| c.is_alphanumeric()).collect();
    let latin = !letters.is_empty() && letters.iter().all(|c| c.is_ascii_alphabetic());
    let burst = r.speaking_ms.is_some_and(|v| v <= 600) && r.pauses == Some(0);
    if r.at.is_empty() {
        "喂 in front of the reply"
    } else if r.phrase == "喂" && r.reading == "喂" {
        if latin && burst {
            "喂 for a whole reply heard as one Latin word from one burst (≤ 600 ms)"
        } else {
            "喂 for a whole short reply, other"
        }
    } else {
        "a banned phrase in place of a stretch heard"
    }
}

/// Prints, per question and said / not said: how many, the highest and lowest margins, and
/// how many reach −8, −10 and −12.
fn summarize(path: &Path) {
    let text = std::fs::read_to_string(path).expect("the data file");
    let rows: Vec<Row> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a data row"))
        .collect();
    println!("| question | said | n | min | max | ≥ −8 | ≥ −10 | ≥ −12 |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut kinds: Vec<&str> = rows.iter().map(kind).collect();
    kinds.sort();
    kinds.dedup();
    for k in kinds {
        for said in [true, false] {
            let mut m: Vec<f32> = rows
                .iter()
                .filter(|r| kind(r) == k && r.said == said)
                .filter_map(|r| r.margin)
                .collect();
            if m.is_empty() {
                continue;
            }
            m.sort_by(f32::total_cmp);
            let at = |t: f32| m.iter().filter(|&&x| x >= t).count();
            println!(
                "| {k} | {} | {} | {:.2} | {:.2} | {} | {} | {} |",
                if said { "yes" } else { "no" },
                m.len(),
                m[0],
                m[m.len() - 1],
                at(-8.0),
                at(-10.0),
                at(-12.0)
            );
        }
    }
}
