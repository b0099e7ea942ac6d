//! `ringcoach exam`: a certification sitting. With `--suite ID --candidate NAME` the exam
//! screen (the practice screen in exam mode, started from a proctor screen); `exam import`
//! takes a sitting from recordings made elsewhere; `exam list` shows the sittings and what
//! is left to settle.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use serde::Serialize;

use super::flags::{DataDirFlag, ModelFlags, PromptsFlag};
use crate::exam::import::{import, plan};
use crate::exam::seal::check;
use crate::exam::sitting::SittingState;
use crate::exam::{open_items, Candidate, Sittings};
use crate::grading::Verdict;
use crate::store::Timestamp;
use crate::transcribe::{WhisperConfig, WhisperTranscriber};

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
    #[command(flatten)]
    pub screen: super::practice::ExamArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// A sitting from recordings made elsewhere: a manifest (TOML) lists the suite's calls in
    /// order, each with `rings` or `pickup_ms` and its turns' WAV files (relative paths).
    Import(ImportArgs),
    /// The sittings in this store: state, seal, what is still uncertain, certificates.
    List(ListArgs),
    /// End a sitting whose exam was interrupted (a crash, a closed terminal): the calls taken
    /// stay as graded, the rest count as failed, and the sitting is sealed so it can be
    /// settled and certified. Refused while its exam screen is still open.
    End(EndArgs),
}

#[derive(Debug, clap::Args)]
pub struct EndArgs {
    /// The sitting (see `ringcoach exam list`).
    #[arg(value_name = "SITTING")]
    pub sitting: String,
    #[command(flatten)]
    pub data_dir: DataDirFlag,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The suite (see `ringcoach suites`).
    #[arg(long)]
    pub suite: String,
    /// The candidate's name, as the certificate shows it.
    #[arg(long)]
    pub candidate: String,
    /// The candidate's employee id, if the certificate should carry one.
    #[arg(long, value_name = "ID")]
    pub employee_id: Option<String>,
    /// The manifest.
    #[arg(value_name = "SITTING.toml")]
    pub manifest: PathBuf,
    /// Print `{"sitting": ID, "calls": [...], "uncertain": [...]}`.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub models: ModelFlags,
    #[command(flatten)]
    pub prompts: PromptsFlag,
    #[command(flatten)]
    pub data_dir: DataDirFlag,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub data_dir: DataDirFlag,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.action {
        Some(Action::Import(a)) => import_cmd(a),
        Some(Action::List(a)) => list(a),
        Some(Action::End(a)) => end(a),
        None => super::practice::run_exam(args.screen),
    }
}

#[derive(Serialize)]
struct CallOut {
    index: u32,
    scenario: String,
    attempt: String,
    score: u32,
    passed: bool,
    uncertain: Vec<String>,
}

#[derive(Serialize)]
struct ImportOut {
    sitting: String,
    state: SittingState,
    seal_sha256: String,
    calls: Vec<CallOut>,
    uncertain: Vec<crate::exam::OpenItem>,
}

