//! `ringcoach suites`: list the certification suites (`--json` for scripts) and
//! `suites check [FILE…]`: validate suite files, exit 1 on any problem.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use super::flags::PromptsFlag;
use crate::exam::suite_problems;
use crate::scenario::suite::{ExamSettings, Rules};
use crate::scenario::{parse_suite, suite_sha256, Bilingual, Catalog, ResolvedCall, Suite};

#[derive(Debug, clap::Args)]
// `suites check --prompts DIR` reads as well as `suites --prompts DIR check`.
#[command(mut_arg("prompts", |a| a.global(true)))]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
    /// Print the list as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub prompts: PromptsFlag,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Validate suite files (or, with none given, the built-ins and the prompts directory's
    /// `suites/`); prints file:line:col for every problem and exits 1 if there is any.
    Check { files: Vec<PathBuf> },
}

#[derive(Serialize)]
struct Listed<'a> {
    id: &'a str,
    version: &'a str,
    title: &'a Bilingual,
    sha256: String,
    exam: &'a ExamSettings,
    rules: Rules,
    calls: Vec<ResolvedCall>,
}

fn listed<'a>(s: &'a Suite, catalog: &Catalog) -> Listed<'a> {
    Listed {
        id: s.id(),
        version: s.version(),
        title: &s.title,
        sha256: suite_sha256(s, &catalog.scenarios, &catalog.phrasebook, &catalog.org),
        exam: &s.exam,
        rules: s.rules(),
        calls: s.resolved_calls(&catalog.org),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.action {
        Some(Action::Check { files }) => check(files, args.prompts),
        None => list(args.json, args.prompts),
    }
}

fn list(json: bool, prompts: PromptsFlag) -> anyhow::Result<ExitCode> {
    let catalog = prompts.load()?;
    let mut out = std::io::stdout().lock();
    let items: Vec<Listed> = catalog.suites.iter().map(|s| listed(s, &catalog)).collect();
    if json {
        serde_json::to_writer_pretty(&mut out, &items)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    for s in &items {
        let r = &s.rules;
        writeln!(
            out,
            "{} v{} — {} / {}",
            s.id, s.version, s.title.zh, s.title.en
        )?;
        writeln!(
            out,
            "  pass: each call ≥ {}, overall ≥ {}, {} of {} calls; critical: {}",
            r.call_mark,
            r.overall_mark,
            r.calls_required,
            r.total_calls,
            r.critical.join(", ")
        )?;
        for c in &s.calls {
            writeln!(
                out,
                "  {}. {:<17} {} · {}",
                c.index, c.scenario, c.org, c.pickup
            )?;
        }
        writeln!(out, "  sha256 {}", s.sha256)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn check(files: Vec<PathBuf>, prompts: PromptsFlag) -> anyhow::Result<ExitCode> {
    let catalog = Catalog::load(prompts.dir().as_deref()).context("cannot load the scenarios")?;
    let mut problems = Vec::new();
    if files.is_empty() {
        // The whole prompts directory (a scenario a suite needs may be the broken file),
        // then what needs the grader: can each call be passed at all?
        problems.extend(catalog.problems.iter().map(ToString::to_string));
        for s in &catalog.suites {
            problems.extend(suite_problems(s, &catalog));
        }
    } else {
        for path in &files {
            let name = path.display().to_string();
            let src = std::fs::read(path)
                .with_context(|| format!("cannot read suite file {name}"))
                .and_then(|b| {
                    String::from_utf8(b).map_err(|_| {
                        anyhow::anyhow!("{name}:1:1: not valid UTF-8: save it as UTF-8")
                    })
                });
            let src = match src {
                Ok(s) => s,
                Err(e) => {
                    problems.push(super::one_line(&e));
                    continue;
                }
            };
            match parse_suite(&name, &src) {
                Err(p) => problems.extend(p.iter().map(ToString::to_string)),
                Ok(s) => {
                    let cross = s.check_against(&catalog.scenarios);
                    if cross.is_empty() {
                        problems.extend(suite_problems(&s, &catalog));
                    } else {
                        problems.extend(cross.iter().map(ToString::to_string));
                    }
                }
            }
        }
    }
    let mut err = std::io::stderr().lock();
    for p in &problems {
        writeln!(err, "{p}")?;
    }
    if problems.is_empty() {
        let what = if files.is_empty() {
            format!("{} suite(s)", catalog.suites.len())
        } else {
            format!("{} file(s)", files.len())
        };
        println!("ok: {what} checked, no problems");
        Ok(ExitCode::SUCCESS)
    } else {
        writeln!(err, "{} problem(s) found", problems.len())?;
        Ok(ExitCode::from(1))
    }
}
