//! `ringcoach config default|path`: print the commented default configuration, or where
//! the user's file is read from.

use std::process::ExitCode;

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
    /// Check a config file (default: the user's) and say what is wrong with it.
    Check { file: Option<std::path::PathBuf> },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        ConfigCommand::Default => print!("{}", config::DEFAULT_TOML),
        ConfigCommand::Path => match config::default_path() {
            Some(p) => println!("{}", p.display()),
            None => anyhow::bail!("no configuration directory: set HOME or XDG_CONFIG_HOME"),
        },
        ConfigCommand::Check { file } => {
            config::Config::load(file.as_deref())?;
            println!("ok");
        }
    }
    Ok(ExitCode::SUCCESS)
}
