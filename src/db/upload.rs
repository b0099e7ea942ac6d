//! Uploading one attempt, or one trainer decision, in one transaction, idempotent by its id.
//!
//! An attempt is identified by its id and its content by the SHA-256s its `meta.json` lists
//! (`audio.wav`, `transcript.json`, `report.json`). Uploading it again is a no-op reported
//! as [`Uploaded::AlreadyThere`]; the same id with other hashes is a
//! [`Uploaded::Conflict`], reported and never overwritten (the database refuses updates
//! anyway). The files go up byte for byte and the database checks every hash itself.
//!
//! A decision is one line of the attempt's `audit.jsonl`, verbatim; its id is the SHA-256
//! of the attempt id, a newline and that line, so the same decision is one row however often
//! it is sent, and whichever version of ringcoach sends it.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use postgres::Client;
use sha2::{Digest, Sha256};

use super::DbError;
use crate::store::fsio::hex;
use crate::store::model::META_FORMAT;
use crate::store::{AttemptId, AttemptMeta, AttemptStatus, AuditEntry, Timestamp};

pub(crate) const META: &str = "meta.json";
pub(crate) const AUDIO: &str = "audio.wav";
pub(crate) const TRANSCRIPT: &str = "transcript.json";
pub(crate) const REPORT: &str = "report.json";
pub(crate) const AUDIT: &str = "audit.jsonl";
pub(crate) const TRANSCRIPT_CORRECTED: &str = "transcript.corrected.json";
pub(crate) const REPORT_REGRADED: &str = "report.regraded.json";

/// The files the server stores, by the names `meta.json` lists them under.
const STORED: [&str; 3] = [AUDIO, TRANSCRIPT, REPORT];

/// One finished attempt's files as the desk wrote them, each checked against its hash.
#[derive(Clone, PartialEq)]
pub struct AttemptFiles {
    pub meta: AttemptMeta,
    pub meta_json: String,
    pub transcript_json: Option<String>,
    pub report_json: Option<String>,
    pub audio: Vec<u8>,
}

impl std::fmt::Debug for AttemptFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttemptFiles")
            .field("id", &self.meta.id)
            .field("files", &self.meta.files)
            .field("audio_bytes", &self.audio.len())
            .finish_non_exhaustive()
    }
}

impl AttemptFiles {
    /// Reads an attempt directory of the local store. Refuses an unfinished or damaged one
    /// (a file missing or not matching its SHA-256 in `meta.json`), and one listing files
    /// this version does not know how to store.
    pub fn read(dir: &Path) -> Result<AttemptFiles, DbError> {
        let meta_path = dir.join(META);
        let meta_json = fs::read_to_string(&meta_path).map_err(DbError::io("read", &meta_path))?;
        let meta: AttemptMeta = serde_json::from_str(&meta_json).map_err(|e| {
            DbError::Local(format!(
                "{} is damaged ({e}); run `ringcoach store check`",
                meta_path.display()
            ))
        })?;
        if meta.format > META_FORMAT {
            return Err(DbError::Local(format!(
                "{} was written by a newer ringcoach (format {}); upgrade ringcoach",
                meta_path.display(),
                meta.format
            )));
        }
        if dir.file_name().and_then(|n| n.to_str()) != Some(meta.id.as_str()) {
            return Err(DbError::Local(format!(
                "{} names attempt {}, not its directory's; run `ringcoach store check`",
                meta_path.display(),
                meta.id
            )));
        }
        if let Some(other) = meta.files.keys().find(|n| !STORED.contains(&n.as_str())) {
            return Err(DbError::Local(format!(
                "{} lists {other}, which this ringcoach cannot upload; upgrade ringcoach",
                meta_path.display()
            )));
        }
        if !meta.files.contains_key(AUDIO) {
            return Err(DbError::Local(format!(
                "{} lists no audio; run `ringcoach store check`",
                meta_path.display()
            )));
        }
        let mut contents: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
        for (name, want) in &meta.files {
            let p = dir.join(name);
            let bytes = fs::read(&p).map_err(DbError::io("read", &p))?;
            if &sha256_hex(&bytes) != want {
                return Err(DbError::Local(format!(
                    "{} differs from its SHA-256 in meta.json (damaged since it was saved); run `ringcoach store check --repair`",
                    p.display()
                )));
            }
            contents.insert(name.as_str(), bytes);
        }
        let text = |name: &str| -> Result<Option<String>, DbError> {
            contents
                .get(name)
                .map(|b| {
                    String::from_utf8(b.clone()).map_err(|_| {
                        DbError::Local(format!("{} is not UTF-8 JSON", dir.join(name).display()))
                    })
                })
                .transpose()
        };
        Ok(AttemptFiles {
            transcript_json: text(TRANSCRIPT)?,
            report_json: text(REPORT)?,
            audio: contents.remove(AUDIO).unwrap_or_default(),
            meta,
            meta_json,
        })
    }

