//! `ringcoach config default|path|check`: print the commented default configuration, where
//! the user's file is read from, or whether a file is valid — by the same checks practice
//! makes before it starts (every value in range, the model file there, the ring cadence the
//! phrase book's).

use std::process::ExitCode;

use super::flags::PromptsFlag;
use crate::config;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Print the fully commented default configuration (save it as your config file).
    Default,
    /// Print the path of the user's config file.
    Path,
    /// Check a config file (default: the user's) and say what is wrong with it, as
    /// practice would (against the phrase book of --prompts, if given).
    Check {
        file: Option<std::path::PathBuf>,
        #[command(flatten)]
        prompts: PromptsFlag,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        ConfigCommand::Default => print!("{}", config::DEFAULT_TOML),
        ConfigCommand::Path => match config::default_path() {
            Some(p) => println!("{}", p.display()),
            None => anyhow::bail!("no configuration directory: set HOME or XDG_CONFIG_HOME"),
        },
        ConfigCommand::Check { file, prompts } => {
            let c = config::Config::load(file.as_deref())?;
            let catalog = prompts.load()?;
            c.ring.cadence(catalog.phrasebook.settings.ring_cadence())?;
            match (file, config::default_path()) {
                (Some(f), _) => println!("ok: {}", f.display()),
                (None, Some(p)) if p.exists() => println!("ok: {}", p.display()),
                (None, Some(p)) => {
                    println!("ok: no config file at {}; the defaults apply", p.display())
                }
                (None, None) => println!("ok: no config file; the defaults apply"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
