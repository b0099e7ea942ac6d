//! `ringcoach transcribe FILE.wav... [--json]`: what the local Whisper model heard in each
//! file (text, segments, token timings and probabilities) and the audio facts measured
//! from the signal. A bad file is reported and the rest still run; the exit code says
//! whether any failed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::flags::ModelFlags;
use crate::transcribe::clip::{self, Heard};
use crate::transcribe::{
    AudioContext, RunInfo, Threads, Transcriber, WhisperConfig, WhisperTranscriber,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// WAV files (any bit depth, channel count or sample rate).
    #[arg(required = true, value_name = "FILE.wav")]
    pub files: Vec<PathBuf>,
    /// Print one JSON array with a report per file instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub models: ModelFlags,
    /// Encoder window: `fitted` (to the speech: 50 frames/s + 128, about 4× faster on
    /// short replies), `fitted+N` (other margin) or `full` (always 30 s).
    #[arg(long, default_value = "fitted", value_name = "full|fitted|fitted+N")]
    pub audio_ctx: AudioContext,
    /// CPU threads for Whisper: `auto` takes the cores other programs leave free just
    /// before each file; a number is capped at the cores that exist.
    #[arg(long, default_value = "auto", value_name = "N|auto")]
    pub threads: Threads,
    /// Stop decoding after this many seconds (plus half a second per second of speech):
    /// what was decoded by then is returned, marked as cut off, instead of a loop left
    /// running.
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    pub time_limit: f64,
    /// Refuse files longer than this many minutes.
    #[arg(long, default_value_t = 10.0, value_name = "MIN")]
    pub max_minutes: f64,
}

#[derive(Serialize)]
struct FileReport<'a> {
    file: &'a Path,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    heard: Option<Heard>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<RunInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    elapsed_ms: Option<u64>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !(args.max_minutes > 0.0 && args.max_minutes.is_finite()) {
        anyhow::bail!("--max-minutes must be a positive number of minutes");
    }
    let max = Duration::from_secs_f64(args.max_minutes * 60.0);
    let (model, vad) = args.models.resolve()?;
    let mut cfg = WhisperConfig::new(model, Some(vad));
    cfg.audio_ctx = args.audio_ctx;
    if !(args.time_limit >= 0.0 && args.time_limit.is_finite()) {
        anyhow::bail!("--time-limit must be a number of seconds, 0 or more");
    }
    cfg.time_base = Duration::from_secs_f64(args.time_limit);
    cfg.threads = args.threads;
    let mut transcriber = WhisperTranscriber::new(cfg)?;

    let mut failed = 0usize;
    let mut unreadable = 0usize;
    let mut reports = Vec::new();
    for file in &args.files {
        let t0 = Instant::now();
        let report = match clip::hear_file(&mut transcriber, file, max) {
            Ok(heard) => FileReport {
                file,
                error: None,
                heard: Some(heard),
                run: transcriber.last_run().cloned(),
                elapsed_ms: Some(t0.elapsed().as_millis() as u64),
            },
            Err(e) => {
                failed += 1;
                let read_failed = matches!(e, clip::HearError::Wav(_));
                unreadable += usize::from(read_failed);
                eprintln!("ringcoach: {e}");
                FileReport {
                    file,
                    error: Some(e.to_string()),
                    heard: None,
                    // A file that was never read has no run of its own to show.
                    run: (!read_failed)
                        .then(|| transcriber.last_run().cloned())
                        .flatten(),
                    elapsed_ms: Some(t0.elapsed().as_millis() as u64),
                }
            }
        };
        if !args.json {
            print_text(&report);
        }
        reports.push(report);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else if args.files.len() == 1 && unreadable == 1 {
        // One file that could not be read is an input error; in a batch, "some failed".
        ExitCode::from(super::EXIT_USAGE)
    } else {
        ExitCode::from(1)
    })
}

fn secs(ms: u64) -> String {
    format!("{:.2} s", ms as f64 / 1000.0)
}

fn print_text(r: &FileReport) {
    let Some(h) = &r.heard else {
        println!(
            "== {}: FAILED ({})",
            r.file.display(),
            r.error.as_deref().unwrap_or("?")
        );
        print_time(r);
        return;
    };
    let f = &h.facts;
    println!(
        "== {} ({}, {})",
        r.file.display(),
        secs(f.duration_ms),
        h.format
    );
    if let Some(cut) = &h.transcript.cut_off {
        println!("cut off: {}", cut.describe().1);
    }
    if h.no_speech {
        println!("text: (no speech heard)");
    } else {
        println!("text: {}", h.transcript.text);
        for s in &h.transcript.segments {
            println!("  [{} – {}] {}", secs(s.start_ms), secs(s.end_ms), s.text);
            let toks: Vec<String> = s
                .tokens
                .iter()
                .map(|t| format!("{}@{:.2}({:.2})", t.text, t.start_ms as f64 / 1000.0, t.p))
                .collect();
            println!("    tokens: {}", toks.join(" "));
        }
    }
    let first = f.first_words_ms.map_or("none".to_string(), secs);
    let rate = h
        .chars_per_minute
        .map_or("-".to_string(), |r| format!("{r:.0} chars/min"));
    println!(
        "facts: first words {first} · speaking {} · pauses {} (longest {}) · rate {rate} · loudness {:.1} dBFS · peak {:.1} dBFS · clipped {:.2} %",
        secs(f.speaking_ms),
        f.pauses,
        secs(f.longest_pause_ms),
        f.loudness_dbfs,
        f.peak_dbfs,
        f.clipped_fraction * 100.0
    );
    print_time(r);
}

fn print_time(r: &FileReport) {
    if let (Some(run), Some(ms)) = (&r.run, r.elapsed_ms) {
        println!(
            "time: {ms} ms total (vad {} ms, decode {} ms, {} decoder steps, {} thread(s), audio_ctx {})",
            run.vad_ms,
            run.decode_ms,
            run.decoder_steps,
            run.threads,
            if run.audio_ctx == 0 {
                "full".to_string()
            } else {
                run.audio_ctx.to_string()
            }
        );
    }
}