    pub fn id(&self) -> &AttemptId {
        &self.meta.id
    }

    /// File name → SHA-256, as `meta.json` lists them: what identifies the content.
    pub fn hashes(&self) -> &BTreeMap<String, String> {
        &self.meta.files
    }
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub(crate) fn system_time(t: Timestamp) -> SystemTime {
    let ms = t.unix_ms();
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

/// What an upload found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uploaded {
    /// Stored now.
    Inserted,
    /// The same id with the same content was already there: nothing to do.
    AlreadyThere,
    /// The same id is there with different content (`theirs`), or is there but not visible
    /// to this user (`theirs` None). Nothing was changed; a person must look.
    Conflict {
        theirs: Option<BTreeMap<String, String>>,
    },
}

/// Uploads one finished attempt — meta, transcript, report, audio — in one transaction.
pub fn upload_attempt(client: &mut Client, files: &AttemptFiles) -> Result<Uploaded, DbError> {
    if files.meta.status != AttemptStatus::Finished {
        return Err(DbError::Local(format!(
            "attempt {} is {}, not finished: only finished attempts are uploaded",
            files.id(),
            files.meta.status.as_str()
        )));
    }
    let id = files.id().as_str();
    let during = || format!("uploading attempt {id}");
    let mut tx = client
        .transaction()
        .map_err(|e| DbError::sql(during(), e))?;
    if let Some(theirs) = stored_hashes(&mut tx, id)? {
        return Ok(compare(files.hashes(), theirs));
    }
    let started = system_time(files.meta.info.started);
    let finished = files.meta.finished.map(system_time);
    let n = tx
        .execute(
            "INSERT INTO ringcoach.attempts (id, meta, transcript, report, started, finished) \
             VALUES ($1, $2::text::json, $3::text::json, $4::text::json, $5, $6) \
             ON CONFLICT (id) DO NOTHING",
            &[
                &id,
                &files.meta_json,
                &files.transcript_json,
                &files.report_json,
                &started,
                &finished,
            ],
        )
        .map_err(|e| DbError::sql(during(), e))?;
    if n == 0 {
        // Someone else stored it between our look and our insert, or it is there but this
        // user may not see it.
        let theirs = stored_hashes(&mut tx, id)?;
        return Ok(match theirs {
            Some(t) => compare(files.hashes(), t),
            None => Uploaded::Conflict { theirs: None },
        });
    }
    tx.execute(
        "INSERT INTO ringcoach.audio (attempt_id, sha256, wav) VALUES ($1, $2, $3)",
        &[&id, &files.hashes()[AUDIO], &files.audio],
    )
    .map_err(|e| DbError::sql(during(), e))?;
    tx.commit().map_err(|e| DbError::sql(during(), e))?;
    Ok(Uploaded::Inserted)
}

fn compare(ours: &BTreeMap<String, String>, theirs: BTreeMap<String, String>) -> Uploaded {
    if *ours == theirs {
        Uploaded::AlreadyThere
    } else {
        Uploaded::Conflict {
            theirs: Some(theirs),
        }
    }
}

/// The hashes stored for `id`, if this user can see it.
pub(crate) fn stored_hashes(
    tx: &mut impl postgres::GenericClient,
    id: &str,
) -> Result<Option<BTreeMap<String, String>>, DbError> {
    let row = tx
        .query_opt(
            "SELECT files::text FROM ringcoach.attempts WHERE id = $1",
            &[&id],
        )
        .map_err(|e| DbError::sql(format!("looking up attempt {id}"), e))?;
    row.map(|r| {
        let text: String = r.get(0);
        serde_json::from_str(&text).map_err(|e| {
            DbError::Schema(format!(
                "the database holds unreadable hashes for {id}: {e}"
            ))
        })
    })
    .transpose()
}

/// The id of a decision: SHA-256 of the attempt id, a newline and the audit line.
pub fn decision_id(attempt: &AttemptId, entry_line: &str) -> String {
    let mut h = Sha256::new();
    h.update(attempt.as_str().as_bytes());
    h.update(b"\n");
    h.update(entry_line.as_bytes());
    hex(&h.finalize())
}

/// Uploads one decision: `entry_line` is a line of `audit.jsonl` (an [`AuditEntry`] as JSON),
/// `payload` the corrected transcript or re-graded report it produced, if known. The database
/// takes it only from a trainer signing with their own name, for an attempt it holds.
pub fn upload_decision(
    client: &mut impl postgres::GenericClient,
    attempt: &AttemptId,
    entry_line: &str,
    payload: Option<&str>,
) -> Result<Uploaded, DbError> {
    let entry_line = entry_line.trim_end_matches(['\n', '\r']);
    let entry: AuditEntry = serde_json::from_str(entry_line).map_err(|e| {
        DbError::Local(format!(
            "a decision on {attempt} is not readable ({e}); run `ringcoach store check`"
        ))
    })?;
    let id = decision_id(attempt, entry_line);
    let n = client
        .execute(
            "INSERT INTO ringcoach.decisions (id, attempt_id, entry, payload, time) \
             VALUES ($1, $2, $3::text::json, $4::text::json, $5) ON CONFLICT (id) DO NOTHING",
            &[
                &id,
                &attempt.as_str(),
                &entry_line,
                &payload,
                &system_time(entry.time),
            ],
        )
        .map_err(|e| {
            DbError::sql(
                format!("recording {}'s decision on {attempt}", entry.trainer),
                e,
            )
        })?;
    Ok(if n == 0 {
        Uploaded::AlreadyThere
    } else {
        Uploaded::Inserted
    })
}

/// A trainer's decision made against the database directly (review on the trainer's
/// machine): serialised as the local store writes its audit lines, then as
/// [`upload_decision`].
pub fn record_decision(
    client: &mut impl postgres::GenericClient,
    attempt: &AttemptId,
    entry: &AuditEntry,
    payload: Option<&serde_json::Value>,
) -> Result<Uploaded, DbError> {
    let line = serde_json::to_string(entry).map_err(|e| DbError::Local(e.to_string()))?;
    let payload = payload
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| DbError::Local(e.to_string()))?;
    upload_decision(client, attempt, &line, payload.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_ids_depend_on_attempt_and_exact_line() {
        let a = AttemptId::parse("20261127T085245.123456Z-1a2b3c4d").unwrap();
        let b = AttemptId::parse("20261127T085245.123456Z-1a2b3c4e").unwrap();
        let line =
            r#"{"time":"2026-11-27T09:00:00.000Z","trainer":"li","action":"reviewed","note":""}"#;
        assert_eq!(decision_id(&a, line), decision_id(&a, line));
        assert_ne!(decision_id(&a, line), decision_id(&b, line));
        assert_ne!(decision_id(&a, line), decision_id(&a, &format!("{line} ")));
        assert_eq!(decision_id(&a, line).len(), 64);
    }

    #[test]
    fn timestamps_convert_both_ways() {
        for ms in [0, 1_795_000_000_123, -86_400_001] {
            let t = Timestamp::from_unix_ms(ms);
            assert_eq!(Timestamp::from_system_time(system_time(t)), t);
        }
    }
}
