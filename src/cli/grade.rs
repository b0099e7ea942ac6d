//! `ringcoach grade`: grade a reply given as text (`--text`, repeatable per turn,
//! `--text-file FILE|-`) against a scenario, print the verdict (`--json`: the report).
//! Exit 0 passed, 1 not passed, 2 usage or input error.
//!
//! WAV input arrives with transcription: [`grade_turns`] already takes transcripts and audio
//! facts, so the WAV path only has to produce those.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};

use crate::audio::facts::AudioFacts;
use crate::grading::{self, render_text, GradeInput, OrgSource, Pickup, Report, Turn};
use crate::scenario::Catalog;
use crate::transcribe::Transcript;

/// The largest reply accepted, in bytes: a call's reply, not a document.
pub const MAX_TEXT_BYTES: usize = 100 * 1024;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Recorded replies (WAV), one per trainee turn.
    #[arg(value_name = "WAV")]
    pub wavs: Vec<PathBuf>,
    /// Scenario id (see `ringcoach scenarios`).
    #[arg(long, short)]
    pub scenario: String,
    /// Organisation name the opening must contain (default: the org profile's).
    #[arg(long)]
    pub org: Option<String>,
    /// Rings before pickup.
    #[arg(long, conflicts_with = "pickup_ms")]
    pub rings: Option<u32>,
    /// Milliseconds from the first ring to pickup (turned into rings by the ring cadence).
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
    /// Extra directory of scenario files (also RINGCOACH_PROMPTS).
    #[arg(long, value_name = "DIR")]
    pub prompts: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let catalog = super::scenarios::load_catalog(args.prompts.clone())?;
    // Check the scenario first: a wrong id is the most common mistake and its error lists the ids.
    catalog.get(&args.scenario)?;
    if !args.wavs.is_empty() {
        if !args.text.is_empty() || args.text_file.is_some() {
            bail!("give either WAV files or --text/--text-file, not both");
        }
        bail!("transcription not available yet: grade a WAV once the transcriber is built; for now use --text");
    }
    let turns = read_turns(&args)?;
    let transcripts: Vec<(Transcript, Option<AudioFacts>)> = turns
        .into_iter()
        .map(|text| {
            (
                Transcript {
                    text,
                    segments: Vec::new(),
                },
                None,
            )
        })
        .collect();
    let pickup = match (args.rings, args.pickup_ms) {
        (Some(n), _) => Pickup::Rings(n),
        (None, Some(ms)) => Pickup::AfterMs(ms),
        (None, None) => Pickup::Unknown,
    };
    let report = grade_turns(
        &catalog,
        &args.scenario,
        &transcripts,
        pickup,
        args.org.as_deref(),
    )?;
    emit(&report, args.json)
}

/// Grades transcribed turns (with their audio facts, if measured) against a scenario.
pub fn grade_turns(
    catalog: &Catalog,
    scenario: &str,
    turns: &[(Transcript, Option<AudioFacts>)],
    pickup: Pickup,
    org: Option<&str>,
) -> anyhow::Result<Report> {
    let sc = catalog.get(scenario)?;
    let (org, org_source) = match org {
        Some(o) if !o.trim().is_empty() => (o, OrgSource::Given),
        Some(_) => bail!(
            "--org is empty: give the organisation's name or leave --org out to use the profile's"
        ),
        None => (catalog.org.name.as_str(), OrgSource::DefaultProfile),
    };
    let tokens: Vec<Vec<crate::transcribe::Token>> = turns
        .iter()
        .map(|(t, _)| t.tokens().cloned().collect())
        .collect();
    let input = GradeInput {
        turns: turns
            .iter()
            .zip(&tokens)
            .map(|((t, facts), toks)| Turn {
                text: &t.text,
                tokens: (!toks.is_empty()).then_some(toks.as_slice()),
                facts: facts.as_ref(),
            })
            .collect(),
        pickup,
        org,
        org_source,
    };
    Ok(grading::grade(sc, &catalog.phrasebook, &input))
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
