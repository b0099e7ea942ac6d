//! `ringcoach report`: one trainee's attempts exported as a self-contained HTML page with
//! plots, CSV (per attempt, or per check with --checks) or JSON, written atomically.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use super::flags::{DataDirFlag, LangFlags};
use crate::report::{self, html};
use crate::store::Timestamp;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("format").required(true).multiple(true).args(["html", "csv", "json"])))]
pub struct Args {
    /// Whose attempts to report.
    #[arg(long, value_name = "NAME")]
    pub trainee: String,
    /// Attempts started on or after this date (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Attempts started up to this date (a bare date includes the whole day).
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// Write an HTML page with plots (self-contained, printable).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write CSV, one row per attempt with one column per check.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// With --csv: also write one row per check to FILE (long format).
    #[arg(long, value_name = "FILE", requires = "csv")]
    pub checks: Option<PathBuf>,
    /// Write JSON (for learning-management systems).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// A "generated at" text to print in the report (nothing is added unless given, so the
    /// same data gives the same bytes).
    #[arg(long, value_name = "TEXT")]
    pub generated_at: Option<String>,
    #[command(flatten)]
    pub data_dir: DataDirFlag,
    #[command(flatten)]
    pub lang: LangFlags,
}

fn write(
    path: &Path,
    render: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    render(&mut buf).with_context(|| format!("render {}", path.display()))?;
    crate::store::fsio::write_atomic(path, &buf, true)?;
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let from = args
        .from
        .as_deref()
        .map(Timestamp::parse)
        .transpose()
        .context("--from")?;
    let to = args
        .to
        .as_deref()
        .map(report::parse_to)
        .transpose()
        .context("--to")?;
    if let (Some(f), Some(t)) = (from, to) {
        if t <= f {
            anyhow::bail!("--to is not after --from: give the range oldest date first");
        }
    }
    let store = args.data_dir.open_existing()?;
    let mut r = report::gather(&store, &args.trainee, from, to)?;
    for (id, why) in &r.skipped {
        eprintln!(
            "ringcoach: warning: attempt {id} left out of the report: {}",
            super::out::escape_controls(why)
        );
    }
    r.generated_at = args.generated_at;
    if let Some(p) = &args.html {
        // Only an HTML page has words to translate; CSV and JSON keep their field names.
        let s = report::strings::strings(args.lang.lang()?);
        write(p, |w| html::write_html(&r, s, w))?;
    }
    if let Some(p) = &args.csv {
        write(p, |w| report::write_csv(&r, w))?;
    }
    if let Some(p) = &args.checks {
        write(p, |w| report::write_checks_csv(&r, w))?;
    }
    if let Some(p) = &args.json {
        write(p, |w| report::write_json(&r, w))?;
    }
    eprintln!(
        "ringcoach: report for {}: {} attempts",
        r.trainee,
        r.attempts.len()
    );
    Ok(ExitCode::SUCCESS)
}
