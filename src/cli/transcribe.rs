//! `ringcoach transcribe FILE.wav... [--json]`: what the local Whisper model heard in each
//! file (text, segments, token timings and probabilities) and the audio facts measured
//! from the signal. A bad file is reported and the rest still run; the exit code says
//! whether any failed.

use std::fmt::Write as _;
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
    /// Cut a transcription off after this many seconds, voice detection included
    /// [default: 10 s plus half a second per second of speech]: a decoding loop or a busy
    /// machine is reported instead of left running.
    #[arg(long, value_name = "SECS", value_parser = time_limit_arg)]
    pub time_limit: Option<f64>,
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
    if let Some(secs) = args.time_limit {
        set_time_limit(&mut cfg, secs);
    }
    cfg.threads = args.threads;
    if let Threads::Fixed(n) = args.threads {
        let cores = crate::transcribe::cores();
        if n > cores {
            eprintln!(
                "ringcoach: --threads {n} is more than the {cores} core(s) here; using {cores}"
            );
        }
    }
    let mut transcriber = WhisperTranscriber::new(cfg)?;

    let mut failed = 0usize;
    let mut unreadable = 0usize;
    let mut reports = Vec::new();
    for file in &args.files {
        let t0 = Instant::now();
        let report = match clip::hear_file(&mut transcriber, file, max) {
            Ok(heard) => {
                // What was decoded is shown, but the file was not transcribed to its end:
                // work not done although the input was fine (exit 1).
                if let Some(cut) = &heard.transcript.cut_off {
                    failed += 1;
                    eprintln!(
                        "ringcoach: {}: transcription cut off: {}",
                        super::out::escape_controls(&file.display().to_string()),
                        cut.describe().1
                    );
                }
                FileReport {
                    file,
                    error: None,
                    heard: Some(heard),
                    run: transcriber.last_run().cloned(),
                    elapsed_ms: Some(t0.elapsed().as_millis() as u64),
                }
            }
            Err(e) => {
                failed += 1;
                let read_failed = matches!(e, clip::HearError::Wav(_));
                unreadable += usize::from(read_failed);
                eprintln!(
                    "ringcoach: error: {}",
                    super::out::escape_controls(&e.to_string())
                );
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
            // What the model heard and the file's name are shown, never obeyed.
            let mut o = String::new();
            print_text(&mut o, &report);
            super::out::write_human(&mut std::io::stdout().lock(), &o)?;
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

/// `--time-limit SECS`: more than 0, at most an hour.
pub fn time_limit_arg(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 && x <= 3600.0 => Ok(x),
        _ => Err(format!(
            "{s:?} is not a time limit: give seconds, more than 0 and at most 3600"
        )),
    }
}

/// The whole time limit of one transcription, as `--time-limit` and the config give it.
pub fn set_time_limit(cfg: &mut WhisperConfig, secs: f64) {
    cfg.time_base = Duration::from_secs_f64(secs);
    cfg.time_per_speech_second = Duration::ZERO;
}

fn secs(ms: u64) -> String {
    format!("{:.2} s", ms as f64 / 1000.0)
}

fn print_text(o: &mut String, r: &FileReport) {
    let Some(h) = &r.heard else {
        let _ = writeln!(
            o,
            "== {}: FAILED ({})",
            r.file.display(),
            r.error.as_deref().unwrap_or("?")
        );
        print_time(o, r);
        return;
    };
    let f = &h.facts;
    let _ = writeln!(
        o,
        "== {} ({}, {})",
        r.file.display(),
        secs(f.duration_ms),
        h.format
    );
    if let Some(cut) = &h.transcript.cut_off {
        let _ = writeln!(o, "cut off: {}", cut.describe().1);
    }
    if h.no_speech {
        let _ = writeln!(o, "text: (no speech heard)");
    } else {
        let _ = writeln!(o, "text: {}", h.transcript.text);
        for s in &h.transcript.segments {
            let _ = writeln!(
                o,
                "  [{} – {}] {}",
                secs(s.start_ms),
                secs(s.end_ms),
                s.text
            );
            let toks: Vec<String> = s
                .tokens
                .iter()
                .map(|t| format!("{}@{:.2}({:.2})", t.text, t.start_ms as f64 / 1000.0, t.p))
                .collect();
            let _ = writeln!(o, "    tokens: {}", toks.join(" "));
        }
    }
    let first = f.first_words_ms.map_or("none".to_string(), secs);
    let rate = h
        .chars_per_minute
        .map_or("-".to_string(), |r| format!("{r:.0} chars/min"));
    let _ = writeln!(
            o,
        "facts: first words {first} · speaking {} · pauses {} (longest {}) · rate {rate} · loudness {:.1} dBFS · peak {:.1} dBFS · clipped {:.2} %",
        secs(f.speaking_ms),
        f.pauses,
        secs(f.longest_pause_ms),
        f.loudness_dbfs,
        f.peak_dbfs,
        f.clipped_fraction * 100.0
    );
    print_time(o, r);
}

fn print_time(o: &mut String, r: &FileReport) {
    if let (Some(run), Some(ms)) = (&r.run, r.elapsed_ms) {
        let _ = writeln!(
            o,
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
