//! `ringcoach grade`: grade a reply given as text (`--text`, repeatable per turn,
//! `--text-file FILE|-`) against a scenario, print the verdict (`--json`: the report).
//! Exit 0 passed, 1 not passed, 2 usage or input error.
//!
//! WAV files are transcribed locally and graded with the same report, plus the transcript's
//! token probabilities and the audio facts measured from the signal.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};

use super::flags::{ModelFlags, OrgFlag, PromptsFlag};
use crate::grading::{self, render_text, Call, Heard, Org, Pickup, Report};
use crate::scenario::{Catalog, Scenario};
use crate::transcribe::clip::hear_file_asking;
use crate::transcribe::{Transcript, WhisperConfig, WhisperTranscriber};

/// The largest reply accepted, in bytes: a call's reply, not a document.
pub const MAX_TEXT_BYTES: usize = 100 * 1024;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Recorded replies (WAV) to transcribe and grade, one report each (see --call).
    #[arg(value_name = "WAV")]
    pub wavs: Vec<PathBuf>,
    /// The WAV files are the trainee's turns of ONE call, in order: one report for the call.
    #[arg(long, requires = "wavs")]
    pub call: bool,
    #[command(flatten)]
    pub models: ModelFlags,
    /// Scenario id (see `ringcoach scenarios`).
    #[arg(long, short)]
    pub scenario: String,
    #[command(flatten)]
    pub org: OrgFlag,
    /// Rings before pickup.
    #[arg(long, conflicts_with = "pickup_ms")]
    pub rings: Option<u32>,
    /// Milliseconds from the first ring to pickup, counted in rings by the phrase book's ring
    /// cadence (`[settings] ring_on_ms` / `ring_off_ms`: the cadence practice rings with).
    #[arg(long, value_name = "MS")]
    pub pickup_ms: Option<u64>,
    /// The reply as text; repeat for several trainee turns.
    #[arg(long, conflicts_with = "text_file")]
    pub text: Vec<String>,
    /// Read the reply from a UTF-8 file (`-` for stdin); each non-empty line is one turn.
    #[arg(long, value_name = "FILE")]
    pub text_file: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Cut a WAV's transcription off after this many seconds (plus half a second per second
    /// of speech), as `transcribe --time-limit`: a measurement on a busy machine lifts it.
    #[arg(long, default_value_t = 10.0, value_name = "SECS", requires = "wavs")]
    pub time_limit: f64,
    #[command(flatten)]
    pub prompts: PromptsFlag,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let catalog = args.prompts.load()?;
    // Check the scenario first: a wrong id is the most common mistake and its error lists the ids.
    let sc = catalog.get(&args.scenario)?;
    let grader = Grader {
        scenario: sc,
        catalog: &catalog,
        pickup: pickup(&args),
        // The config is not read here: `grade` answers for what its flags say.
        org: args.org.resolve(None, &catalog)?,
    };
    if !args.wavs.is_empty() {
        if !args.text.is_empty() || args.text_file.is_some() {
            bail!("give either WAV files or --text/--text-file, not both");
        }
        return grade_wavs(&grader, &args);
    }
    let turns = read_turns(&args)?.into_iter().map(Heard::text).collect();
    emit(&grader.grade(turns), args.json)
}

fn pickup(args: &Args) -> Pickup {
    match (args.rings, args.pickup_ms) {
        (Some(n), _) => Pickup::Rings(n),
        (None, Some(ms)) => Pickup::AfterMs(ms),
        (None, None) => Pickup::Unknown,
    }
}

/// What every reply of one `grade` run is graded with: the scenario, the pickup and the
/// organisation, resolved once.
struct Grader<'a> {
    scenario: &'a Scenario,
    catalog: &'a Catalog,
    pickup: Pickup,
    org: Org,
}

impl Grader<'_> {
    fn grade(&self, turns: Vec<Heard>) -> Report {
        let call = Call {
            turns,
            pickup: self.pickup,
            org: self.org.clone(),
        };
        call.grade(self.scenario, &self.catalog.phrasebook)
    }
}

/// The longest WAV accepted, as `transcribe` does.
const MAX_WAV: Duration = Duration::from_secs(10 * 60);

