//! Keeping the store sound: `store rebuild` (the index from the files), `store check`
//! (files against `meta.json` and the index, repairing what is safe), `store prune`
//! (attempts older than a cut-off). All of them walk `attempts/YYYY/MM/DD/<id>/`.
//!
//! `check` parses every JSON file of every attempt and compares every hash in `meta.json`
//! (the audio's only with `verify_hashes`: it reads every recording). With `repair` it
//! mends what it can from what survives and moves what it cannot mend to `quarantine/`,
//! noting it in `meta.json`; nothing is deleted and a grade it can read is never dropped.

use std::fs::{self, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use super::audit::read_audit;
use super::fsio::{self, io_err, sha256_file, write_json_atomic};
use super::recording::Started;
use super::recovery::{report_shape_problem, Recovered};
use super::{
    read_optional, wav_stream, AttemptId, Store, StoreError, Timestamp, AUDIO, AUDIT, META, REPORT,
    REPORT_REGRADED, STARTED, TRANSCRIPT, TRANSCRIPT_CORRECTED,
};
use crate::transcribe::Transcript;

/// A problem found by [`Store::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub id: Option<AttemptId>,
    pub path: PathBuf,
    pub what: String,
    pub repaired: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckReport {
    pub attempts: usize,
    pub in_progress: usize,
    pub problems: Vec<Problem>,
    /// Entries under `quarantine/` (set aside by this or an earlier repair), one per attempt.
    pub quarantined: Vec<PathBuf>,
}

impl CheckReport {
    pub fn unrepaired(&self) -> usize {
        self.problems.iter().filter(|p| !p.repaired).count()
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RebuildReport {
    pub indexed: usize,
    /// Attempt directories without `meta.json` (in progress or awaiting recovery).
    pub unfinished: usize,
    pub removed_rows: usize,
    /// Directories that could not be read, with why; `store check` says more.
    pub unreadable: Vec<(PathBuf, String)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PruneReport {
    /// Deleted (or, in a dry run, would be deleted): id and start time.
    pub pruned: Vec<(AttemptId, Timestamp)>,
    pub skipped_in_progress: usize,
    /// Calls of a certification sitting: the evidence a certificate rests on, never pruned.
    pub kept_for_sittings: usize,
}

/// One attempt directory found by a scan.
struct Found {
    id: AttemptId,
    dir: PathBuf,
}

impl Store {
    /// Is an attempt being recorded right now (its marker is locked by a live process)?
    fn in_progress(&self, id: &AttemptId) -> bool {
        let path = self.root.join("inflight").join(id.as_str());
        match OpenOptions::new().write(true).open(path) {
            Ok(f) => matches!(f.try_lock(), Err(TryLockError::WouldBlock)),
            Err(_) => false,
        }
    }

    /// Every attempt directory, plus anything under `attempts/` that should not be there.
    fn scan(&self) -> Result<(Vec<Found>, Vec<PathBuf>), StoreError> {
        let mut found = Vec::new();
        let mut strays = Vec::new();
        let root = self.root.join("attempts");
        if !root.exists() {
            // A read-only store that never recorded: nothing to scan.
            return Ok((found, strays));
        }
        let list = |d: &Path| -> Result<Vec<(String, PathBuf, bool)>, StoreError> {
            let mut v = Vec::new();
            for e in fs::read_dir(d).map_err(io_err("read", d))? {
                let e = e.map_err(io_err("read", d))?;
                let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
                v.push((
                    e.file_name().to_string_lossy().into_owned(),
                    e.path(),
                    is_dir,
                ));
            }
            v.sort();
            Ok(v)
        };
        let numeric = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        for (y, yp, yd) in list(&root)? {
            if !(yd && numeric(&y, 4)) {
                strays.push(yp);
                continue;
            }
            for (m, mp, md) in list(&yp)? {
                if !(md && numeric(&m, 2)) {
                    strays.push(mp);
                    continue;
                }
                for (d, dp, dd) in list(&mp)? {
                    if !(dd && numeric(&d, 2)) {
                        strays.push(dp);
                        continue;
                    }
                    for (name, path, is_dir) in list(&dp)? {
                        match AttemptId::parse(&name) {
                            Ok(id)
                                if is_dir
                                    && id.rel_dir()
                                        == Path::new(&y).join(&m).join(&d).join(&name) =>
                            {
                                found.push(Found { id, dir: path })
                            }
                            _ => strays.push(path),
                        }
                    }
                }
            }
        }
        Ok((found, strays))
    }

    /// Re-indexes every finished attempt from its files and drops rows whose attempt is
    /// gone. Safe while another process records: rows are upserted, never wiped wholesale.
    pub fn rebuild(&self) -> Result<RebuildReport, StoreError> {
        self.writable()?;
        self.reindex_from_files()
    }

    /// [`Store::rebuild`]'s work, also how a read-only store fills its in-memory index.
    pub(super) fn reindex_from_files(&self) -> Result<RebuildReport, StoreError> {
        let (found, _) = self.scan()?;
        let mut report = RebuildReport::default();
        let mut rows = Vec::with_capacity(found.len());
        for f in &found {
            match self.summarise(&f.id) {
                Ok(Some(s)) => rows.push(s),
                Ok(None) => report.unfinished += 1,
                Err(e) => report.unreadable.push((f.dir.clone(), e.to_string())),
            }
        }
        self.index.upsert_many(&rows)?;
        report.indexed = rows.len();
        let on_disk: std::collections::HashSet<&AttemptId> = found.iter().map(|f| &f.id).collect();
        for id in self.index.ids()? {
            // Re-check the disk: the attempt may have been finished since the scan.
            if !on_disk.contains(&id) && !self.attempt_dir(&id).join(META).exists() {
                self.index.remove(&id)?;
                report.removed_rows += 1;
            }
        }
        Ok(report)
    }

    /// Compares files and index; with `repair`, fixes what can be fixed without losing
    /// data. `verify_hashes` also re-hashes every file against `meta.json` (reads all audio).
    pub fn check(&self, repair: bool, verify_hashes: bool) -> Result<CheckReport, StoreError> {
        if repair {
            self.writable()?;
        }
        let (found, strays) = self.scan()?;
        let mut report = CheckReport::default();
        let problem = |report: &mut CheckReport,
                       id: Option<&AttemptId>,
                       path: &Path,
                       what: String,
                       repaired: bool| {
            report.problems.push(Problem {
                id: id.cloned(),
                path: path.to_path_buf(),
                what,
                repaired,
            })
        };
        for p in strays {
            problem(
                &mut report,
                None,
                &p,
                "not an attempt directory (left alone)".into(),
                false,
            );
        }
        let mut on_disk = std::collections::HashSet::new();
        for f in &found {
            on_disk.insert(f.id.clone());
            if self.in_progress(&f.id) {
                report.in_progress += 1;
                continue;
            }
            report.attempts += 1;
            if !f.dir.join(META).exists() {
                if repair {
                    let what = match self.recover_attempt(&f.id) {
                        Ok(Some(r)) => recovered_words("unfinished", &r),
                        Ok(None) => "unfinished; gone before it could be recovered".into(),
                        Err(e) => {
                            problem(
                                &mut report,
                                Some(&f.id),
                                &f.dir,
                                format!("unfinished and not recoverable: {e}"),
                                false,
                            );
                            continue;
                        }
                    };
                    let marker = self.root.join("inflight").join(f.id.as_str());
                    let _ = fs::remove_file(marker);
                    problem(&mut report, Some(&f.id), &f.dir, what, true);
                } else {
                    problem(
                        &mut report,
                        Some(&f.id),
                        &f.dir,
                        "unfinished (no meta.json); `--repair` recovers it".into(),
                        false,
                    );
                }
                continue;
            }
            self.check_files(f, repair, verify_hashes, &mut report);
        }
        for id in self.index.ids()? {
            if !on_disk.contains(&id) && !self.attempt_dir(&id).exists() {
                if repair {
                    self.index.remove(&id)?;
                }
                problem(
                    &mut report,
                    Some(&id),
                    &self.attempt_dir(&id),
                    "indexed but its files are gone".into(),
                    repair,
                );
            }
        }
        if let Ok(entries) = fs::read_dir(self.root.join("quarantine")) {
            let mut q: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            q.sort();
            report.quarantined = q;
        }
        Ok(report)
    }

    fn check_files(&self, f: &Found, repair: bool, verify_hashes: bool, report: &mut CheckReport) {
        let mut problem = |what: String, path: &Path, repaired: bool| {
            report.problems.push(Problem {
                id: Some(f.id.clone()),
                path: path.to_path_buf(),
                what,
                repaired,
            })
        };
        let meta_path = f.dir.join(META);
        let mut meta = match self.read_meta(&f.id) {
            Ok(m) => m,
            Err(StoreError::Corrupt { path, reason }) if path == meta_path => {
                if !repair {
                    return problem(
                        format!("damaged ({reason}); `--repair` sets it aside and rebuilds it from the other files"),
                        &meta_path,
                        false,
                    );
                }
                return match self.recover_attempt(&f.id) {
                    Ok(Some(r)) => problem(recovered_words("damaged", &r), &meta_path, true),
                    Ok(None) => problem("damaged; the attempt is gone".into(), &meta_path, false),
                    Err(e) => problem(format!("damaged and not rebuilt: {e}"), &meta_path, false),
                };
            }
            Err(e) => return problem(format!("cannot read: {e}"), &meta_path, false),
        };
        if let Ok(entries) = fs::read_dir(&f.dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if fsio::is_temp_name(&name) {
                    let fixed = repair && fs::remove_file(e.path()).is_ok();
                    problem("leftover temporary file".into(), &e.path(), fixed);
                }
            }
        }
        // Every JSON file must parse as what it is, and match its hash where meta.json
        // holds one. What does not is damaged; a repair moves it aside (the grade in
        // meta.json stays: it is readable).
        let mut meta_changed = false;
        // A damaged file left in place is one problem, not a second one from summarising it.
        let mut left_damaged = false;
        for name in [
            STARTED,
            TRANSCRIPT,
            REPORT,
            TRANSCRIPT_CORRECTED,
            REPORT_REGRADED,
        ] {
            let p = f.dir.join(name);
            if !p.exists() {
                continue;
            }
            let damage = match json_problem(&p, name) {
                Some(why) => Some(why),
                None => match meta.files.get(name).map(|want| (want, sha256_file(&p))) {
                    Some((want, Ok(h))) if &h != want => {
                        Some("its content differs from its SHA-256 in meta.json".to_string())
                    }
                    Some((_, Err(e))) => Some(e.to_string()),
                    _ => None,
                },
            };
            let Some(why) = damage else { continue };
            if !repair {
                left_damaged = true;
                problem(
                    format!("damaged: {why}; `--repair` moves it to quarantine/"),
                    &p,
                    false,
                );
                continue;
            }
            match self.set_aside(&f.id, name, &format!("damaged: {why}")) {
                Ok(note) => {
                    let kept = if meta.score.is_some() && name == REPORT {
                        "; the score and verdict in meta.json are kept"
                    } else {
                        ""
                    };
                    problem(
                        format!("damaged: {why}; moved to {}{kept}", note.moved_to),
                        &p,
                        true,
                    );
                    meta.files.remove(name);
                    meta.set_aside.push(note);
                    meta_changed = true;
                }
                Err(e) => problem(
                    format!("damaged: {why}; could not move it aside: {e}"),
                    &p,
                    false,
                ),
            }
        }
        if meta_changed {
            if let Err(e) = write_json_atomic(&meta_path, &meta, self.opts.sync) {
                problem(
                    format!("cannot note the set-aside files: {e}"),
                    &meta_path,
                    false,
                );
            }
        }
        let audio = f.dir.join(AUDIO);
        if audio.exists() {
            match wav_stream::repair(&audio, false) {
                Ok(Some(r)) if r.frames == meta.audio.frames && !r.repaired => {}
                Ok(Some(r)) => problem(
                    format!("WAV holds {} frames (header consistent: {}), meta.json says {}; restore it from a backup", r.frames, !r.repaired, meta.audio.frames),
                    &audio,
                    false,
                ),
                Ok(None) => problem("WAV has no header; restore it from a backup".into(), &audio, false),
                Err(e) => problem(e.to_string(), &audio, false),
            }
        }
        for (name, want) in &meta.files {
            let p = f.dir.join(name);
            if !p.exists() {
                problem("missing; restore it from a backup".into(), &p, false);
            } else if name == AUDIO && verify_hashes {
                match sha256_file(&p) {
                    Ok(h) if &h == want => {}
                    Ok(_) => problem(
                        "content differs from its SHA-256 in meta.json; the recording is left in place (it is the only copy): restore it from a backup".into(),
                        &p,
                        false,
                    ),
                    Err(e) => problem(e.to_string(), &p, false),
                }
            }
        }
        match read_audit(&f.dir) {
            Ok((_, 0)) => {}
            Ok((_, n)) => problem(
                format!("{n} unreadable line(s) (torn by a crash; the rest is intact)"),
                &f.dir.join(AUDIT),
                false,
            ),
            Err(e) => problem(e.to_string(), &f.dir.join(AUDIT), false),
        }
        let want = match self.summarise(&f.id) {
            Ok(Some(s)) => s,
            Ok(None) => return,
            Err(_) if left_damaged => return,
            Err(e) => return problem(format!("cannot summarise: {e}"), &f.dir, false),
        };
        let (what, path) = match self.index.get(&f.id) {
            Ok(Some(row)) if row == want => return,
            Ok(Some(_)) => (
                "index row differs from the files",
                self.root.join("index.sqlite"),
            ),
            Ok(None) => ("not in the index", self.root.join("index.sqlite")),
            Err(e) => return problem(e.to_string(), &self.root.join("index.sqlite"), false),
        };
        let fixed = repair && self.index.upsert(&want).is_ok();
        problem(what.into(), &path, fixed);
    }

    /// Deletes attempts that started before `cutoff` (files and index rows). Attempts
    /// being recorded are skipped. With `dry_run`, only reports what would go.
    pub fn prune(&self, cutoff: Timestamp, dry_run: bool) -> Result<PruneReport, StoreError> {
        if !dry_run {
            self.writable()?;
        }
        let (found, _) = self.scan()?;
        let mut report = PruneReport::default();
        for f in found {
            // The id encodes the creation time, which is never before the start: a quick
            // skip of recent attempts without reading their files.
            let (started, sitting) = match self.read_meta(&f.id) {
                Ok(m) => (m.info.started, m.info.sitting.is_some()),
                Err(_) => match read_optional::<Started>(&f.dir.join(STARTED)) {
                    Ok(Some(s)) => (s.info.started, s.info.sitting.is_some()),
                    // Nothing says when it started: fall back to the id's creation time.
                    _ => (id_time(&f.id), false),
                },
            };
            if started >= cutoff {
                continue;
            }
            if sitting {
                report.kept_for_sittings += 1;
                continue;
            }
            if self.in_progress(&f.id) {
                report.skipped_in_progress += 1;
                continue;
            }
            if !dry_run {
                self.remove_attempt(&f.id)?;
            }
            report.pruned.push((f.id, started));
        }
        Ok(report)
    }
}

impl Store {
    /// Whether `id` is a call of a certification sitting (its evidence: never pruned).
    pub fn is_sitting_evidence(&self, id: &AttemptId) -> bool {
        match self.read_meta(id) {
            Ok(m) => m.info.sitting.is_some(),
            Err(_) => matches!(
                read_optional::<Started>(&self.attempt_dir(id).join(STARTED)),
                Ok(Some(s)) if s.info.sitting.is_some()
            ),
        }
    }

    /// Deletes the local copy of an attempt a shared store holds (the caller has checked
    /// that), as `prune` deletes; a call of a certification sitting is kept (false).
    pub fn remove_uploaded(&self, id: &AttemptId) -> Result<bool, StoreError> {
        if self.is_sitting_evidence(id) {
            return Ok(false);
        }
        self.remove_attempt(id)?;
        Ok(true)
    }
}

/// What a recovery did, in words, after `what` ("unfinished", "damaged").
fn recovered_words(what: &str, r: &Recovered) -> String {
    match r {
        Recovered::Interrupted { frames, .. } => {
            format!("{what}; recovered as interrupted ({frames} frames of audio kept)")
        }
        Recovered::Graded { .. } => {
            format!("{what}; rebuilt from its transcript and report, grade kept")
        }
        Recovered::Removed { .. } => format!("{what} with nothing recorded; removed"),
        Recovered::Reindexed { .. } => format!("{what}; re-indexed"),
        Recovered::Quarantined { moved_to, .. } => format!(
            "{what} and not enough left to make an attempt of; moved to {moved_to}, nothing deleted"
        ),
        Recovered::Failed { reason, .. } => format!("{what}; not recovered: {reason}"),
    }
}

/// Why a stored JSON file does not read as what it is, if it does not.
fn json_problem(path: &Path, name: &str) -> Option<String> {
    match fs::read(path) {
        Ok(bytes) => parse_attempt_file(name, &bytes).err(),
        Err(e) => Some(io_err("read", path)(e).to_string()),
    }
}

/// Reads the bytes of an attempt's JSON file (`meta.json`, `started.json`,
/// `transcript.json`, `report.json`, their corrected and re-graded twins) as `store check`
/// does: Err says why it is not what its name says it is. Never panics, whatever the bytes.
pub fn parse_attempt_file(name: &str, bytes: &[u8]) -> Result<(), String> {
    fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON ({e})"))
    }
    match name {
        META => parse::<super::AttemptMeta>(bytes).map(drop),
        STARTED => parse::<Started>(bytes).map(drop),
        TRANSCRIPT | TRANSCRIPT_CORRECTED => parse::<Transcript>(bytes).map(drop),
        REPORT | REPORT_REGRADED => match report_shape_problem(&parse(bytes)?) {
            Some(why) => Err(why.to_string()),
            None => Ok(()),
        },
        _ => parse::<serde_json::Value>(bytes).map(drop),
    }
}

/// The creation time an id encodes.
fn id_time(id: &AttemptId) -> Timestamp {
    let s = id.as_str();
    let iso = format!(
        "{}-{}-{}T{}:{}:{}.{}Z",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15],
        &s[16..22]
    );
    Timestamp::parse(&iso).unwrap_or(Timestamp::from_unix_ms(0))
}
