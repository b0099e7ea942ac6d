//! `ringcoach models …`: fetch, list, verify and convert the speech models.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::models::{self, Progress};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Convert a CTranslate2 Whisper model directory (model.bin or model.bin.part1/.part2,
    /// vocabulary.txt or vocabulary.json) to a whisper.cpp ggml file.
    #[command(name = "convert-ct2")]
    ConvertCt2 {
        /// The CTranslate2 model directory.
        dir: PathBuf,
        /// The ggml file to write (written atomically).
        out: PathBuf,
    },
    /// Convert Silero VAD's silero_vad_16k.safetensors to whisper.cpp's VAD ggml format.
    #[command(name = "convert-silero")]
    ConvertSilero {
        /// silero_vad_16k.safetensors (from the PyPI silero-vad wheel).
        input: PathBuf,
        /// The ggml file to write (written atomically).
        out: PathBuf,
        /// The Silero VAD version recorded in the header (whisper.cpp only logs it).
        #[arg(long, default_value = "6.2.3")]
        silero_version: String,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut progress = StderrProgress::new();
    match args.command {
        Command::ConvertCt2 { dir, out } => {
            let c = models::convert::convert_ct2_dir(&dir, &out, &mut |p| progress.show(p))
                .with_context(|| format!("converting {}", dir.display()))?;
            progress.done();
            let info = models::validate_ggml(&c.path)?;
            println!("{}  {}  {}", c.path.display(), c.sha256, info.describe());
        }
        Command::ConvertSilero {
            input,
            out,
            silero_version,
        } => {
            let c = models::silero::convert_safetensors_file(
                &input,
                &silero_version,
                &out,
                &mut |p| progress.show(p),
            )?;
            progress.done();
            let info = models::validate_vad(&c.path)?;
            println!("{}  {}  {}", c.path.display(), c.sha256, info.describe());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Progress on stderr: a rewritten line on a terminal, a line per stage otherwise.
pub struct StderrProgress {
    tty: bool,
    last_pct: Option<u64>,
    open_line: bool,
}

impl StderrProgress {
    pub fn new() -> Self {
        StderrProgress {
            tty: std::io::stderr().is_terminal(),
            last_pct: None,
            open_line: false,
        }
    }

    pub fn show(&mut self, p: Progress) {
        let mut err = std::io::stderr().lock();
        match p {
            Progress::Stage(s) => {
                if self.open_line {
                    let _ = writeln!(err);
                    self.open_line = false;
                }
                let _ = writeln!(err, "ringcoach: {s}");
                self.last_pct = None;
            }
            Progress::Step { what, done, total } => {
                let pct = (done * 100).checked_div(total).unwrap_or(100);
                if self.tty {
                    if self.last_pct != Some(pct) {
                        let _ = write!(err, "\rringcoach: {what} {pct:3}%");
                        self.open_line = true;
                    }
                } else if self.last_pct.is_none_or(|l| pct / 25 > l / 25) {
                    // Without a terminal, every 25 % is enough for a log.
                    let _ = writeln!(err, "ringcoach: {what} {pct}%");
                }
                self.last_pct = Some(pct);
            }
        }
    }

    pub fn done(&mut self) {
        if self.open_line {
            let _ = writeln!(std::io::stderr());
            self.open_line = false;
        }
    }
}

impl Default for StderrProgress {
    fn default() -> Self {
        Self::new()
    }
}
