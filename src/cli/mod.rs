//! The command line. One file per subcommand, each an `Args` struct and a `run()`;
//! `main → run → ExitCode`. Exit codes: 0 passed / ok, 1 not passed (or some batch item
//! failed), 2 usage or input error.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod devices;
pub mod grade;
pub mod models;
pub mod scenarios;
pub mod store;
pub mod transcribe;

/// Exit code for a usage or input error (also what clap uses).
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(name = "ringcoach", version, about = "Phone-etiquette coach: the phone rings, you answer, it grades your reply.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the built-in call situations, or validate scenario files (`scenarios check`).
    Scenarios(scenarios::Args),
    /// Grade a reply given as text (or WAV files) against a scenario's rubric.
    Grade(grade::Args),
    /// Transcribe WAV files with the local Whisper model.
    Transcribe(transcribe::Args),
    /// Fetch, convert, list and verify the speech models.
    Models(models::Args),
    /// List audio input and output devices.
    Devices(devices::Args),
    /// Maintain the attempts store (rebuild, check, prune).
    Store(store::Args),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("ringcoach: error: {}", one_line(&err));
            ExitCode::from(EXIT_USAGE)
        }
    }
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Scenarios(a)) => scenarios::run(a),
        Some(Command::Grade(a)) => grade::run(a),
        Some(Command::Transcribe(a)) => transcribe::run(a),
        Some(Command::Models(a)) => models::run(a),
        Some(Command::Store(a)) => store::run(a),
        Some(Command::Devices(a)) => devices::run(a),
        None => anyhow::bail!("practice is not built yet; try `ringcoach --help`"),
    }
}

/// An error and its causes on one line: "what went wrong: why".
pub fn one_line(err: &anyhow::Error) -> String {
    err.chain().map(|e| e.to_string()).collect::<Vec<_>>().join(": ")
}
