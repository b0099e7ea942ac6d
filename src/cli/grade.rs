//! `ringcoach grade`: grade a reply given as text (`--text`, repeatable per turn,
//! `--text-file FILE|-`) against a scenario, print the verdict (`--json`: the report).
//! Exit 0 passed, 1 not passed, 2 usage or input error.
//!
//! WAV files are transcribed locally and graded with the same report, plus the transcript's
//! token probabilities and the audio facts measured from the signal. With `--save --trainee
//! NAME` each recording (or, with `--call`, each call) is also saved in the attempts store —
//! audio, transcript, report and meta — so a trainer reviews calls recorded on a phone system
//! like any attempt made at a desk.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};

use super::flags::{DataDirFlag, ModelFlags, OrgFlag, PromptsFlag};
use crate::audio::wav;
use crate::grading::{self, render_text, Call, Heard, Org, Pickup, Report, Verdict};
use crate::scenario::{Catalog, Scenario};
use crate::store::{AttemptInfo, AudioFormat, Outcome, Store, Timestamp};
use crate::transcribe::clip::hear_samples_asking;
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
    /// Also save each recording (each call, with --call) in the attempts store as an attempt
    /// of --trainee: its audio (16 kHz mono, as graded), transcript, report and meta.
    #[arg(long, requires_all = ["wavs", "trainee"])]
    pub save: bool,
    /// Whose recordings they are (with --save).
    #[arg(long, value_name = "NAME", requires = "save")]
    pub trainee: Option<String>,
    /// When the call was made (with --save): an age (2h), a date or an RFC 3339 time
    /// [default: the WAV file's modification time].
    #[arg(long, value_name = "WHEN", requires = "save")]
    pub started: Option<String>,
    #[command(flatten)]
    pub data_dir: DataDirFlag,
    #[command(flatten)]
    pub models: ModelFlags,
    /// Scenario id (see `ringcoach scenarios`).
    #[arg(long, short)]
    pub scenario: String,
    #[command(flatten)]
    pub org: OrgFlag,
    /// Rings before pickup (1–20).
    #[arg(long, conflicts_with = "pickup_ms", value_parser = rings_arg)]
    pub rings: Option<u32>,
    /// Milliseconds from the first ring to pickup, counted in rings by the phrase book's ring
    /// cadence (`[settings] ring_on_ms` / `ring_off_ms`: the cadence practice rings with);
    /// at most 600000 (10 minutes).
    #[arg(long, value_name = "MS", value_parser = pickup_arg)]
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
    /// With WAV files: cut a transcription off after this many seconds [default: 10 s plus
    /// half a second per second of speech]. A cut-off exits 1: try again, or raise it.
    #[arg(long, value_name = "SECS", value_parser = super::transcribe::time_limit_arg)]
    pub time_limit: Option<f64>,
    #[command(flatten)]
    pub prompts: PromptsFlag,
}

/// The most rings a pickup can come after: a caller hangs up long before 20.
pub const MAX_RINGS: u32 = 20;

fn rings_arg(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if (1..=u64::from(MAX_RINGS)).contains(&n) => Ok(n as u32),
        Ok(n) => Err(format!(
            "{n} rings cannot happen: a pickup comes on ring 1 to {MAX_RINGS}"
        )),
        Err(_) => Err(format!("{s:?} is not a number of rings (1 to {MAX_RINGS})")),
    }
}

fn pickup_arg(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(n) if n <= 600_000 => Ok(n),
        Ok(n) => Err(format!(
            "{n} ms cannot happen: a caller hangs up long before 10 minutes (600000 ms)"
        )),
        Err(_) => Err(format!("{s:?} is not a number of milliseconds")),
    }
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

/// One recording as heard: the turn for the grader and the 16 kHz samples it was heard
/// from (what `--save` keeps).
struct Recording {
    turn: Heard,
    samples: Vec<f32>,
}

