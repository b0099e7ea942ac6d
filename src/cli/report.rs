//! `ringcoach report`: one trainee's attempts exported as a self-contained HTML page with
//! plots, CSV (per attempt, or per check with --checks) or JSON, written atomically. Times
//! are local (TZ); CSV starts with a UTF-8 byte-order mark unless --no-bom says not to.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use super::flags::{DataDirFlag, LangFlags, PromptsFlag};
use crate::report::{self, html, when};
use crate::store::Timestamp;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("format").required(true).multiple(true).args(["html", "csv", "json"])))]
pub struct Args {
    /// Whose attempts to report.
    #[arg(long, value_name = "NAME")]
    pub trainee: String,
    /// Attempts started on or after this: an age (7d, 12h), a date (2026-11-01, local
    /// midnight) or an RFC 3339 time — as `store list --since` and review's `d`.
    #[arg(long, value_name = "WHEN")]
    pub from: Option<String>,
    /// Attempts started up to this (same forms; a bare date includes the whole day).
    #[arg(long, value_name = "WHEN")]
    pub to: Option<String>,
    /// Write an HTML page with plots (self-contained, printable).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write CSV, one row per attempt with one column per check. It starts with a UTF-8
    /// byte-order mark, so Excel shows Chinese names right (see --no-bom).
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Leave the UTF-8 byte-order mark out of the CSV files (for tools that do not skip it).
    #[arg(long)]
    pub no_bom: bool,
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
    /// For the scenarios' titles and model answers (scenarios that are not built in).
    #[command(flatten)]
    pub prompts: PromptsFlag,
    /// This machine's store even when a shared store is configured (which is read
    /// otherwise); so does --data-dir.
    #[arg(long)]
    pub local: bool,
    /// The language of the HTML page and of the check names and reasons in --checks.
    #[command(flatten)]
    pub lang: LangFlags,
}

/// Where an export goes must be a file in a directory that exists: said before anything is
/// read, in words about that path (not about the data directory).
fn check_target(flag: &str, path: &Path) -> anyhow::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if path.is_dir() {
        anyhow::bail!(
            "{flag} {}: that is a directory; give a file name, like {}",
            path.display(),
            path.join("report").display()
        );
    }
    if !parent.is_dir() {
        anyhow::bail!(
            "{flag} {}: the directory {} does not exist; create it first (mkdir -p {}) or write somewhere else",
            path.display(),
            parent.display(),
            parent.display()
        );
    }
    Ok(())
}

fn write(
    path: &Path,
    render: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    render(&mut buf).with_context(|| format!("render {}", path.display()))?;
    crate::store::fsio::write_atomic(path, &buf, true).map_err(|e| match e {
        // The store's words are about the data directory; this is the user's file.
        crate::store::StoreError::Io { err, .. } => anyhow::anyhow!(
            "cannot write {}: {err}; check that its directory is writable and the disk has space",
            path.display()
        ),
        e => e.into(),
    })?;
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (now, tz) = (Timestamp::now(), jiff::tz::TimeZone::system());
    let from = args
        .from
        .as_deref()
        .map(|s| when::parse_when(s, now, &tz))
        .transpose()
        .context("--from")?;
    let to = args
        .to
        .as_deref()
        .map(|s| when::parse_until(s, now, &tz))
        .transpose()
        .context("--to")?;
    if let (Some(f), Some(t)) = (from, to) {
        if t <= f {
            anyhow::bail!("--to is not after --from: give the range oldest date first");
        }
    }
    for (flag, p) in [
        ("--html", &args.html),
        ("--csv", &args.csv),
        ("--checks", &args.checks),
        ("--json", &args.json),
    ] {
        if let Some(p) = p {
            check_target(flag, p)?;
        }
    }
    let lang = args.lang.lang()?;
    // In a training room the shared store, unless a local one is asked for.
    let shared = match args.local || args.data_dir.data_dir.is_some() {
        true => None,
        false => super::db::configured(&super::db::config_for(&args.lang)?.database)?,
    };
    let mut r = match shared {
        Some(settings) => {
            let mut pg = super::db::open_shared(&settings)
                .context("reading the shared store (`report --local` reads this machine's)")?;
            report::gather(&mut pg, &args.trainee, from, to)?
        }
        None => {
            let mut store = args.data_dir.open_existing()?;
            report::gather(&mut store, &args.trainee, from, to)?
        }
    };
    for (id, why) in &r.skipped {
        eprintln!(
            "ringcoach: warning: attempt {id} left out of the report: {}",
            super::out::escape_controls(why)
        );
    }
    r.generated_at = args.generated_at;
    report::with_scenarios(&mut r, &args.prompts.load()?);
    let style = report::CsvStyle {
        tz: tz.clone(),
        lang,
        bom: !args.no_bom,
    };
    if let Some(p) = &args.html {
        // CSV and JSON keep their field names; the page is in the language asked for.
        let s = report::strings::strings(lang);
        write(p, |w| html::write_html(&r, s, &tz, w))?;
    }
    if let Some(p) = &args.csv {
        write(p, |w| report::write_csv(&r, &style, w))?;
    }
    if let Some(p) = &args.checks {
        write(p, |w| report::write_checks_csv(&r, &style, w))?;
    }
    if let Some(p) = &args.json {
        write(p, |w| report::write_json(&r, w))?;
    }
    let n = match r.attempts.len() {
        1 => "1 attempt".to_string(),
        n => format!("{n} attempts"),
    };
    eprintln!("ringcoach: report for {}: {n}", r.trainee);
    Ok(ExitCode::SUCCESS)
}
