//! The desk's side of the shared store: its local store is the upload queue.
//!
//! A pass ([`sync_now`], or the [`SyncWorker`] thread every so often and whenever it is
//! nudged) walks the local store's finished attempts, uploads those the server does not
//! have yet (each in one transaction, see [`super::upload`]), then the trainer decisions
//! appended to their `audit.jsonl` since, and finally — only when `keep_uploaded` is set —
//! deletes local copies old enough whose upload the server confirms, hash by hash.
//!
//! What has gone up is remembered in `sync.sqlite` beside the store's index: uploaded ids
//! with the hash of their file list and how much of their audit log has been sent, and the
//! ids of sent decisions. Losing that file costs nothing but time: the next pass finds
//! everything already there.
//!
//! Nothing here blocks the caller: the worker has its own thread and connection; the caller
//! reads a counter. While the server is unreachable the worker backs off exponentially (with
//! jitter, so thirty desks do not all knock at once when it returns), and counts what waits
//! without touching the network. Only finished attempts are uploaded: an interrupted one
//! has no grade yet and stays on the desk.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use postgres::Client;
use rusqlite::{params, Connection, OptionalExtension};

use super::upload::{
    decision_id, sha256_hex, upload_attempt, upload_decision, AttemptFiles, Uploaded, AUDIT,
    REPORT_REGRADED, TRANSCRIPT_CORRECTED,
};
use super::{DbError, DbSettings};
use crate::config::DatabaseConfig;
use crate::store::{
    parse_age, AttemptId, AttemptStatus, AuditAction, AuditEntry, Query, Store, Timestamp,
};

/// The state file, beside the store's `index.sqlite`.
pub const STATE_FILE: &str = "sync.sqlite";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncOptions {
    /// Between passes while all is well (a finished attempt nudges the worker at once).
    pub interval: Duration,
    /// First wait after the server could not be reached; doubles up to `backoff_max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Delete a local copy this long after the attempt started, once the server confirms it
    /// holds it. None (the default): keep every local copy.
    pub keep_uploaded: Option<Duration>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            interval: Duration::from_secs(30),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            keep_uploaded: None,
        }
    }
}

impl SyncOptions {
    pub fn from_config(cfg: &DatabaseConfig) -> Result<SyncOptions, DbError> {
        let keep_uploaded = cfg
            .keep_uploaded
            .as_deref()
            .map(|s| {
                parse_age(s).map_err(|e| DbError::Config(format!("[database] keep_uploaded: {e}")))
            })
            .transpose()?;
        Ok(SyncOptions {
            keep_uploaded,
            ..SyncOptions::default()
        })
    }
}

/// What a pass did and what is left.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncReport {
    /// Attempts stored on the server by this pass.
    pub uploaded: usize,
    /// Attempts found already there with the same content (recorded as uploaded).
    pub already_there: usize,
    /// Decisions stored by this pass.
    pub decisions: usize,
    /// Finished attempts still waiting to go up (conflicts not included).
    pub waiting: usize,
    /// Attempts with decisions still waiting to go up.
    pub decisions_waiting: usize,
    /// Same id, other content on the server: never overwritten, a person must look.
    pub conflicts: Vec<AttemptId>,
    /// Refused for good by the server or unreadable here, with why (one line each).
    pub rejected: Vec<String>,
    /// Local copies deleted after a verified upload and the retention.
    pub pruned: Vec<AttemptId>,
    /// Why the server could not be reached, when it could not.
    pub offline: Option<String>,
}

/// The local record of what has been uploaded.
pub(crate) struct SyncState {
    conn: Connection,
    path: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct UploadedRow {
    files_sha256: String,
    audit_bytes: u64,
}

impl SyncState {
    pub(crate) fn open(root: &Path) -> Result<SyncState, DbError> {
        let path = root.join(STATE_FILE);
        let err = |e: rusqlite::Error| {
            DbError::Local(format!(
                "{}: {e}; delete it and the next sync rebuilds it",
                path.display()
            ))
        };
        let conn = Connection::open(&path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(err)?;
        let _: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(err)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS uploaded (
                 id TEXT PRIMARY KEY NOT NULL,
                 files_sha256 TEXT NOT NULL,
                 uploaded_ms INTEGER NOT NULL,
                 audit_bytes INTEGER NOT NULL DEFAULT 0
             ) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS decisions (
                 id TEXT PRIMARY KEY NOT NULL,
                 attempt_id TEXT NOT NULL
             ) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS conflicts (
                 id TEXT PRIMARY KEY NOT NULL,
                 files_sha256 TEXT NOT NULL,
                 seen_ms INTEGER NOT NULL
             ) WITHOUT ROWID;",
        )
        .map_err(err)?;
        Ok(SyncState { conn, path })
    }