/// Where `--save` puts recordings, and whose they are.
struct Saver {
    store: Store,
    trainee: String,
    started: Option<Timestamp>,
    model: String,
}

impl Saver {
    fn open(args: &Args, model: &std::path::Path) -> anyhow::Result<Option<Saver>> {
        if !args.save {
            return Ok(None);
        }
        let trainee = args
            .trainee
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .context("--save needs --trainee NAME: whose recordings these are")?
            .to_string();
        let started = args
            .started
            .as_deref()
            .map(|s| {
                crate::report::when::parse_when(s, Timestamp::now(), &jiff::tz::TimeZone::system())
            })
            .transpose()
            .context("--started")?;
        Ok(Some(Saver {
            store: args.data_dir.open()?,
            trainee,
            started,
            model: model
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        }))
    }

    /// Saves one call (its recordings are its turns, in order) with its report, as practice
    /// saves an attempt: the turns' audio end to end in one WAV, their transcripts one per
    /// line with token times shifted to where each turn starts.
    fn save(
        &self,
        files: &[&PathBuf],
        recs: &[Recording],
        report: &Report,
    ) -> anyhow::Result<crate::store::AttemptId> {
        let started = match self.started {
            Some(t) => t,
            None => std::fs::metadata(files[0])
                .and_then(|m| m.modified())
                .map(Timestamp::from_system_time)
                .unwrap_or_else(|_| Timestamp::now()),
        };
        let names: Vec<String> = files
            .iter()
            .map(|p| {
                p.file_name().map_or_else(
                    || p.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                )
            })
            .collect();
        let info = AttemptInfo {
            scenario: report.scenario.clone(),
            rubric_sha256: report.rubric_sha256.clone(),
            model: self.model.clone(),
            trainee: self.trainee.clone(),
            device: format!("file: {}", names.join(" + ")),
            org: report.org.clone(),
            started,
            sitting: None,
        };
        let mut rec = self.store.begin(info, AudioFormat::SPEECH)?;
        let mut starts = Vec::with_capacity(recs.len());
        let mut at = 0usize;
        for r in recs {
            starts.push(at);
            rec.push_f32(&r.samples)?;
            at += r.samples.len();
        }
        let transcript =
            crate::practice::run::merge_turns(recs.iter().map(|r| &r.turn.transcript), &starts);
        let outcome = Outcome {
            transcript,
            report: serde_json::to_value(report).context("serialise the report")?,
            score: f64::from(report.score),
            passed: report.passed,
            needs_review: report
                .checks
                .iter()
                .any(|c| c.verdict == Verdict::Uncertain),
            finished: Timestamp::now(),
        };
        let summary = self.store.finish(rec, outcome)?;
        eprintln!(
            "ringcoach: saved {} as attempt {} of {} in {}",
            names.join(" + "),
            summary.id,
            self.trainee,
            self.store.root().display()
        );
        Ok(summary.id)
    }
}

