//! `ringcoach store`: list attempts, rebuild the index from the files, check (and repair)
//! the store, prune old recordings, grade recordings kept without a grade (`regrade`). The
//! hidden `__soak` command is the child process of the crash test; it records synthetic
//! attempts until it is killed.
//!
//! None of these creates a store: a mistyped `--data-dir` is an error (only recording
//! makes a store). A store nothing may be written to opens read-only: `list` and `check`
//! work, the rest say why they cannot.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};

use super::flags::{DataDirFlag, ModelFlags, PromptsFlag};
use crate::grading::{self, Heard, Org, Pickup};
use crate::scenario::{rubric_sha256, Catalog};
use crate::store::{
    self, parse_age, AttemptId, AttemptStatus, AttemptSummary, Outcome, Query, SortKey, Store,
    StoreError, Timestamp, Verdict,
};
use crate::transcribe::{clip, Transcriber, WhisperConfig, WhisperTranscriber};

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
    /// Grade recordings kept without a grade (interrupted or ungraded): transcribe the
    /// stored audio and grade it with the scenario, organisation and pickup it was
    /// recorded with.
    Regrade {
        /// Attempt ids (`ringcoach store list --verdict ungraded` shows them).
        #[arg(value_name = "ID", required_unless_present = "all")]
        ids: Vec<String>,
        /// Every attempt in the store kept without a grade.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        #[command(flatten)]
        models: ModelFlags,
        #[command(flatten)]
        prompts: PromptsFlag,
        /// The whole time one recording's transcription may take (a busy desk that cut
        /// the call off gives it longer) [default: 10 s + 0.5 s per second of speech].
        #[arg(long, value_name = "SECS", value_parser = super::transcribe::time_limit_arg)]
        time_limit: Option<f64>,
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
    /// Recorded to the end but not graded (transcription cut off): `store regrade` grades it.
    Ungraded,
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
                VerdictArg::Ungraded => Verdict::Ungraded,
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
            if let Some(code) = list_shared(list)? {
                return Ok(code);
            }
        }
    }
    let root = args.data_dir.dir()?;
    let rebuilding = matches!(args.command, StoreCommand::Rebuild);
    // The soak child records into a fresh directory; everything else needs a store.
    let open = if matches!(args.command, StoreCommand::Soak { .. }) {
        Store::open
    } else {
        Store::open_existing
    };
    let store = match open(&root) {
        Ok(s) => s,
        // A damaged index is exactly what rebuild is for: start it afresh.
        Err(e) if rebuilding && e.index_is_damaged() => {
            eprintln!("ringcoach: the index is unreadable; recreating it from the files");
            Store::delete_index(&root)?;
            open(&root)?
        }
        Err(e) => return Err(e.into()),
    };
    if let (store::Access::ReadOnly { cause }, StoreCommand::List(_) | StoreCommand::Check { .. }) =
        (store.access(), &args.command)
    {
        eprintln!(
            "ringcoach: the store at {} is opened for reading only: {cause}",
            root.display()
        );
    }
    super::flags::report_recovery(&store);
    let mut out = io::stdout().lock();
    match args.command {
        StoreCommand::List(list) => {
            let rows = store.list(&list.query())?;
            if list.json {
                serde_json::to_writer_pretty(&mut out, &rows)?;
                writeln!(out)?;
            } else {
                // Names and transcripts are people's text: shown, never obeyed.
                super::out::human(&mut out, |b| print_table(b, &rows))?;
                let n = match rows.len() {
                    1 => "1 attempt".to_string(),
                    n => format!("{n} attempts"),
                };
                eprintln!(
                    "{n} in {}",
                    super::out::escape_controls(&store.root().display().to_string())
                );
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
                super::out::write_human(
                    &mut out,
                    &format!("{state}: {id} {}: {}\n", p.path.display(), p.what),
                )?;
            }
            if !r.quarantined.is_empty() {
                writeln!(
                    out,
                    "set aside (never deleted): {} attempt(s) have damaged files in {}",
                    r.quarantined.len(),
                    root.join("quarantine").display()
                )?;
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
        StoreCommand::Regrade {
            ids,
            all,
            models,
            prompts,
            time_limit,
        } => regrade(&store, &ids, all, &models, &prompts, time_limit, &mut out),
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
        (AttemptStatus::Ungraded, _) => "ungraded",
        (_, Some(true)) => "passed",
        (_, Some(false)) => "failed",
        (_, None) => "-",
    }
}

/// `store list` when a shared store is configured: the same query and table over
/// PostgreSQL, each row with its effective result. None for a single desk.
pub fn list_shared(list: &ListArgs) -> anyhow::Result<Option<ExitCode>> {
    let cfg = crate::config::Config::load(None)?;
    let Some(settings) = super::db::configured(&cfg.database)? else {
        return Ok(None);
    };
    let during = "reading the shared store (`store list --local` lists this machine's)";
    let mut pg = super::db::open_shared(&settings).context(during)?;
    let rows = pg.list(&list.query()).context(during)?;
    let mut out = io::stdout().lock();
    if list.json {
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
    } else {
        print_table(&mut out, &rows)?;
        eprintln!(
            "{} attempt(s) in the shared store {} (--local: this machine's)",
            rows.len(),
            settings.target()
        );
    }
    Ok(Some(ExitCode::SUCCESS))
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

/// `store regrade`: grades each attempt kept without a grade. One that cannot be graded
/// (unknown scenario, transcription cut off again) is reported and the rest go on; the
/// exit code says whether any failed.
fn regrade(
    store: &Store,
    ids: &[String],
    all: bool,
    models: &ModelFlags,
    prompts: &PromptsFlag,
    time_limit: Option<f64>,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let ids: Vec<AttemptId> = if all {
        let mut v = Vec::new();
        for verdict in [Verdict::Ungraded, Verdict::Interrupted] {
            let q = Query {
                verdict: Some(verdict),
                ..Query::default()
            };
            v.extend(store.list(&q)?.into_iter().map(|s| s.id));
        }
        v.sort();
        v
    } else {
        ids.iter()
            .map(|s| AttemptId::parse(s))
            .collect::<Result<_, _>>()?
    };
    if let store::Access::ReadOnly { cause } = store.access() {
        // Said before the model loads: nothing could be saved.
        return Err(StoreError::ReadOnly {
            root: store.root().to_path_buf(),
            cause: *cause,
        }
        .into());
    }
    if ids.is_empty() {
        writeln!(out, "no attempt is waiting for a grade")?;
        return Ok(ExitCode::SUCCESS);
    }
    let catalog = prompts.load()?;
    let (model, vad) = models.resolve()?;
    crate::transcribe::whisper::route_logging();
    let mut cfg = WhisperConfig::new(model, Some(vad));
    if let Some(secs) = time_limit {
        super::transcribe::set_time_limit(&mut cfg, secs);
    }
    let mut whisper = WhisperTranscriber::new(cfg)?;
    let mut failed = 0;
    for id in &ids {
        match grade_stored(store, &catalog, &mut whisper, id) {
            Ok(s) => writeln!(
                out,
                "graded {id}: {} — score {:.0}",
                if s.passed == Some(true) {
                    "PASSED"
                } else {
                    "NOT PASSED"
                },
                s.score.unwrap_or(0.0)
            )?,
            Err(e) => {
                failed += 1;
                eprintln!("ringcoach: error: {id}: {}", super::one_line(&e));
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Transcribes an attempt's stored recording turn by turn and grades it with the scenario,
/// organisation and pickup it was recorded with, then saves the grade with the attempt.
pub fn grade_stored(
    store: &Store,
    catalog: &Catalog,
    transcriber: &mut dyn Transcriber,
    id: &AttemptId,
) -> anyhow::Result<AttemptSummary> {
    let a = store.load(id)?;
    if a.meta.status.is_graded() {
        anyhow::bail!(
            "it already has a grade; a trainer corrects or re-grades it in `ringcoach review`"
        );
    }
    let sc = catalog.get(&a.meta.info.scenario).with_context(|| {
        format!(
            "it was recorded for scenario {:?}, which is not loaded (pass the --prompts directory it came from)",
            a.meta.info.scenario
        )
    })?;
    if rubric_sha256(sc, &catalog.phrasebook) != a.meta.info.rubric_sha256 {
        eprintln!(
            "ringcoach: warning: {id}: the rubric of {} changed since it was recorded; graded with today's",
            sc.id()
        );
    }
    let org = if a.meta.info.org.trim().is_empty() {
        Org::resolve(None, &catalog.org)?
    } else {
        Org::resolve(Some(&a.meta.info.org), &catalog.org)?
    };
    let call = a.meta.call.clone().unwrap_or_default();
    let pickup = match (call.rings, call.pickup_ms) {
        (Some(n), _) => Pickup::Rings(n),
        (None, Some(ms)) => Pickup::AfterMs(ms),
        (None, None) => Pickup::Unknown,
    };
    let pcm = crate::audio::wav::read_wav_limited(&a.audio_path, std::time::Duration::MAX)?;
    let samples = pcm.to_16k()?;
    let whole = [[0, samples.len() as u64]];
    let spans: &[[u64; 2]] = if call.turns.is_empty() {
        &whole
    } else {
        &call.turns
    };
    let mut turns: Vec<Heard> = Vec::new();
    let mut starts = Vec::new();
    for &[start, end] in spans {
        let (start, end) = (start as usize, end as usize);
        let (start, end) = (start.min(samples.len()), end.min(samples.len()));
        // Asked about as at the desk: the same readings decide.
        let (turn, n) = (turns.len(), spans.len());
        let ask = |t: &crate::transcribe::Transcript| {
            grading::questions(sc, &catalog.phrasebook, &org, &turns, turn, n, t)
        };
        let heard = clip::hear_samples_asking(
            transcriber,
            &samples[start..end.max(start)],
            pcm.format,
            &ask,
        )?;
        // Nothing decoded before the limit: still nothing to grade; it stays ungraded.
        if let Some(cut) = &heard.transcript.cut_off {
            if heard.transcript.text.trim().is_empty() {
                anyhow::bail!(
                    "{}, nothing decoded; it stays ungraded: give it longer with --time-limit",
                    cut.describe().1
                );
            }
        }
        starts.push(start);
        turns.push(Heard {
            transcript: heard.transcript,
            facts: Some(heard.facts),
            readings: heard.readings,
        });
    }
    let call = grading::Call { turns, pickup, org };
    let report = call.grade(sc, &catalog.phrasebook);
    let outcome = Outcome {
        transcript: crate::practice::run::merge_turns(
            call.turns.iter().map(|t| &t.transcript),
            &starts,
        ),
        report: serde_json::to_value(&report)?,
        score: f64::from(report.score),
        passed: report.passed,
        needs_review: report
            .checks
            .iter()
            .any(|c| c.verdict == grading::Verdict::Uncertain),
        finished: Timestamp::now(),
    };
    Ok(store.complete(id, outcome)?)
}