/// Transcribes and grades WAV files: one report per file, or one for the call (`--call`).
/// In a batch a file that cannot be read or heard is reported and the rest go on; the exit
/// code says so (1). A single unreadable file is an input error (2).
fn grade_wavs(grader: &Grader, args: &Args) -> anyhow::Result<ExitCode> {
    let (model, vad) = args.models.resolve()?;
    crate::transcribe::whisper::route_logging();
    if !(args.time_limit >= 0.0 && args.time_limit.is_finite()) {
        bail!("--time-limit must be a number of seconds, 0 or more");
    }
    let mut cfg = WhisperConfig::new(model, Some(vad));
    cfg.time_base = Duration::from_secs_f64(args.time_limit);
    let mut whisper = WhisperTranscriber::new(cfg)?;
    // Each turn is heard, then asked about (the readings its checks hang on) while the
    // model still holds its audio.
    let mut hear = |path: &PathBuf, before: &[Heard], turns: usize| -> anyhow::Result<Heard> {
        let turn = before.len();
        let ask = |t: &Transcript| {
            grading::questions(
                grader.scenario,
                &grader.catalog.phrasebook,
                &grader.org,
                before,
                turn,
                turns,
                t,
            )
        };
        let heard = hear_file_asking(&mut whisper, path, MAX_WAV, &ask)
            .with_context(|| format!("{}", path.display()))?;
        if heard.no_speech {
            eprintln!("ringcoach: no speech heard in {}", path.display());
        }
        Ok(Heard {
            transcript: heard.transcript,
            facts: Some(heard.facts),
            readings: heard.readings,
        })
    };
    if args.call {
        let mut turns = Vec::with_capacity(args.wavs.len());
        for path in &args.wavs {
            let turn = hear(path, &turns, args.wavs.len())?;
            turns.push(turn);
        }
        return emit(&grader.grade(turns), args.json);
    }
    if args.wavs.len() == 1 {
        let turn = hear(&args.wavs[0], &[], 1)?;
        return emit(&grader.grade(vec![turn]), args.json);
    }
    let mut all_passed = true;
    let mut rows = Vec::new();
    let mut out = std::io::stdout().lock();
    for path in &args.wavs {
        match hear(path, &[], 1).map(|turn| grader.grade(vec![turn])) {
            Ok(report) => {
                all_passed &= report.passed;
                if args.json {
                    rows.push(serde_json::json!({ "file": path, "report": report }));
                } else {
                    writeln!(out, "== {}", path.display())?;
                    render_text(&report, &mut out)?;
                    writeln!(out)?;
                }
            }
            Err(e) => {
                all_passed = false;
                let msg = super::one_line(&e);
                eprintln!("ringcoach: error: {msg}");
                if args.json {
                    rows.push(serde_json::json!({ "file": path, "error": msg }));
                }
            }
        }
    }
    if args.json {
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
    }
    out.flush()?;
    Ok(if all_passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Prints the report and turns its verdict into the exit code.
pub fn emit(report: &Report, json: bool) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, report)?;
        writeln!(out)?;
    } else {
        render_text(report, &mut out)?;
    }
    out.flush()?;
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn read_turns(args: &Args) -> anyhow::Result<Vec<String>> {
    if let Some(path) = &args.text_file {
        let (name, bytes) = if path.as_os_str() == "-" {
            let mut buf = Vec::new();
            std::io::stdin()
                .lock()
                .take(MAX_TEXT_BYTES as u64 + 1)
                .read_to_end(&mut buf)
                .context("cannot read stdin")?;
            ("stdin".to_string(), buf)
        } else {
            let meta = std::fs::metadata(path)
                .with_context(|| format!("cannot read --text-file {}", path.display()))?;
            if meta.len() > MAX_TEXT_BYTES as u64 {
                bail!(too_big(&path.display().to_string(), meta.len()));
            }
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read --text-file {}", path.display()))?;
            (path.display().to_string(), bytes)
        };
        if bytes.len() > MAX_TEXT_BYTES {
            bail!(too_big(&name, bytes.len() as u64));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            anyhow::anyhow!(
                "{name} is not valid UTF-8 (bad byte at offset {}): save the reply as UTF-8",
                e.utf8_error().valid_up_to()
            )
        })?;
        let turns: Vec<String> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        return Ok(if turns.is_empty() {
            vec![String::new()]
        } else {
            turns
        });
    }
    if args.text.is_empty() {
        bail!("nothing to grade: give the reply with --text \"…\", --text-file FILE (or - for stdin), or a WAV path");
    }
    let total: usize = args.text.iter().map(String::len).sum();
    if total > MAX_TEXT_BYTES {
        bail!(too_big("--text", total as u64));
    }
    Ok(args.text.clone())
}

fn too_big(what: &str, bytes: u64) -> String {
    format!(
        "{what} is {} KB; the limit is {} KB: grade one call's reply, not a whole document",
        bytes.div_ceil(1024),
        MAX_TEXT_BYTES / 1024
    )
}
