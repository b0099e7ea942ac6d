//! `ringcoach store`: list attempts, rebuild the index from the files, check (and repair)
//! the store, prune old recordings. The hidden `__soak` command is the child process of the
//! crash test; it records synthetic attempts until it is killed.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};

use super::flags::DataDirFlag;
use crate::store::{
    self, parse_age, AttemptStatus, AttemptSummary, Query, SortKey, Store, StoreError, Timestamp,
    Verdict,
};

#[derive(Debug, clap::Args)]
// `store list --data-dir DIR` reads as well as `store --data-dir DIR list`.
#[command(mut_arg("data_dir", |a| a.global(true)))]
pub struct Args {
    #[command(flatten)]
    pub data_dir: DataDirFlag,
    #[command(subcommand)]
    pub command: StoreCommand,
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// List attempts (newest first), filtered; what the review queue shows.
    List(ListArgs),
    /// Recreate the index from the attempt files.
    Rebuild,
    /// Compare the attempt files with the index; exit 1 if something is wrong.
    Check {
        /// Fix what can be fixed without losing data (re-index, recover unfinished attempts).
        #[arg(long)]
        repair: bool,
        /// Also re-hash every file against meta.json (reads all audio).
        #[arg(long)]
        verify_hashes: bool,
    },
    /// Delete attempts (recordings, transcripts, reports) that started longer ago than AGE.
    Prune {
        /// Age in days or hours, e.g. 90d or 12h.
        #[arg(long, value_name = "AGE", value_parser = age_arg)]
        older_than: std::time::Duration,
        /// Only list what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Upload the attempts (and trainer decisions) that wait for the shared store now; say
    /// how many went and how many wait. Exit 0 when nothing waits, 1 when something does.
    Sync {
        /// Config file with the `[database]` table [default: ~/.config/ringcoach/config.toml].
        #[arg(long, value_name = "FILE")]
        config: Option<std::path::PathBuf>,
    },
    /// Crash-test child: record synthetic attempts until killed.
    #[command(name = "__soak", hide = true)]
    Soak {
        #[arg(long, default_value_t = 0)]
        first_seed: u64,
        #[arg(long, default_value_t = 1_000_000)]
        count: u64,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum VerdictArg {
    Passed,
    Failed,
    Interrupted,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SortArg {
    Started,
    Score,
    Trainee,
    Scenario,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[arg(long)]
    pub trainee: Option<String>,
    /// Scenario id.
    #[arg(long)]
    pub scenario: Option<String>,
    #[arg(long)]
    pub org: Option<String>,
    /// Started at or after: an age (7d, 12h), a date (2026-11-01, local midnight), or an
    /// RFC 3339 time — the syntax of `report --from` and review's `d`.
    #[arg(long, value_name = "WHEN", value_parser = when_arg)]
    pub since: Option<Timestamp>,
    /// Started before: same forms as --since.
    #[arg(long, value_name = "WHEN", value_parser = when_arg)]
    pub until: Option<Timestamp>,
    #[arg(long, value_enum)]
    pub verdict: Option<VerdictArg>,
    /// Only attempts with an uncertain check.
    #[arg(long)]
    pub needs_review: bool,
    /// Only attempts no trainer has marked reviewed.
    #[arg(long)]
    pub unreviewed: bool,
    /// Only attempts whose transcript contains TEXT.
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    #[arg(long, value_enum, default_value = "started")]
    pub sort: SortArg,
    /// Oldest / lowest first.
    #[arg(long)]
    pub asc: bool,
    #[arg(long)]
    pub limit: Option<usize>,
    /// One JSON array of attempt summaries.
    #[arg(long)]
    pub json: bool,
    /// This machine's store even when a shared store is configured (which is read
    /// otherwise: every desk's uploaded attempts a trainer may see); so does --data-dir.
    #[arg(long)]
    pub local: bool,
}

fn age_arg(s: &str) -> Result<std::time::Duration, String> {
    parse_age(s).map_err(|e| e.to_string())
}

fn when_arg(s: &str) -> Result<Timestamp, String> {
    crate::report::when::parse_when(s, Timestamp::now(), &jiff::tz::TimeZone::system())
        .map_err(|e| e.to_string())
}

impl ListArgs {
    pub fn query(&self) -> Query {
        Query {
            trainee: self.trainee.clone(),
            scenario: self.scenario.clone(),
            org: self.org.clone(),
            since: self.since,
            until: self.until,
            verdict: self.verdict.map(|v| match v {
                VerdictArg::Passed => Verdict::Passed,
                VerdictArg::Failed => Verdict::Failed,
                VerdictArg::Interrupted => Verdict::Interrupted,
            }),
            needs_review: self.needs_review.then_some(true),
            reviewed: self.unreviewed.then_some(false),
            text: self.search.clone(),
            sort: match self.sort {
                SortArg::Started => SortKey::Started,
                SortArg::Score => SortKey::Score,
                SortArg::Trainee => SortKey::Trainee,
                SortArg::Scenario => SortKey::Scenario,
            },
            descending: !self.asc,
            limit: self.limit,
            offset: 0,
            ..Query::default()
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let StoreCommand::List(list) = &args.command {
        // A store named on the command line is the one meant.
        if !list.local && args.data_dir.data_dir.is_none() {
            if let Some(code) = super::db::list_shared(list)? {
                return Ok(code);
            }
        }
    }
    let root = args.data_dir.dir()?;
    let rebuilding = matches!(args.command, StoreCommand::Rebuild);
    let store = match Store::open(&root) {
        Ok(s) => s,
        // A damaged index is exactly what rebuild is for: start it afresh.
        Err(StoreError::Index { .. }) if rebuilding => {
            eprintln!("ringcoach: the index is unreadable; recreating it from the files");
            Store::delete_index(&root)?;
            Store::open(&root)?
        }
        Err(e) => {
            return Err(e).with_context(|| format!("opening the store at {}", root.display()))
        }
    };
    super::flags::report_recovery(&store);
    let mut out = io::stdout().lock();
    match args.command {
        StoreCommand::List(list) => {
            let rows = store.list(&list.query())?;
            if list.json {
                serde_json::to_writer_pretty(&mut out, &rows)?;
                writeln!(out)?;
            } else {
                print_table(&mut out, &rows)?;
                let n = match rows.len() {
                    1 => "1 attempt".to_string(),
                    n => format!("{n} attempts"),
                };
                eprintln!("{n} in {}", store.root().display());
                eprintln!("{FLAGS_LEGEND}");
            }
            Ok(ExitCode::SUCCESS)
        }
        StoreCommand::Rebuild => {
            let r = store.rebuild()?;
            writeln!(
                out,
                "indexed {} attempt(s); {} unfinished; {} stale row(s) removed",
                r.indexed, r.unfinished, r.removed_rows
            )?;
            for (path, why) in &r.unreadable {
                writeln!(out, "unreadable: {}: {why}", path.display())?;
            }
            Ok(if r.unreadable.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        StoreCommand::Check {
            repair,
            verify_hashes,
        } => {
            let r = store.check(repair, verify_hashes)?;
            for p in &r.problems {
                let state = if p.repaired { "repaired" } else { "PROBLEM" };
                let id = p.id.as_ref().map(|i| i.to_string()).unwrap_or_default();
                writeln!(out, "{state}: {id} {}: {}", p.path.display(), p.what)?;
            }
            writeln!(
                out,
                "{} attempt(s) checked, {} being recorded, {} problem(s), {} left unrepaired",
                r.attempts,
                r.in_progress,
                r.problems.len(),
                r.unrepaired()
            )?;
            Ok(if r.unrepaired() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        StoreCommand::Prune {
            older_than,
            dry_run,
        } => {
            let cutoff = Timestamp::now().minus(older_than);
            let r = store.prune(cutoff, dry_run)?;
            let verb = if dry_run { "would delete" } else { "deleted" };
            for (id, started) in &r.pruned {
                writeln!(out, "{verb} {id} (started {started})")?;
            }
            writeln!(
                out,
                "{verb} {} attempt(s) started before {cutoff}; {} being recorded skipped; {} kept as certification evidence",
                r.pruned.len(),
                r.skipped_in_progress,
                r.kept_for_sittings
            )?;
            Ok(ExitCode::SUCCESS)
        }
        StoreCommand::Sync { config } => super::db::sync(&store, config.as_deref()),
        StoreCommand::Soak { first_seed, count } => {
            store::soak::run(&store, first_seed, count, &mut out)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// What the FLAGS column says, printed under the table.
pub const FLAGS_LEGEND: &str =
    "FLAGS: ? needs review · R reviewed · O overruled · C transcript corrected · G re-graded";

/// Flags column: `?` needs review, `R` reviewed, `O` overruled, `C` corrected, `G` re-graded.
fn flags(s: &AttemptSummary) -> String {
    [
        (s.needs_review, '?'),
        (s.reviewed, 'R'),
        (s.overrules > 0, 'O'),
        (s.corrected, 'C'),
        (s.regraded, 'G'),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, c)| *c)
    .collect()
}

fn verdict(s: &AttemptSummary) -> &'static str {
    match (s.status, s.passed) {
        (AttemptStatus::Interrupted, _) => "interrupted",
        (_, Some(true)) => "passed",
        (_, Some(false)) => "failed",
        (_, None) => "-",
    }
}

pub fn print_table(out: &mut impl Write, rows: &[AttemptSummary]) -> io::Result<()> {
    writeln!(
        out,
        "ID\tSTARTED (UTC)\tTRAINEE\tSCENARIO\tSCORE\tVERDICT\tSECONDS\tFLAGS"
    )?;
    for s in rows {
        let started = s.started.to_rfc3339();
        writeln!(
            out,
            "{}\t{} {}\t{}\t{}\t{}\t{}\t{:.1}\t{}",
            s.id,
            &started[..10],
            &started[11..19],
            s.trainee,
            s.scenario,
            s.score
                .map(|v| format!("{v:.1}"))
                .unwrap_or_else(|| "-".into()),
            verdict(s),
            s.duration_ms as f64 / 1000.0,
            flags(s)
        )?;
    }
    Ok(())
}
