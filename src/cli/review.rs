//! `ringcoach review`: the trainer's review screens over the attempts store. The store,
//! the scenarios and the speakers are opened here, before the terminal is taken over, so a
//! problem is one plain line on the console.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::practice::LangArg;
use crate::audio::choice::OutputChoice;
use crate::config::{Config, Lang};
use crate::review::run::{run as run_screens, Runtime};
use crate::review::Review;
use crate::scenario::Catalog;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Data directory [default: $RINGCOACH_DATA_DIR, else the XDG data dir + /ringcoach]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Your name, kept in the audit log with every overrule, correction and review
    /// (default: $USER).
    #[arg(long, value_name = "NAME")]
    pub trainer: Option<String>,
    /// Where recordings play: "default", a device name, or "null" for silence.
    #[arg(long, value_name = "DEVICE", default_value = "default")]
    pub output: String,
    /// Extra call situations (needed to re-grade attempts of scenarios that are not built in).
    #[arg(long, value_name = "DIR")]
    pub prompts: Option<PathBuf>,
    /// Language of the screens [default: `lang` in the config file, else zh].
    #[arg(long, value_enum)]
    pub lang: Option<LangArg>,
    /// Config file, read for its `lang` (default: ~/.config/ringcoach/config.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // The config is only read when --lang does not say, so a broken config file does not
    // stand between a trainer and an explicit choice.
    let lang = match args.lang {
        Some(LangArg::Zh) => Lang::Zh,
        Some(LangArg::En) => Lang::En,
        None => Config::load(args.config.as_deref())?.lang,
    };
    let trainer = args
        .trainer
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .context("who is reviewing? pass --trainer NAME (or set $USER)")?;
    let store = super::report::open_existing(args.data_dir)?;
    let prompts = args
        .prompts
        .clone()
        .or_else(|| std::env::var_os(crate::scenario::PROMPTS_ENV).map(PathBuf::from));
    let catalog = Catalog::load(prompts.as_deref())?;
    let output: OutputChoice = args.output.parse().unwrap_or(OutputChoice::Null);
    let sink = output.open()?;
    let review = Review::new(&trainer, &store.root().display().to_string(), lang);
    let rt = Runtime::new(store, catalog, sink, &trainer);
    run_screens(review, rt).context("review")?;
    Ok(ExitCode::SUCCESS)
}