    fn err(&self, e: rusqlite::Error) -> DbError {
        DbError::Local(format!(
            "{}: {e}; delete it and the next sync rebuilds it",
            self.path.display()
        ))
    }

    fn uploaded(&self) -> Result<HashMap<AttemptId, UploadedRow>, DbError> {
        let mut st = self
            .conn
            .prepare("SELECT id, files_sha256, audit_bytes FROM uploaded")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    UploadedRow {
                        files_sha256: r.get(1)?,
                        audit_bytes: r.get::<_, i64>(2)?.max(0) as u64,
                    },
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = HashMap::new();
        for r in rows {
            let (id, row) = r.map_err(|e| self.err(e))?;
            if let Ok(id) = AttemptId::parse(&id) {
                out.insert(id, row);
            }
        }
        Ok(out)
    }

    fn conflicts(&self) -> Result<HashMap<AttemptId, String>, DbError> {
        let mut st = self
            .conn
            .prepare("SELECT id, files_sha256 FROM conflicts")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.err(e))?;
        let mut out = HashMap::new();
        for r in rows {
            let (id, h) = r.map_err(|e| self.err(e))?;
            if let Ok(id) = AttemptId::parse(&id) {
                out.insert(id, h);
            }
        }
        Ok(out)
    }

    fn mark_uploaded(&self, id: &AttemptId, files_sha256: &str) -> Result<(), DbError> {
        self.conn
            .execute(
                "INSERT INTO uploaded (id, files_sha256, uploaded_ms) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (id) DO UPDATE SET files_sha256 = excluded.files_sha256",
                params![id.as_str(), files_sha256, Timestamp::now().unix_ms()],
            )
            .and_then(|_| {
                self.conn
                    .execute("DELETE FROM conflicts WHERE id = ?1", [id.as_str()])
            })
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn mark_conflict(&self, id: &AttemptId, files_sha256: &str) -> Result<(), DbError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO conflicts (id, files_sha256, seen_ms) VALUES (?1, ?2, ?3)",
                params![id.as_str(), files_sha256, Timestamp::now().unix_ms()],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn set_audit_bytes(&self, id: &AttemptId, bytes: u64) -> Result<(), DbError> {
        self.conn
            .execute(
                "UPDATE uploaded SET audit_bytes = ?2 WHERE id = ?1",
                params![id.as_str(), bytes as i64],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn decision_sent(&self, id: &str) -> Result<bool, DbError> {
        self.conn
            .query_row("SELECT 1 FROM decisions WHERE id = ?1", [id], |_| Ok(()))
            .optional()
            .map(|r| r.is_some())
            .map_err(|e| self.err(e))
    }

    fn mark_decision(&self, id: &str, attempt: &AttemptId) -> Result<(), DbError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO decisions (id, attempt_id) VALUES (?1, ?2)",
                params![id, attempt.as_str()],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn decisions_of(&self, attempt: &AttemptId) -> Result<Vec<String>, DbError> {
        let mut st = self
            .conn
            .prepare("SELECT id FROM decisions WHERE attempt_id = ?1")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([attempt.as_str()], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    fn forget(&self, id: &AttemptId) -> Result<(), DbError> {
        self.conn
            .execute("DELETE FROM uploaded WHERE id = ?1", [id.as_str()])
            .and_then(|_| {
                self.conn
                    .execute("DELETE FROM decisions WHERE attempt_id = ?1", [id.as_str()])
            })
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}

/// SHA-256 of an attempt's file list as JSON (the map is ordered, so this is canonical).
fn files_digest(files: &std::collections::BTreeMap<String, String>) -> String {
    sha256_hex(serde_json::to_string(files).unwrap_or_default().as_bytes())
}

/// Things a long-running worker has been told "no" about for good; it does not ask again
/// until it is restarted ([`sync_now`] always asks).
#[derive(Debug, Default)]
struct Refused {
    /// Attempt → why (one line, as reported).
    attempts: HashMap<AttemptId, String>,
    /// Decision id → why.
    decisions: HashMap<String, String>,
    /// Attempts old enough to prune that could not be, with their audit log's length then:
    /// looked at again only when that changes.
    unprunable: HashMap<AttemptId, u64>,
}

impl Refused {
    /// Every pass reports what is still refused, so the last report always says why
    /// something waits.
    fn remind(&self, report: &mut SyncReport) {
        let mut lines: Vec<&String> = self
            .attempts
            .values()
            .chain(self.decisions.values())
            .collect();
        lines.sort();
        for l in lines {
            if !report.rejected.contains(l) {
                report.rejected.push(l.clone());
            }
        }
    }
}

fn audit_len(store: &Store, id: &AttemptId) -> u64 {
    fs::metadata(store.attempt_dir(id).join(AUDIT))
        .map(|m| m.len())
        .unwrap_or(0)
}

/// One audit log's lines that are complete and readable: (line, entry), and how many bytes
/// those complete lines span.
fn read_audit_lines(path: &Path) -> Result<(Vec<(String, AuditEntry)>, u64), DbError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(DbError::io("read", path)(e)),
    };
    // A line still being appended (no newline yet) waits for the next pass.
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut out = Vec::new();
    for line in bytes[..complete].split(|&b| b == b'\n') {
        let Ok(text) = std::str::from_utf8(line) else {
            continue;
        };
        let text = text.trim_end_matches('\r');
        if text.trim().is_empty() {
            continue;
        }
        // A line torn by a crash is unreadable: skipped here, reported by `store check`.
        if let Ok(entry) = serde_json::from_str::<AuditEntry>(text) {
            out.push((text.to_string(), entry));
        }
    }
    Ok((out, complete as u64))
}

/// The file a correction or re-grade produced, if it is still the one this entry made:
/// only the latest of its kind can be, and only when its content agrees with the entry.
fn payload_for(dir: &Path, entry: &AuditEntry, latest_of_kind: bool) -> Option<String> {
    if !latest_of_kind {
        return None;
    }
    match &entry.action {
        AuditAction::Correction { corrected_text, .. } => {
            let text = fs::read_to_string(dir.join(TRANSCRIPT_CORRECTED)).ok()?;
            let t: crate::transcribe::Transcript = serde_json::from_str(&text).ok()?;
            (t.text == *corrected_text).then_some(text)
        }
        AuditAction::Regrade { score, .. } => {
            let text = fs::read_to_string(dir.join(REPORT_REGRADED)).ok()?;
            let v: serde_json::Value = serde_json::from_str(&text).ok()?;
            match v.get("score").and_then(|s| s.as_f64()) {
                Some(s) if (s - score).abs() > 1e-9 => None,
                _ => Some(text),
            }
        }
        _ => None,
    }
}

/// The local picture: finished attempts, which wait, which have unsent decisions.
struct Local {
    finished: Vec<(AttemptId, Timestamp)>,
    uploaded: HashMap<AttemptId, UploadedRow>,
    conflicts: HashMap<AttemptId, String>,
}

impl Local {
    fn read(store: &Store, state: &SyncState) -> Result<Local, DbError> {
        let finished = store
            .list(&Query::default())?
            .into_iter()
            .filter(|s| s.status == AttemptStatus::Finished)
            .map(|s| (s.id, s.started))
            .collect();
        Ok(Local {
            finished,
            uploaded: state.uploaded()?,
            conflicts: state.conflicts()?,
        })
    }

    fn pending(&self) -> impl Iterator<Item = &AttemptId> {
        self.finished
            .iter()
            .map(|(id, _)| id)
            .filter(|id| !self.uploaded.contains_key(*id))
    }

    fn waiting(&self) -> usize {
        self.pending()
            .filter(|id| !self.conflicts.contains_key(*id))
            .count()
    }

    /// Uploaded attempts whose audit log has grown since it was last sent.
    fn with_new_decisions(&self, store: &Store) -> Vec<AttemptId> {
        self.finished
            .iter()
            .filter_map(|(id, _)| {
                let row = self.uploaded.get(id)?;
                (audit_len(store, id) > row.audit_bytes).then(|| id.clone())
            })
            .collect()
    }
}

/// Counts what waits without touching the network.
pub fn waiting(store: &Store) -> Result<usize, DbError> {
    let state = SyncState::open(store.root())?;
    Ok(Local::read(store, &state)?.waiting())
}

/// One pass now, on a fresh connection: what `store sync` runs. An unreachable server is not
/// an error here: the report says so in `offline` and counts what waits.
pub fn sync_now(
    store: &Store,
    settings: &DbSettings,
    opts: &SyncOptions,
) -> Result<SyncReport, DbError> {
    let state = SyncState::open(store.root())?;
    let mut client = None;
    pass(
        store,
        &state,
        settings,
        opts,
        &mut client,
        &mut Refused::default(),
        &|_| {},
    )
}

/// Why a pass stopped talking to the server: it went away. The connection is dropped so the
/// next pass reconnects.
fn went_offline(report: &mut SyncReport, client: &mut Option<Client>, e: DbError) {
    *client = None;
    report.offline = Some(e.to_string());
}

fn pass(
    store: &Store,
    state: &SyncState,
    settings: &DbSettings,
    opts: &SyncOptions,
    client: &mut Option<Client>,
    refused: &mut Refused,
    progress: &dyn Fn(usize),
) -> Result<SyncReport, DbError> {
    let local = Local::read(store, state)?;
    let mut report = SyncReport {
        waiting: local.waiting(),
        ..SyncReport::default()
    };
    progress(report.waiting);
    let mut pending: Vec<AttemptId> = local
        .pending()
        .filter(|id| !refused.attempts.contains_key(*id))
        .cloned()
        .collect();
    pending.sort();
    let mut decisions_due = local.with_new_decisions(store);
    // Old enough to prune once the server confirms it (checked after this pass's uploads).
    let old_enough = |started: &Timestamp| {
        opts.keep_uploaded
            .is_some_and(|keep| *started < Timestamp::now().minus(keep))
    };
    let prunable = |refused: &Refused, id: &AttemptId| {
        refused
            .unprunable
            .get(id)
            .is_none_or(|&len| len != audit_len(store, id))
    };
    let prune_soon = local.finished.iter().any(|(id, started)| {
        old_enough(started) && local.uploaded.contains_key(id) && prunable(refused, id)
    });
    report.decisions_waiting = decisions_due.len();
    refused.remind(&mut report);
    if pending.is_empty() && decisions_due.is_empty() && !prune_soon {
        // Nothing to send: no connection, no traffic.
        return Ok(report);
    }
    if client.is_none() {
        let connected = settings.connect().and_then(|mut c| {
            super::check_schema(&mut c)?;
            Ok(c)
        });
        match connected {
            Ok(c) => *client = Some(c),
            Err(e) => {
                went_offline(&mut report, client, e);
                return Ok(report);
            }
        }
    }

    // Attempts, oldest first.
    for id in pending {
        let Some(c) = client.as_mut() else { break };
        let files = match AttemptFiles::read(&store.attempt_dir(&id)) {
            Ok(f) => f,
            Err(e) => {
                let line = format!("{id}: {e}");
                report.rejected.push(line.clone());
                refused.attempts.insert(id, line);
                continue;
            }
        };
        let digest = files_digest(files.hashes());
        let was_conflict = local.conflicts.contains_key(&id);
        match upload_attempt(c, &files) {
            Ok(outcome @ (Uploaded::Inserted | Uploaded::AlreadyThere)) => {
                state.mark_uploaded(&id, &digest)?;
                if outcome == Uploaded::Inserted {
                    report.uploaded += 1;
                } else {
                    report.already_there += 1;
                }
                if !was_conflict {
                    report.waiting = report.waiting.saturating_sub(1);
                }
                progress(report.waiting);
                decisions_due.push(id);
            }
            Ok(Uploaded::Conflict { .. }) => {
                if !was_conflict {
                    report.waiting = report.waiting.saturating_sub(1);
                    progress(report.waiting);
                }
                state.mark_conflict(&id, &digest)?;
                report.conflicts.push(id);
            }
            Err(e) if e.is_transient() => {
                went_offline(&mut report, client, e);
                return Ok(report);
            }
            Err(e) => {
                let line = format!("{id}: {e}{}", refusal_advice(&e, &files));
                report.rejected.push(line.clone());
                refused.attempts.insert(id, line);
            }
        }
    }

    // Decisions appended since the last pass, for attempts the server holds.
    decisions_due.sort();
    decisions_due.dedup();
    let mut decisions_left = 0;
    for id in &decisions_due {
        let Some(c) = client.as_mut() else { break };
        match send_decisions(store, state, c, id, refused, &mut report) {
            Ok(true) => {}
            Ok(false) => decisions_left += 1,
            Err(e) if e.is_transient() => {
                went_offline(&mut report, client, e);
                report.decisions_waiting = decisions_due.len();
                return Ok(report);
            }
            Err(e) => {
                decisions_left += 1;
                report.rejected.push(format!("{id}: {e}"));
            }
        }
    }
    report.decisions_waiting = decisions_left;

    // Local copies the server confirms, past the retention.
    if opts.keep_uploaded.is_some() {
        let uploaded = state.uploaded()?;
        let due: Vec<&AttemptId> = local
            .finished
            .iter()
            .filter(|(id, started)| {
                old_enough(started) && uploaded.contains_key(id) && prunable(refused, id)
            })
            .map(|(id, _)| id)
            .collect();
        for id in due {
            let Some(c) = client.as_mut() else {
                break;
            };
            let len = audit_len(store, id);
            match prune_one(store, state, c, id) {
                Ok(true) => report.pruned.push(id.clone()),
                Ok(false) => {
                    refused.unprunable.insert(id.clone(), len);
                }
                Err(e) if e.is_transient() => {
                    went_offline(&mut report, client, e);
                    return Ok(report);
                }
                Err(e) => report.rejected.push(format!("{id}: not pruned: {e}")),
            }
        }
    }
    Ok(report)
}

/// What to do when the database refuses an attempt by its rules on who may upload what.
fn refusal_advice(e: &DbError, files: &AttemptFiles) -> String {
    if e.code() != Some("42501") {
        return String::new();
    }
    format!(
        "; an agent may upload only attempts recorded under their own database user name, and this one is {:?}'s: practise under your database user name (--trainee, or trainee in the config), or have a trainer upload it",
        files.meta.info.trainee
    )
}

/// Sends the decisions of one uploaded attempt not sent yet. True when every complete line
/// of its audit log is now on the server.
fn send_decisions(
    store: &Store,
    state: &SyncState,
    c: &mut Client,
    id: &AttemptId,
    refused: &mut Refused,
    report: &mut SyncReport,
) -> Result<bool, DbError> {
    let dir = store.attempt_dir(id);
    let (lines, complete) = read_audit_lines(&dir.join(AUDIT))?;
    let last = |f: fn(&AuditAction) -> bool| lines.iter().rposition(|(_, e)| f(&e.action));
    let last_correction = last(|a| matches!(a, AuditAction::Correction { .. }));
    let last_regrade = last(|a| matches!(a, AuditAction::Regrade { .. }));
    let mut all_sent = true;
    for (i, (line, entry)) in lines.iter().enumerate() {
        let did = decision_id(id, line);
        if state.decision_sent(&did)? {
            continue;
        }
        if refused.decisions.contains_key(&did) {
            all_sent = false;
            continue;
        }
        let latest = Some(i) == last_correction || Some(i) == last_regrade;
        let payload = payload_for(&dir, entry, latest);
        match upload_decision(c, id, line, payload.as_deref()) {
            Ok(outcome) => {
                state.mark_decision(&did, id)?;
                if outcome == Uploaded::Inserted {
                    report.decisions += 1;
                }
            }
            Err(e) if e.is_transient() => return Err(e),
            Err(e) => {
                let line = format!("{id}: {}'s decision: {e}", entry.trainer);
                report.rejected.push(line.clone());
                refused.decisions.insert(did, line);
                all_sent = false;
            }
        }
    }
    if all_sent {
        state.set_audit_bytes(id, complete)?;
    }
    Ok(all_sent)
}

/// Deletes the local copy of `id` if — and only if — every decision on it has been sent
/// and the server confirms, recomputing each hash itself, that it holds exactly these files
/// and those decisions.
fn prune_one(
    store: &Store,
    state: &SyncState,
    c: &mut Client,
    id: &AttemptId,
) -> Result<bool, DbError> {
    if store.is_sitting_evidence(id) {
        return Ok(false); // a certificate rests on it: kept on the desk as well
    }
    let dir = store.attempt_dir(id);
    let audit = dir.join(AUDIT);
    let (lines, complete) = read_audit_lines(&audit)?;
    let len = fs::metadata(&audit).map(|m| m.len()).unwrap_or(0);
    if len != complete {
        return Ok(false); // a line being written, or a torn one: leave it to a person
    }
    let sent: HashSet<String> = state.decisions_of(id)?.into_iter().collect();
    let ids: Vec<String> = lines.iter().map(|(l, _)| decision_id(id, l)).collect();
    if ids.iter().any(|d| !sent.contains(d)) {
        return Ok(false);
    }
    let files = AttemptFiles::read(&dir)?;
    let Some(row) = state.uploaded()?.remove(id) else {
        return Ok(false);
    };
    if row.files_sha256 != files_digest(files.hashes()) {
        return Ok(false);
    }
    let during = || format!("checking attempt {id} on the server before deleting the local copy");
    let r = c
        .query_opt(
            "SELECT a.files::text, \
                    encode(sha256(au.wav), 'hex') = a.audio_sha256, \
                    a.transcript IS NULL OR ringcoach.sha256_hex(a.transcript::text) = a.files ->> 'transcript.json', \
                    a.report IS NULL OR ringcoach.sha256_hex(a.report::text) = a.files ->> 'report.json', \
                    (SELECT count(*) FROM ringcoach.decisions d WHERE d.attempt_id = a.id AND d.id = ANY($2)) \
             FROM ringcoach.attempts a JOIN ringcoach.audio au ON au.attempt_id = a.id \
             WHERE a.id = $1",
            &[&id.as_str(), &ids],
        )
        .map_err(|e| DbError::sql(during(), e))?;
    let Some(r) = r else { return Ok(false) };
    let theirs: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&r.get::<_, String>(0)).unwrap_or_default();
    let confirmed = theirs == *files.hashes()
        && r.get::<_, bool>(1)
        && r.get::<_, bool>(2)
        && r.get::<_, bool>(3)
        && r.get::<_, i64>(4) == ids.len() as i64;
    if !confirmed {
        return Ok(false);
    }
    // The files a correction or a re-grade left must be on the server too.
    for (name, action) in [
        (TRANSCRIPT_CORRECTED, "correction"),
        (REPORT_REGRADED, "regrade"),
    ] {
        let Ok(bytes) = fs::read(dir.join(name)) else {
            continue;
        };
        let held: bool = c
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM ringcoach.decisions WHERE attempt_id = $1 \
                   AND action = $2 AND ringcoach.sha256_hex(payload::text) = $3)",
                &[&id.as_str(), &action, &sha256_hex(&bytes)],
            )
            .map_err(|e| DbError::sql(during(), e))?
            .get(0);
        if !held {
            return Ok(false);
        }
    }
    if !store.remove_uploaded(id)? {
        return Ok(false);
    }
    state.forget(id)?;
    Ok(true)
}

/// The uploader thread of a desk.
pub struct SyncWorker {
    tx: Sender<Msg>,
    shared: Arc<Shared>,
    updates: Receiver<QueueState>,
    done: Receiver<()>,
    handle: Option<JoinHandle<()>>,
}

/// What a desk's screen shows of its upload queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueState {
    /// Finished attempts not on the server yet.
    pub waiting: usize,
    /// The last try to reach the server failed (it is away, or refuses this desk).
    pub offline: bool,
}

