//! `ringcoach review`: the trainer's review screens over the attempts store — the training
//! room's shared store when one is configured (read from the server, decisions recorded
//! there in the trainer's database name), else this machine's. The store, the scenarios and
//! the speakers are opened here, before the terminal is taken over, so a problem (a server
//! that cannot be reached, for one) is one plain line on the console.

use std::process::ExitCode;

use anyhow::Context;

use super::flags::{DataDirFlag, LangFlags, PromptsFlag};
use crate::audio::choice::OutputChoice;
use crate::review::run::{run as run_screens, Attempts, Runtime};
use crate::review::Review;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub data_dir: DataDirFlag,
    /// Your name, kept in the audit log with every overrule, correction and review
    /// (default: $USER; over the shared store, your database user name, the only name the
    /// database records your decisions under).
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
    /// This machine's store even when a shared store is configured (which is reviewed
    /// otherwise); so does --data-dir. Decisions made here go up through the upload queue.
    #[arg(long)]
    pub local: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let lang = args.lang.lang()?;
    let config = super::db::config_for(&args.lang)?;
    // A store named on the command line is the one meant.
    let shared = match args.local || args.data_dir.data_dir.is_some() {
        true => None,
        false => super::db::configured(&config.database)?,
    };
    let Some(settings) = shared else {
        return run_local(args, lang, &config);
    };
    let during = "reviewing the shared store (`review --local` reviews this machine's)";
    let mut pg = super::db::open_shared(&settings)
        .context(during)?
        .reconnecting(settings.clone());
    let user: String = pg
        .client()
        .query_one("SELECT current_user::text", &[])
        .map_err(|e| crate::db::DbError::sql("asking the server who you are", e))
        .context(during)?
        .get(0);
    let trainer = match args.trainer.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() && t != user => anyhow::bail!(
            "--trainer {t}: the shared store records your decisions as {user} (the database user you connect as); leave --trainer out, or connect as {t}"
        ),
        _ => user,
    };
    let catalog = args.prompts.load()?;
    let sink = output(&args.output)?;
    let mut review = Review::new(&trainer, &settings.target(), lang);
    review.sittings_first = args.sittings;
    let rt = Runtime::over(Attempts::Shared(Box::new(pg)), catalog, sink, &trainer);
    run_screens(review, rt).context("review")?;
    Ok(ExitCode::SUCCESS)
}

fn output(name: &str) -> anyhow::Result<Box<dyn crate::audio::playback::AudioSink>> {
    let output: OutputChoice = name.parse().unwrap_or(OutputChoice::Null);
    Ok(output.open()?)
}

/// Review over this machine's store; in a training room, decisions made here go up through
/// the desk's upload queue.
fn run_local(
    args: Args,
    lang: crate::config::Lang,
    config: &crate::config::Config,
) -> anyhow::Result<ExitCode> {
    let trainer = args
        .trainer
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .context("who is reviewing? pass --trainer NAME (or set $USER)")?;
    let store = args.data_dir.open_existing()?;
    let catalog = args.prompts.load()?;
    let sink = output(&args.output)?;
    let mut review = Review::new(&trainer, &store.root().display().to_string(), lang);
    review.sittings_first = args.sittings;
    let uploads = super::practice::start_uploads(config, &store)?;
    let rt = Runtime::new(store, catalog, sink, &trainer);
    run_screens(review, rt).context("review")?;
    if let Some(w) = uploads {
        super::practice::finish_uploads(w);
    }
    Ok(ExitCode::SUCCESS)
}
