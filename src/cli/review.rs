//! `ringcoach review`: the trainer's review screens over the attempts store. The store,
//! the scenarios and the speakers are opened here, before the terminal is taken over, so a
//! problem is one plain line on the console.

use std::process::ExitCode;

use anyhow::Context;

use super::flags::{DataDirFlag, LangFlags, PromptsFlag};
use crate::audio::choice::OutputChoice;
use crate::review::run::{run as run_screens, Runtime};
use crate::review::Review;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub data_dir: DataDirFlag,
    /// Your name, kept in the audit log with every overrule, correction and review
    /// (default: $USER).
    #[arg(long, value_name = "NAME")]
    pub trainer: Option<String>,
    /// Where recordings play: "default", a device name, or "null" for silence.
    #[arg(long, value_name = "DEVICE", default_value = "default")]
    pub output: String,
    // Needed to re-grade attempts of scenarios that are not built in.
    #[command(flatten)]
    pub prompts: PromptsFlag,
    #[command(flatten)]
    pub lang: LangFlags,
    /// Start on the certification queue: what is still uncertain in the sittings (also `c`
    /// on the queue).
    #[arg(long)]
    pub sittings: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let lang = args.lang.lang()?;
    let trainer = args
        .trainer
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .context("who is reviewing? pass --trainer NAME (or set $USER)")?;
    let store = args.data_dir.open_existing()?;
    let catalog = args.prompts.load()?;
    let output: OutputChoice = args.output.parse().unwrap_or(OutputChoice::Null);
    let sink = output.open()?;
    let mut review = Review::new(&trainer, &store.root().display().to_string(), lang);
    review.sittings_first = args.sittings;
    // In a training room, decisions made here go up through the desk's upload queue.
    let uploads = super::practice::start_uploads(&super::db::config_for(&args.lang)?, &store)?;
    let rt = Runtime::new(store, catalog, sink, &trainer);
    run_screens(review, rt).context("review")?;
    if let Some(w) = uploads {
        super::practice::finish_uploads(w);
    }
    Ok(ExitCode::SUCCESS)
}