enum Msg {
    Nudge,
    Stop,
}

struct Shared {
    waiting: AtomicUsize,
    last: Mutex<Option<SyncReport>>,
    /// The queue as last announced on `updates`: a change is sent once, never repeated.
    shown: Mutex<Option<QueueState>>,
    updates: Sender<QueueState>,
}

impl Shared {
    /// Counts what waits and announces a change (never blocks: the channel is unbounded and
    /// carries only changes).
    fn show(&self, waiting: usize, offline: Option<bool>) {
        self.waiting.store(waiting, Ordering::Relaxed);
        let Ok(mut shown) = self.shown.lock() else {
            return;
        };
        let offline = offline.unwrap_or_else(|| shown.is_some_and(|s| s.offline));
        let now = QueueState { waiting, offline };
        if *shown != Some(now) {
            *shown = Some(now);
            let _ = self.updates.send(now);
        }
    }
}

impl std::fmt::Debug for SyncWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncWorker")
            .field("waiting", &self.waiting())
            .finish_non_exhaustive()
    }
}

impl SyncWorker {
    /// Starts the worker for the store at `root` (which must exist: practice creates it).
    /// It opens its own handle on the store and its own connection; nothing it does waits
    /// on the caller or makes the caller wait.
    pub fn start(
        root: &Path,
        settings: DbSettings,
        opts: SyncOptions,
    ) -> Result<SyncWorker, DbError> {
        if !root.join("attempts").is_dir() {
            return Err(DbError::Local(format!(
                "no attempts store at {}: practice creates it (or set RINGCOACH_DATA_DIR)",
                root.display()
            )));
        }
        let (tx, rx) = crossbeam_channel::unbounded();
        let (done_tx, done) = crossbeam_channel::bounded(1);
        let (updates_tx, updates) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared {
            waiting: AtomicUsize::new(0),
            last: Mutex::new(None),
            shown: Mutex::new(None),
            updates: updates_tx,
        });
        let root = root.to_path_buf();
        let sh = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("ringcoach-sync".into())
            .spawn(move || {
                run(&root, &settings, &opts, &rx, &sh);
                let _ = done_tx.send(());
            })
            .map_err(|e| DbError::Local(format!("cannot start the upload thread: {e}")))?;
        Ok(SyncWorker {
            tx,
            shared,
            updates,
            done,
            handle: Some(handle),
        })
    }

    /// Finished attempts not on the server yet (what the practice screen shows).
    pub fn waiting(&self) -> usize {
        self.shared.waiting.load(Ordering::Relaxed)
    }

    /// Every change of the queue, as it happens (the first once the worker has counted):
    /// for a screen to wait on beside its other channels.
    pub fn updates(&self) -> Receiver<QueueState> {
        self.updates.clone()
    }

    /// The last pass's report.
    pub fn last_report(&self) -> Option<SyncReport> {
        self.shared.last.lock().ok().and_then(|g| g.clone())
    }

    /// Something changed (an attempt finished, a decision was made): look soon. Never
    /// blocks. While the server is away the worker keeps its backoff and only recounts.
    pub fn nudge(&self) {
        let _ = self.tx.send(Msg::Nudge);
    }

    /// One last pass for what was just saved or decided (none while the server is away:
    /// then it only recounts), then stops, waiting up to `timeout`. The last pass's report,
    /// when the worker stopped in time.
    pub fn finish(self, timeout: Duration) -> Option<SyncReport> {
        self.nudge();
        let shared = Arc::clone(&self.shared);
        if !self.stop(timeout) {
            return None;
        }
        shared.last.lock().ok().and_then(|g| g.clone())
    }

    /// Asks the worker to stop and waits up to `timeout` for it (it may be in the middle
    /// of a connect or an upload). True when it has stopped.
    pub fn stop(mut self, timeout: Duration) -> bool {
        let _ = self.tx.send(Msg::Stop);
        let stopped = self.done.recv_timeout(timeout).is_ok();
        if stopped {
            if let Some(h) = self.handle.take() {
                let _ = h.join();
            }
        }
        stopped
    }
}

