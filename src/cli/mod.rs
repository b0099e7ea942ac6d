//! The command line. One file per subcommand, each an `Args` struct and a `run()`;
//! `main → run → ExitCode`. The flags several commands share (language and config file,
//! data directory, prompts directory, organisation, models) are groups in [`flags`],
//! flattened into each command that takes them. Only this module (and `main.rs`) imports
//! it: the library's modules return their own errors and this formats them.
//!
//! Exit codes: 0 passed / ok, 1 not passed (or some batch item failed), 2 usage or input
//! error.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod cert;
pub mod config;
pub mod db;
pub mod devices;
pub mod exam;
pub mod flags;
pub mod grade;
pub mod models;
pub mod passphrase;
pub mod practice;
pub mod report;
pub mod review;
pub mod scenarios;
pub mod store;
pub mod suites;
pub mod transcribe;
pub mod verify;

/// Exit code for a usage or input error (also what clap uses).
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "ringcoach",
    version,
    about = "Phone-etiquette coach: the phone rings, you answer, it grades your reply."
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// With no subcommand: practise (see `ringcoach practice --help`).
    #[command(flatten)]
    pub practice: practice::Args,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Practise answering the phone (the default when no subcommand is given).
    Practice(practice::Args),
    /// List the built-in call situations, or validate scenario files (`scenarios check`).
    Scenarios(scenarios::Args),
    /// List the certification suites, or validate suite files (`suites check`).
    Suites(suites::Args),
    /// Grade a reply given as text (or WAV files) against a scenario's rubric.
    Grade(grade::Args),
    /// Transcribe WAV files with the local Whisper model.
    Transcribe(transcribe::Args),
    /// Fetch, convert, list and verify the speech models.
    Models(models::Args),
    /// Print the commented default configuration, or check a config file.
    Config(config::Args),
    /// List audio input and output devices.
    Devices(devices::Args),
    /// The attempts store: list and filter attempts, rebuild the index, check, prune.
    Store(store::Args),
    /// The training room's shared store (PostgreSQL): migrate its schema, add users, status.
    Db(db::Args),
    /// Review recorded attempts: listen, correct, overrule, see progress (trainers).
    Review(review::Args),
    /// Export a trainee's attempts as HTML (with plots), CSV or JSON.
    Report(report::Args),
    /// A certification sitting: the exam screen, or `exam import` of recordings made
    /// elsewhere, `exam list` of the sittings.
    Exam(exam::Args),
    /// Certificates: issuer keys, issuing, revoking, the printable page.
    Cert(cert::Args),
    /// Verify a certificate offline: exit 0 verified, 1 tampered or untrusted, 3 evidence
    /// mismatched or revoked, 2 usage.
    Verify(verify::Args),
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
        Some(Command::Suites(a)) => suites::run(a),
        Some(Command::Grade(a)) => grade::run(a),
        Some(Command::Transcribe(a)) => transcribe::run(a),
        Some(Command::Models(a)) => models::run(a),
        Some(Command::Store(a)) => store::run(a),
        Some(Command::Db(a)) => db::run(a),
        Some(Command::Devices(a)) => devices::run(a),
        Some(Command::Config(a)) => config::run(a),
        Some(Command::Practice(a)) => practice::run(a),
        Some(Command::Review(a)) => review::run(a),
        Some(Command::Report(a)) => report::run(a),
        Some(Command::Exam(a)) => exam::run(a),
        Some(Command::Cert(a)) => cert::run(a),
        Some(Command::Verify(a)) => verify::run(a),
        None => practice::run(cli.practice),
    }
}

/// An error and its causes on one line: "what went wrong: why".
pub fn one_line(err: &anyhow::Error) -> String {
    err.chain()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        // Clap's own checks: no flag defined twice, shared groups flattened cleanly.
        Cli::command().debug_assert();
    }
}
