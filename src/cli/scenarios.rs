//! `ringcoach scenarios`: list the call situations (`--json` for scripts) and
//! `scenarios check [FILE…]`: validate scenario files, exit 1 on any problem.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use super::flags::PromptsFlag;
use crate::grading::lint::{check_files, model_answer_problems};
use crate::scenario::{Bilingual, Catalog, Direction, Scenario};

#[derive(Debug, clap::Args)]
// `scenarios check --prompts DIR` reads as well as `scenarios --prompts DIR check`.
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
    /// Validate scenario files (or, with none given, the built-ins and the prompts directory);
    /// prints file:line:col for every problem and exits 1 if there is any.
    Check { files: Vec<PathBuf> },
}

/// What a scenario grades, as category names.
pub fn graded(sc: &Scenario) -> Vec<String> {
    let r = &sc.rubric;
    let mut out: Vec<String> = Vec::new();
    for (on, name) in [
        (r.rings, "rings"),
        (r.rings, "late_apology"),
        (r.greeting, "greeting"),
        (r.organisation, "organisation"),
        (r.offer_help, "offer_help"),
        (r.opening_order, "opening_order"),
        (r.politeness.is_some(), "politeness"),
        (true, "banned_phrase"),
        (true, "fillers"),
        (!r.closing.is_empty(), "closing"),
    ] {
        if on {
            out.push(name.to_string());
        }
    }
    out.extend(
        r.must_say
            .iter()
            .map(|m| format!("must_say:{}", m.id.get_ref())),
    );
    if r.manner {
        out.extend(["first_words", "speech_rate", "loudness", "clipping"].map(String::from));
    }
    out
}

#[derive(Serialize)]
struct Listed<'a> {
    id: &'a str,
    title: &'a Bilingual,
    direction: Direction,
    situation: &'a Bilingual,
    caller_turns: &'a [Bilingual],
    graded: Vec<String>,
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
    if json {
        let items: Vec<Listed> = catalog
            .scenarios
            .iter()
            .map(|s| Listed {
                id: s.id(),
                title: &s.title,
                direction: s.direction,
                situation: &s.situation,
                caller_turns: &s.caller_turns,
                graded: graded(s),
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &items)?;
        writeln!(out)?;
    } else {
        // Titles come from files anyone may write: shown, never obeyed.
        super::out::human(&mut out, |out| {
            for s in &catalog.scenarios {
                writeln!(
                    out,
                    "{:<17} {:<8} {} — {}",
                    s.id(),
                    s.direction,
                    s.title.zh,
                    s.title.en
                )?;
                writeln!(out, "{:<17} graded: {}", "", graded(s).join(", "))?;
            }
            Ok(())
        })?;
    }
    Ok(ExitCode::SUCCESS)
}

fn check(files: Vec<PathBuf>, prompts: PromptsFlag) -> anyhow::Result<ExitCode> {
    let problems = if files.is_empty() {
        // The built-ins (which must load) plus the prompts directory, model answers included.
        let catalog =
            Catalog::load(prompts.dir().as_deref()).context("cannot load the scenarios")?;
        let mut problems = catalog.problems.clone();
        for sc in &catalog.scenarios {
            problems.extend(model_answer_problems(&sc.file, &sc.source, sc, &catalog));
        }
        problems
    } else {
        check_files(&files).context("cannot check the scenario files")?
    };
    let mut err = std::io::stderr().lock();
    for p in &problems {
        super::out::write_human(&mut err, &format!("{p}\n"))?;
    }
    if problems.is_empty() {
        let what = if files.is_empty() {
            "the built-in scenarios".to_string()
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