impl Drop for SyncWorker {
    fn drop(&mut self) {
        // Never wait here: the thread finishes its statement and exits on its own.
        let _ = self.tx.send(Msg::Stop);
    }
}

/// A random factor in [0.75, 1.25) so desks that lost the server together do not return
/// together.
fn jitter(d: Duration) -> Duration {
    let r = std::collections::hash_map::RandomState::new().hash_one(Instant::now()) % 1000;
    d.mul_f64(0.75 + r as f64 / 2000.0)
}

fn run(
    root: &Path,
    settings: &DbSettings,
    opts: &SyncOptions,
    rx: &Receiver<Msg>,
    shared: &Shared,
) {
    let publish = |r: &SyncReport| {
        shared.show(r.waiting, Some(r.offline.is_some()));
        if let Ok(mut g) = shared.last.lock() {
            *g = Some(r.clone());
        }
    };
    let failed = |e: &DbError| {
        log::warn!("upload: {e}");
        publish(&SyncReport {
            waiting: shared.waiting.load(Ordering::Relaxed),
            offline: Some(e.to_string()),
            ..SyncReport::default()
        });
    };
    // Opening the store can race a practice starting beside it; retry, never give up.
    let mut backoff = opts.backoff_min;
    let (store, state) = loop {
        match Store::open(root)
            .map_err(DbError::from)
            .and_then(|s| SyncState::open(root).map(|st| (s, st)))
        {
            Ok(x) => break x,
            Err(e) => failed(&e),
        }
        match rx.recv_timeout(jitter(backoff)) {
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            _ => backoff = (backoff * 2).min(opts.backoff_max),
        }
    };
    let mut client: Option<Client> = None;
    let mut refused = Refused::default();
    let mut logged: HashSet<String> = HashSet::new();
    let mut backoff = opts.backoff_min;
    let progress = |n: usize| shared.show(n, None);
    loop {
        let wait = match pass(
            &store,
            &state,
            settings,
            opts,
            &mut client,
            &mut refused,
            &progress,
        ) {
            Ok(r) => {
                for line in &r.rejected {
                    if logged.insert(line.clone()) {
                        log::warn!("upload refused: {line}");
                    }
                }
                for id in &r.conflicts {
                    if logged.insert(id.to_string()) {
                        log::warn!("upload conflict: attempt {id} is on the server with other content; it was left as it is on both sides");
                    }
                }
                let offline = r.offline.is_some();
                if let Some(e) = &r.offline {
                    log::info!(
                        "upload: server unreachable, retrying in about {}s: {e}",
                        backoff.as_secs()
                    );
                }
                publish(&r);
                if offline {
                    let w = jitter(backoff);
                    backoff = (backoff * 2).min(opts.backoff_max);
                    Some(w)
                } else {
                    backoff = opts.backoff_min;
                    None
                }
            }
            Err(e) => {
                // The local store or the state file: worth retrying too (disk full, locked).
                failed(&e);
                let w = jitter(backoff);
                backoff = (backoff * 2).min(opts.backoff_max);
                Some(w)
            }
        };
        let deadline = Instant::now() + wait.unwrap_or(opts.interval);
        // While backing off, a nudge only recounts (no network); otherwise it starts a pass.
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Msg::Nudge) if wait.is_some() => {
                    if let Ok(local) = Local::read(&store, &state) {
                        shared.show(local.waiting(), None);
                    }
                }
                Ok(Msg::Nudge) => break,
                Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_being_appended_waits_and_a_torn_one_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(AUDIT);
        let good =
            r#"{"time":"2026-11-27T09:00:00.000Z","trainer":"li","action":"reviewed","note":""}"#;
        std::fs::write(&p, format!("{good}\n{{\"time\":\"20\n{good}\n{{\"partial")).unwrap();
        let (lines, complete) = read_audit_lines(&p).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].0, good);
        let whole = std::fs::read(&p).unwrap();
        assert_eq!(complete as usize, whole.len() - "{\"partial".len());
        assert_eq!(
            read_audit_lines(&dir.path().join("none")).unwrap(),
            (Vec::new(), 0)
        );
    }

    #[test]
    fn jitter_stays_within_a_quarter() {
        for _ in 0..100 {
            let j = jitter(Duration::from_secs(100));
            assert!(
                j >= Duration::from_secs(75) && j < Duration::from_secs(125),
                "{j:?}"
            );
        }
    }

    #[test]
    fn retention_comes_from_the_config() {
        let cfg = DatabaseConfig {
            keep_uploaded: Some("30d".into()),
            ..DatabaseConfig::default()
        };
        let o = SyncOptions::from_config(&cfg).unwrap();
        assert_eq!(o.keep_uploaded, Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(
            SyncOptions::from_config(&DatabaseConfig::default())
                .unwrap()
                .keep_uploaded,
            None
        );
        let bad = DatabaseConfig {
            keep_uploaded: Some("30".into()),
            ..DatabaseConfig::default()
        };
        assert!(SyncOptions::from_config(&bad)
            .unwrap_err()
            .to_string()
            .contains("keep_uploaded"));
    }
}
