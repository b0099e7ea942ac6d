//! The command line. One file per subcommand, each an `Args` struct and a `run()`;
//! `main → run → ExitCode`. The flags several commands share (language and config file,
//! data directory, prompts directory, organisation, models) are groups in [`flags`],
//! flattened into each command that takes them. Only this module (and `main.rs`) imports
//! it: the library's modules return their own errors and this formats them.
//!
//! Exit codes: 0 passed / ok; 1 not passed, problems found, or the work could not be done
//! though the input was fine (a transcription cut off on a busy machine, a full disk, a
//! store another process kept busy: try again); 2 usage or input error (the command line,
//! a file given, a config, a scenario). Every error is one line on stderr; a closed pipe
//! (`… | head`) ends the process quietly, as it ends `cat`.

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
pub mod out;
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
/// Exit code for "not passed", and for work that could not be done although the input was
/// fine.
pub const EXIT_FAILED: u8 = 1;

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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            // Help and version are what was asked for: clap prints them as it does.
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::from(e.exit_code() as u8);
            }
            let args: Vec<String> = std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            let root = <Cli as clap::CommandFactory>::command();
            let command = out::command_path(&root, &args);
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                eprintln!(
                    "ringcoach: error: {}",
                    out::missing_command(&root, &command)
                );
                return ExitCode::from(EXIT_USAGE);
            }
            eprintln!(
                "ringcoach: error: {}",
                out::clap_one_line(&e.render().to_string(), &command)
            );
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(err) if out::is_broken_pipe(&err) => out::die_of_broken_pipe(),
        Err(err) => {
            eprintln!("ringcoach: error: {}", one_line(&err));
            ExitCode::from(exit_code(&err))
        }
    }
}

/// 2 for what the user can fix in their input; 1 for work that could not be done although
/// the input was fine (see the module's exit codes).
pub fn exit_code(err: &anyhow::Error) -> u8 {
    use crate::store::StoreError;
    use crate::transcribe::clip::HearError;
    use crate::transcribe::TranscribeError;
    let transcription = |t: &TranscribeError| match t {
        TranscribeError::ModelMissing { .. }
        | TranscribeError::ModelLoad { .. }
        | TranscribeError::VadMissing { .. }
        | TranscribeError::VadLoad { .. } => EXIT_USAGE,
        _ => EXIT_FAILED,
    };
    let store = |s: &StoreError| match s {
        StoreError::Io { err, .. } => match err.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => EXIT_USAGE,
            _ => EXIT_FAILED,
        },
        StoreError::Busy { .. }
        | StoreError::ReadOnly {
            cause: crate::store::ReadOnlyCause::DiskFull,
            ..
        } => EXIT_FAILED,
        StoreError::Index { err, .. } => match err.sqlite_error_code() {
            Some(
                rusqlite::ErrorCode::DiskFull
                | rusqlite::ErrorCode::DatabaseBusy
                | rusqlite::ErrorCode::DatabaseLocked
                | rusqlite::ErrorCode::SystemIoFailure,
            ) => EXIT_FAILED,
            _ => EXIT_USAGE,
        },
        _ => EXIT_USAGE,
    };
    for cause in err.chain() {
        if let Some(t) = cause.downcast_ref::<TranscribeError>() {
            return transcription(t);
        }
        if let Some(h) = cause.downcast_ref::<HearError>() {
            return match h {
                HearError::Transcribe(t) => transcription(t),
                HearError::Wav(_) => EXIT_USAGE,
            };
        }
        if let Some(s) = cause.downcast_ref::<StoreError>() {
            return store(s);
        }
        match cause.downcast_ref::<crate::practice::PracticeError>() {
            Some(crate::practice::PracticeError::Store(s)) => return store(s),
            Some(crate::practice::PracticeError::Transcribe(t)) => return transcription(t),
            _ => {}
        }
    }
    EXIT_USAGE
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Commands that print for a pipe (`ringcoach store list --json | head`) end the way
    // `cat` ends when the reader goes: quietly, by SIGPIPE, instead of an error (or a
    // panic in a print). Not the screens, which own the terminal, nor `models fetch`,
    // which talks to a child process through pipes.
    let prints_for_a_pipe = match &cli.command {
        Some(Command::Practice(_) | Command::Review(_)) | None => false,
        Some(Command::Models(m)) => !matches!(m.command, models::Command::Fetch { .. }),
        Some(_) => true,
    };
    if prints_for_a_pipe {
        // SAFETY: restores the default action of one signal before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
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

/// An error and its causes on one line: "what went wrong: why" (see [`out::one_line`]).
pub fn one_line(err: &anyhow::Error) -> String {
    out::one_line(err)
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