fn import_cmd(a: ImportArgs) -> anyhow::Result<ExitCode> {
    let catalog = a.prompts.load()?;
    let suite = catalog.suite(&a.suite)?;
    let planned = match plan(&a.manifest, suite, &catalog) {
        Ok(p) => p,
        Err(problems) => {
            for p in &problems {
                eprintln!("{p}");
            }
            bail!(
                "{} problem(s) in the manifest {}; nothing was imported",
                problems.len(),
                a.manifest.display()
            );
        }
    };
    let (model, vad) = a.models.resolve()?;
    crate::transcribe::whisper::route_logging();
    let mut cfg = WhisperConfig::new(model.clone(), Some(vad));
    // A batch import is not a candidate waiting at a desk: a busy machine must slow it down,
    // never cut an answer short (a cut transcript would fail a call).
    cfg.time_base = std::time::Duration::from_secs(600);
    let mut whisper = WhisperTranscriber::new(cfg)?;
    let store = a.data_dir.open()?;
    let done = import(
        &store,
        &catalog,
        suite,
        Candidate {
            name: a.candidate.clone(),
            employee_id: a.employee_id.clone(),
        },
        &planned,
        &a.manifest,
        &model,
        &mut whisper,
    )?;
    let uncertain = open_items(&store, &done.sitting)?;
    let calls: Vec<CallOut> = done
        .sitting
        .calls
        .iter()
        .zip(&done.reports)
        .map(|(c, r)| CallOut {
            index: c.index,
            scenario: c.scenario.clone(),
            attempt: c.attempt.to_string(),
            score: r.score,
            passed: r.passed,
            uncertain: r
                .checks
                .iter()
                .filter(|k| k.verdict == Verdict::Uncertain)
                .map(|k| k.id.clone())
                .collect(),
        })
        .collect();
    let out = ImportOut {
        sitting: done.sitting.id.clone(),
        state: done.sitting.state,
        seal_sha256: done.seal.sha256.clone(),
        calls,
        uncertain,
    };
    let mut w = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer_pretty(&mut w, &out)?;
        writeln!(w)?;
    } else {
        writeln!(
            w,
            "sitting {} ({}, sealed sha256:{})",
            out.sitting,
            out.state.as_str(),
            out.seal_sha256
        )?;
        for c in &out.calls {
            writeln!(
                w,
                "  {}. {:<17} {:>3}/100 {}{}",
                c.index,
                c.scenario,
                c.score,
                if c.passed { "passed" } else { "not passed" },
                if c.uncertain.is_empty() {
                    String::new()
                } else {
                    format!(" · uncertain: {}", c.uncertain.join(", "))
                }
            )?;
        }
        if out.uncertain.is_empty() {
            writeln!(
                w,
                "Nothing to settle: `ringcoach cert issue {}`",
                out.sitting
            )?;
        } else {
            writeln!(
                w,
                "{} check(s) to settle in `ringcoach review --sittings` before `ringcoach cert issue {}`",
                out.uncertain.len(),
                out.sitting
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct Listed {
    sitting: String,
    candidate: String,
    suite: String,
    state: SittingState,
    started: crate::store::Timestamp,
    calls_taken: usize,
    seal: String,
    uncertain: usize,
    certificates: Vec<String>,
}

fn end(a: EndArgs) -> anyhow::Result<ExitCode> {
    let store = a.data_dir.open_existing()?;
    let sittings = Sittings::of(&store);
    let was = sittings.load(&a.sitting)?.state;
    let (rec, sealed) =
        crate::exam::seal::end_interrupted(&sittings, &store, &a.sitting, Timestamp::now())?;
    let mut w = std::io::stdout().lock();
    if was != SittingState::InProgress {
        writeln!(
            w,
            "sitting {} had already ended ({}); sealed sha256:{}",
            rec.id,
            rec.state.as_str(),
            &sealed.sha256[..16]
        )?;
    } else {
        writeln!(
            w,
            "sitting {} ended {}: {} of {} calls taken; sealed sha256:{}",
            rec.id,
            rec.state.as_str(),
            rec.calls.len(),
            rec.suite.calls.len(),
            &sealed.sha256[..16]
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn list(a: ListArgs) -> anyhow::Result<ExitCode> {
    let store = a.data_dir.open_existing()?;
    let sittings = Sittings::of(&store);
    let mut rows = Vec::new();
    for rec in sittings.list()? {
        let seal = match check(&sittings, &rec.id) {
            Ok(s) => format!("sealed sha256:{}", &s.sha256[..16]),
            Err(e) => e.to_string(),
        };
        rows.push(Listed {
            uncertain: open_items(&store, &rec)
                .with_context(|| format!("sitting {}", rec.id))?
                .len(),
            certificates: sittings
                .issued(&rec.id)?
                .into_iter()
                .map(|e| e.id)
                .collect(),
            sitting: rec.id.clone(),
            candidate: rec.candidate.name.clone(),
            suite: format!("{} v{}", rec.suite.id, rec.suite.version),
            state: rec.state,
            started: rec.started,
            calls_taken: rec.calls.len(),
            seal,
        });
    }
    let mut w = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer_pretty(&mut w, &rows)?;
        writeln!(w)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        writeln!(w, "no sittings in {}", store.root().display())?;
    }
    for r in &rows {
        writeln!(
            w,
            "{}  {}  {}  {} ({} calls)  uncertain {}  {}{}",
            r.sitting,
            r.candidate,
            r.suite,
            r.state.as_str(),
            r.calls_taken,
            r.uncertain,
            r.seal,
            if r.certificates.is_empty() {
                String::new()
            } else {
                format!("  certificate {}", r.certificates.join(", "))
            }
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