/// Transcribes and grades WAV files: one report per file, or one for the call (`--call`).
/// In a batch a file that cannot be read or heard is reported and the rest go on; the exit
/// code says so (1). A single unreadable file is an input error (2). With `--save`, every
/// graded recording (or call) is saved in the attempts store.
fn grade_wavs(grader: &Grader, args: &Args) -> anyhow::Result<ExitCode> {
    let (model, vad) = args.models.resolve()?;
    let saver = Saver::open(args, &model)?;
    crate::transcribe::whisper::route_logging();
    let mut cfg = WhisperConfig::new(model, Some(vad));
    if let Some(secs) = args.time_limit {
        super::transcribe::set_time_limit(&mut cfg, secs);
    }
    let mut whisper = WhisperTranscriber::new(cfg)?;
    // Each turn is heard, then asked about (the readings its checks hang on) while the
    // model still holds its audio.
    let mut hear = |path: &PathBuf, before: &[Heard], turns: usize| -> anyhow::Result<Recording> {
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
        let (samples, format) = wav::read_wav_16k_with_format(path, MAX_WAV)
            .with_context(|| format!("{}", path.display()))?;
        let heard = hear_samples_asking(&mut whisper, &samples, format, &ask)
            .with_context(|| format!("{}", path.display()))?;
        if let Some(cut) = &heard.transcript.cut_off {
            // Graded all the same: the checks the rest could decide are uncertain.
            eprintln!(
                "ringcoach: {}: transcription cut off: {}",
                super::out::escape_controls(&path.display().to_string()),
                cut.describe().1
            );
        } else if heard.no_speech {
            eprintln!("ringcoach: no speech heard in {}", path.display());
        }
        Ok(Recording {
            turn: Heard {
                transcript: heard.transcript,
                facts: Some(heard.facts),
                readings: heard.readings,
            },
            samples,
        })
    };
    let grade = |files: &[&PathBuf], recs: Vec<Recording>| -> anyhow::Result<Report> {
        let report = grader.grade(recs.iter().map(|r| r.turn.clone()).collect());
        if let Some(s) = &saver {
            s.save(files, &recs, &report)?;
        }
        Ok(report)
    };
    if args.call {
        let mut recs: Vec<Recording> = Vec::with_capacity(args.wavs.len());
        for path in &args.wavs {
            let before: Vec<Heard> = recs.iter().map(|r| r.turn.clone()).collect();
            let rec = hear(path, &before, args.wavs.len())?;
            recs.push(rec);
        }
        let files: Vec<&PathBuf> = args.wavs.iter().collect();
        return emit(&grade(&files, recs)?, args.json);
    }
    if args.wavs.len() == 1 {
        let rec = hear(&args.wavs[0], &[], 1)?;
        return emit(&grade(&[&args.wavs[0]], vec![rec])?, args.json);
    }
    let mut all_passed = true;
    let mut rows = Vec::new();
    let mut out = std::io::stdout().lock();
    for path in &args.wavs {
        match hear(path, &[], 1).and_then(|rec| grade(&[path], vec![rec])) {
            Ok(report) => {
                all_passed &= report.passed;
                if args.json {
                    rows.push(serde_json::json!({ "file": path, "report": report }));
                } else {
                    super::out::human(&mut out, |b| {
                        writeln!(b, "== {}", path.display())?;
                        render_text(&report, b)?;
                        writeln!(b)
                    })?;
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
        // The reply and the organisation are the user's text: shown, never obeyed.
        super::out::human(&mut out, |b| render_text(report, b))?;
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
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                // Reading would wait for typing that nobody knows is expected.
                bail!("--text-file - reads the reply from stdin, but stdin is a terminal: pipe it in (`echo 您好 | ringcoach grade … --text-file -`) or use --text");
            }
            let mut buf = Vec::new();
            stdin
                .lock()
                .take(MAX_TEXT_BYTES as u64 + 1)
                .read_to_end(&mut buf)
                .context("cannot read stdin")?;
            if buf.len() > MAX_TEXT_BYTES {
                // Only the first bytes were read: say "more than", not a size it is not.
                bail!(
                    "stdin is more than {0} KB; the limit is {0} KB: grade one call's reply, not a whole document",
                    MAX_TEXT_BYTES / 1024
                );
            }
            ("stdin".to_string(), buf)
        } else {
            let name = path.display().to_string();
            match crate::input::read_limited(path, MAX_TEXT_BYTES as u64, "a reply") {
                Ok(bytes) => (name, bytes),
                Err(crate::input::InputError::TooBig { size, .. }) => bail!(too_big(&name, size)),
                Err(e) => bail!("cannot read --text-file {name}: {}", e.reason()),
            }
        };
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
        "{what} is {bytes} bytes ({} KB); the limit is {} KB: grade one call's reply, not a whole document",
        bytes.div_ceil(1024),
        MAX_TEXT_BYTES / 1024
    )
}
