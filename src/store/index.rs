//! The attempts index: a disposable SQLite table of [`AttemptSummary`] rows for listing and
//! filtering. The files are the truth; this is rebuilt from them at will.
//!
//! [`AttemptIndex`] is the narrow seam for a shared PostgreSQL index in a training room: the
//! store only ever upserts, removes, gets, lists ids and queries summaries.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{
    params, Connection, OpenFlags, OptionalExtension, Row, Transaction, TransactionBehavior,
};

use super::id::AttemptId;
use super::model::{AttemptStatus, AttemptSummary, Query, SortKey, Verdict};
use super::time::Timestamp;
use super::StoreError;
use crate::text::sound;

/// 2: the `sound` column (the transcript in toneless pinyin, for searching by sound).
const SCHEMA_VERSION: i64 = 2;

/// What the store needs from an index.
pub trait AttemptIndex {
    fn upsert(&self, row: &AttemptSummary) -> Result<(), StoreError>;
    fn remove(&self, id: &AttemptId) -> Result<(), StoreError>;
    fn get(&self, id: &AttemptId) -> Result<Option<AttemptSummary>, StoreError>;
    fn ids(&self) -> Result<Vec<AttemptId>, StoreError>;
    fn query(&self, q: &Query) -> Result<Vec<AttemptSummary>, StoreError>;
    /// Upserts many rows in one transaction (rebuild, bulk generation).
    fn upsert_many(&self, rows: &[AttemptSummary]) -> Result<(), StoreError>;
}

/// SQLite in WAL mode with a busy timeout, so a practice desk and a trainer's review can use
/// the same data directory at once.
#[derive(Debug)]
pub struct SqliteIndex {
    conn: Connection,
    path: PathBuf,
}

const COLUMNS: &str = "id, status, scenario, rubric_sha256, model, trainee, device, org, \
    started_ms, finished_ms, duration_ms, score, passed, needs_review, reviewed, overrules, \
    corrected, regraded, text";

impl SqliteIndex {
    /// Opens (creating if needed) the index at `path`. `sync` false trades durability of the
    /// index for speed (bulk generation); the files stay the truth either way.
    pub fn open(path: &Path, sync: bool) -> Result<Self, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| index_err(path, e))?;
        let idx = SqliteIndex {
            conn,
            path: path.to_path_buf(),
        };
        idx.init(sync)?;
        idx.check_layout()?;
        Ok(idx)
    }

    /// Opens an existing index without writing anything (a store on a read-only disk, or
    /// someone else's archive). Fails when SQLite cannot read it that way (a WAL index needs
    /// its shared-memory file) or when it is missing or damaged; the caller then indexes the
    /// files in memory instead.
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        let try_open = |target: &str, flags: OpenFlags| -> Result<Self, StoreError> {
            let conn = Connection::open_with_flags(target, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(|e| index_err(path, e))?;
            conn.busy_timeout(Duration::from_secs(30))
                .map_err(|e| index_err(path, e))?;
            let idx = SqliteIndex {
                conn,
                path: path.to_path_buf(),
            };
            let version: i64 = idx
                .conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(|e| idx.err(e))?;
            if version > SCHEMA_VERSION {
                return Err(StoreError::NewerFormat {
                    path: path.to_path_buf(),
                    found: version as u32,
                });
            }
            idx.check_layout()?;
            idx.conn
                .query_row("SELECT count(*) FROM attempts", [], |r| r.get::<_, i64>(0))
                .map_err(|e| idx.err(e))?;
            Ok(idx)
        };
        if !path.is_file() {
            return Err(index_err(
                path,
                rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                    Some("no index file".into()),
                ),
            ));
        }
        let plain = try_open(&path.to_string_lossy(), OpenFlags::SQLITE_OPEN_READ_ONLY);
        if plain.is_ok() {
            return plain;
        }
        // `immutable` reads the file without locks or the shared-memory file, but also
        // without the write-ahead log: only right when no log holds newer rows.
        let wal = path.with_file_name("index.sqlite-wal");
        if std::fs::metadata(&wal).map_or(true, |m| m.len() == 0) {
            let mut uri = String::from("file:");
            for b in path.to_string_lossy().bytes() {
                match b {
                    b'%' | b'?' | b'#' => uri.push_str(&format!("%{b:02X}")),
                    _ => uri.push(b as char),
                }
            }
            uri.push_str("?immutable=1");
            // The path's bytes may not be ASCII; percent-encode those too.
            let uri: String = uri
                .bytes()
                .map(|b| {
                    if b.is_ascii() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            if let Ok(idx) = try_open(
                &uri,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
            ) {
                return Ok(idx);
            }
        }
        plain
    }

    /// An empty index in memory, for a store whose index cannot be read in place.
    pub fn in_memory() -> Result<Self, StoreError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|e| index_err(&path, e))?;
        let idx = SqliteIndex { conn, path };
        idx.create_schema(0)?;
        Ok(idx)
    }

    /// The table must have exactly our columns: an index made by something else is said to
    /// be one, instead of failing later with an SQL error.
    fn check_layout(&self) -> Result<(), StoreError> {
        let cols = (|| -> rusqlite::Result<Vec<String>> {
            let mut st = self.conn.prepare("PRAGMA table_info(attempts)")?;
            let v = st
                .query_map([], |r| r.get::<_, String>(1))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(v)
        })()
        .map_err(|e| self.err(e))?;
        let mut want: Vec<&str> = COLUMNS.split(',').map(str::trim).collect();
        // Schema 2 adds `sound` (see `add_sound`); an index of schema 1 gets it on opening.
        if cols.len() == want.len() + 1 {
            want.push("sound");
        }
        if cols != want {
            return Err(StoreError::IndexLayout {
                path: self.path.clone(),
                detail: if cols.is_empty() {
                    "no attempts table".into()
                } else {
                    format!("its attempts table has the columns {}", cols.join(", "))
                },
            });
        }
        Ok(())
    }

    fn init(&self, sync: bool) -> Result<(), StoreError> {
        let e = |err| index_err(&self.path, err);
        // Generous: a rebuild of a large store in another process holds the write lock for
        // a few seconds; a desk saving an attempt should wait, not fail.
        self.conn.busy_timeout(Duration::from_secs(30)).map_err(e)?;
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(e)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Invalid(format!(
                "{}: SQLite refused WAL mode (got {mode}), which two processes need; put the data directory on a local disk",
                self.path.display()
            )));
        }
        self.conn
            .pragma_update(None, "synchronous", if sync { "NORMAL" } else { "OFF" })
            .map_err(e)?;
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(e)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerFormat {
                path: self.path.clone(),
                found: version as u32,
            });
        }
        let exists: bool = self
            .conn
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'attempts'",
                [],
                |r| r.get(0),
            )
            .map_err(e)?;
        if exists {
            self.check_layout()?;
        }
        self.create_schema(version)
    }

    /// The table and its indexes when missing; then the upgrades from `version`.
    fn create_schema(&self, version: i64) -> Result<(), StoreError> {
        let e = |err| index_err(&self.path, err);
        self.conn
            .execute_batch(
                "BEGIN IMMEDIATE;
             CREATE TABLE IF NOT EXISTS attempts (
                 id TEXT PRIMARY KEY NOT NULL,
                 status TEXT NOT NULL,
                 scenario TEXT NOT NULL,
                 rubric_sha256 TEXT NOT NULL,
                 model TEXT NOT NULL,
                 trainee TEXT NOT NULL,
                 device TEXT NOT NULL,
                 org TEXT NOT NULL,
                 started_ms INTEGER NOT NULL,
                 finished_ms INTEGER,
                 duration_ms INTEGER NOT NULL,
                 score REAL,
                 passed INTEGER,
                 needs_review INTEGER NOT NULL,
                 reviewed INTEGER NOT NULL,
                 overrules INTEGER NOT NULL,
                 corrected INTEGER NOT NULL,
                 regraded INTEGER NOT NULL,
                 text TEXT NOT NULL
             ) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS attempts_started ON attempts(started_ms);
             CREATE INDEX IF NOT EXISTS attempts_trainee ON attempts(trainee, started_ms);
             CREATE INDEX IF NOT EXISTS attempts_scenario ON attempts(scenario, started_ms);
             COMMIT;",
            )
            .map_err(e)?;
        if version < 2 {
            self.add_sound().map_err(e)?;
        }
        Ok(())
    }

    /// Schema 1 → 2: adds the `sound` column and fills it from each row's text (in one
    /// transaction; a new index gets the column here too).
    fn add_sound(&self) -> rusqlite::Result<()> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let has: bool = tx
            .prepare("SELECT 1 FROM pragma_table_info('attempts') WHERE name = 'sound'")?
            .exists([])?;
        if !has {
            tx.execute_batch("ALTER TABLE attempts ADD COLUMN sound TEXT NOT NULL DEFAULT ''")?;
        }
        let rows: Vec<(String, String)> = tx
            .prepare("SELECT id, text FROM attempts")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (id, text) in rows {
            tx.execute(
                "UPDATE attempts SET sound = ?1 WHERE id = ?2",
                params![sound(&text), id],
            )?;
        }
        tx.execute_batch("PRAGMA user_version = 2")?;
        tx.commit()
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        index_err(&self.path, e)
    }

    fn upsert_on(conn: &Connection, r: &AttemptSummary) -> rusqlite::Result<()> {
        conn.prepare_cached(&format!(
            "INSERT OR REPLACE INTO attempts ({COLUMNS}, sound) VALUES \
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
        ))?
        .execute(params![
            r.id.as_str(),
            r.status.as_str(),
            r.scenario,
            r.rubric_sha256,
            r.model,
            r.trainee,
            r.device,
            r.org,
            r.started.unix_ms(),
            r.finished.map(Timestamp::unix_ms),
            r.duration_ms as i64,
            r.score,
            r.passed,
            r.needs_review,
            r.reviewed,
            r.overrules,
            r.corrected,
            r.regraded,
            r.text,
            sound(&r.text),
        ])?;
        Ok(())
    }
}

fn index_err(path: &Path, source: rusqlite::Error) -> StoreError {
    StoreError::Index {
        path: path.to_path_buf(),
        err: source,
    }
}

/// True when the index itself is damaged (or of another layout), so deleting it and
/// recreating it from the files is the cure; a full disk or a busy store is not that.
pub(crate) fn is_damage(err: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode as C;
    match err.sqlite_error_code() {
        Some(C::NotADatabase | C::DatabaseCorrupt | C::SchemaChanged) => true,
        Some(_) => false,
        None => matches!(
            err,
            rusqlite::Error::SqlInputError { .. } | rusqlite::Error::FromSqlConversionFailure(..)
        ),
    }
}

/// An index error as one line that fits its cause: a full disk, a busy store and a
/// read-only one each say what to do; only damage sends the user to `store rebuild`. SQL
/// text is never shown.
pub(crate) fn describe(path: &Path, err: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode as C;
    let p = path.display();
    let detail = match err {
        rusqlite::Error::SqliteFailure(e, Some(msg)) => format!("{msg} ({e})"),
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        other => other.to_string(),
    };
    let detail = detail.split_whitespace().collect::<Vec<_>>().join(" ");
    let full = || path.parent().is_some_and(super::fsio::disk_is_full);
    match err.sqlite_error_code() {
        // On a full disk SQLite often reports the shared-memory file it could not grow, as
        // an I/O error: the free space tells the two apart.
        Some(C::DiskFull) => {
            format!("cannot write the attempts index {p}: the disk is full: free some space on it, then try again")
        }
        Some(C::SystemIoFailure) if full() => {
            format!("cannot write the attempts index {p}: the disk is full: free some space on it, then try again")
        }
        Some(C::DatabaseBusy | C::DatabaseLocked) => format!(
            "the attempts index {p} stayed locked by another ringcoach for 30 s (a long re-index, or a process that hangs); try again when it is done"
        ),
        Some(C::ReadOnly) => format!(
            "cannot write the attempts index {p}: it or its directory is read-only ({detail}); use a writable data directory"
        ),
        Some(C::PermissionDenied | C::AuthorizationForStatementDenied) => format!(
            "no permission to use the attempts index {p}: check who owns the data directory and its permissions"
        ),
        Some(C::CannotOpen) => format!(
            "cannot open the attempts index {p} ({detail}): check that the data directory exists and is readable"
        ),
        Some(C::SystemIoFailure) => format!(
            "the disk failed while using the attempts index {p} ({detail}): check the disk, and that it is not full"
        ),
        _ => format!(
            "the attempts index {p} is damaged ({detail}); run `ringcoach store rebuild` to recreate it from the files"
        ),
    }
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<AttemptSummary> {
    let bad = |i: usize, what: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, what.into())
    };
    let id: String = row.get(0)?;
    let status: String = row.get(1)?;
    Ok(AttemptSummary {
        id: AttemptId::parse(&id).map_err(|e| bad(0, e.to_string()))?,
        status: AttemptStatus::parse(&status).ok_or_else(|| bad(1, status.clone()))?,
        scenario: row.get(2)?,
        rubric_sha256: row.get(3)?,
        model: row.get(4)?,
        trainee: row.get(5)?,
        device: row.get(6)?,
        org: row.get(7)?,
        started: Timestamp::from_unix_ms(row.get(8)?),
        finished: row.get::<_, Option<i64>>(9)?.map(Timestamp::from_unix_ms),
        duration_ms: row.get::<_, i64>(10)? as u64,
        score: row.get(11)?,
        passed: row.get(12)?,
        needs_review: row.get(13)?,
        reviewed: row.get(14)?,
        overrules: row.get(15)?,
        corrected: row.get(16)?,
        regraded: row.get(17)?,
        text: row.get(18)?,
    })
}

/// SQL for a query: the WHERE clause and its parameters, kept apart from execution so the
/// same translation can serve another SQL backend.
pub(crate) fn query_sql(q: &Query) -> (String, Vec<Value>) {
    let mut clauses: Vec<&str> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let mut eq = |col: &'static str, v: &Option<String>, clauses: &mut Vec<&str>| {
        if let Some(v) = v {
            clauses.push(col);
            args.push(Value::Text(v.clone()));
        }
    };
    eq("trainee = ?", &q.trainee, &mut clauses);
    eq("scenario = ?", &q.scenario, &mut clauses);
    eq("org = ?", &q.org, &mut clauses);
    // LIKE is case-insensitive for ASCII; the name's own % and _ are escaped.
    let like_prefix = |v: &str| {
        let mut p = String::new();
        for c in v.chars() {
            if matches!(c, '%' | '_' | '\\') {
                p.push('\\');
            }
            p.push(c);
        }
        p.push('%');
        p
    };
    if let Some(v) = &q.trainee_prefix {
        clauses.push("trainee LIKE ? ESCAPE '\\'");
        args.push(Value::Text(like_prefix(v)));
    }
    if let Some(v) = &q.scenario_prefix {
        clauses.push("scenario LIKE ? ESCAPE '\\'");
        args.push(Value::Text(like_prefix(v)));
    }
    if let Some(v) = &q.sounds_like {
        clauses.push("instr(sound, ?) > 0");
        args.push(Value::Text(sound(v)));
    }
    if let Some(t) = &q.text {
        clauses.push("instr(text, ?) > 0");
        args.push(Value::Text(t.clone()));
    }
    if let Some(t) = q.since {
        clauses.push("started_ms >= ?");
        args.push(Value::Integer(t.unix_ms()));
    }
    if let Some(t) = q.until {
        clauses.push("started_ms < ?");
        args.push(Value::Integer(t.unix_ms()));
    }
    match q.verdict {
        Some(Verdict::Passed) => clauses.push("status = 'finished' AND passed = 1"),
        Some(Verdict::Failed) => clauses.push("status = 'finished' AND passed = 0"),
        Some(Verdict::Interrupted) => clauses.push("status = 'interrupted'"),
        Some(Verdict::Ungraded) => clauses.push("status = 'ungraded'"),
        None => {}
    }
    match q.needs_review {
        Some(true) => clauses.push("needs_review = 1"),
        Some(false) => clauses.push("needs_review = 0"),
        None => {}
    }
    match q.reviewed {
        Some(true) => clauses.push("reviewed = 1"),
        Some(false) => clauses.push("reviewed = 0"),
        None => {}
    }
    let mut sql = format!("SELECT {COLUMNS} FROM attempts");
    if !clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
    }
    let dir = if q.descending { "DESC" } else { "ASC" };
    let key = match q.sort {
        SortKey::Started => "started_ms",
        SortKey::Score => "score",
        SortKey::Trainee => "trainee",
        SortKey::Scenario => "scenario",
    };
    // id breaks ties so equal keys list in a stable, time-ordered way.
    sql.push_str(&format!(" ORDER BY {key} {dir}, id {dir}"));
    if q.limit.is_some() || q.offset > 0 {
        let limit = q
            .limit
            .map(|l| l.min(i64::MAX as usize) as i64)
            .unwrap_or(-1);
        sql.push_str(&format!(" LIMIT {limit} OFFSET {}", q.offset));
    }
    (sql, args)
}

impl AttemptIndex for SqliteIndex {
    fn upsert(&self, row: &AttemptSummary) -> Result<(), StoreError> {
        Self::upsert_on(&self.conn, row).map_err(|e| self.err(e))
    }

    fn remove(&self, id: &AttemptId) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM attempts WHERE id = ?1", [id.as_str()])
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    fn get(&self, id: &AttemptId) -> Result<Option<AttemptSummary>, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM attempts WHERE id = ?1"),
                [id.as_str()],
                from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    fn ids(&self) -> Result<Vec<AttemptId>, StoreError> {
        let run = || -> rusqlite::Result<Vec<AttemptId>> {
            let mut st = self.conn.prepare("SELECT id FROM attempts ORDER BY id")?;
            let ids = st
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(ids
                .iter()
                .filter_map(|s| AttemptId::parse(s).ok())
                .collect())
        };
        run().map_err(|e| self.err(e))
    }

    fn query(&self, q: &Query) -> Result<Vec<AttemptSummary>, StoreError> {
        let (sql, args) = query_sql(q);
        let run = || -> rusqlite::Result<Vec<AttemptSummary>> {
            let mut st = self.conn.prepare_cached(&sql)?;
            let rows = st.query_map(rusqlite::params_from_iter(args.iter()), from_row)?;
            rows.collect()
        };
        run().map_err(|e| self.err(e))
    }

    fn upsert_many(&self, rows: &[AttemptSummary]) -> Result<(), StoreError> {
        let run = || -> rusqlite::Result<()> {
            // Take the write lock up front: a deferred transaction that upgrades later can
            // fail with SQLITE_BUSY without waiting when another process is writing.
            let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
            for r in rows {
                Self::upsert_on(&tx, r)?;
            }
            tx.commit()
        };
        run().map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id_ms: u64, trainee: &str, score: Option<f64>, passed: Option<bool>) -> AttemptSummary {
        let t = std::time::UNIX_EPOCH + Duration::from_millis(1_795_000_000_000 + id_ms);
        AttemptSummary {
            id: AttemptId::generate(t),
            status: if passed.is_some() {
                AttemptStatus::Finished
            } else {
                AttemptStatus::Interrupted
            },
            scenario: "property-greeting".into(),
            rubric_sha256: "ab".repeat(32),
            model: "base".into(),
            trainee: trainee.into(),
            device: "mic".into(),
            org: String::new(),
            started: Timestamp::from_system_time(t),
            finished: passed.map(|_| Timestamp::from_system_time(t)),
            duration_ms: 1500,
            score,
            passed,
            needs_review: score.is_some_and(|s| s < 60.0),
            reviewed: false,
            overrules: 0,
            corrected: false,
            regraded: false,
            text: format!("您好,{trainee}物业"),
        }
    }

    #[test]
    fn round_trips_rows_and_filters() {
        let dir = tempfile::tempdir().unwrap();
        let idx = SqliteIndex::open(&dir.path().join("i.sqlite"), true).unwrap();
        let rows = vec![
            row(1, "王芳", Some(90.0), Some(true)),
            row(2, "李雷", Some(40.0), Some(false)),
            row(3, "王芳", None, None),
        ];
        for r in &rows {
            idx.upsert(r).unwrap();
        }
        assert_eq!(idx.get(&rows[1].id).unwrap().as_ref(), Some(&rows[1]));
        let all = idx.query(&Query::default()).unwrap();
        assert_eq!(all, rows);
        let q = Query {
            trainee: Some("王芳".into()),
            descending: true,
            ..Query::default()
        };
        assert_eq!(
            idx.query(&q).unwrap(),
            vec![rows[2].clone(), rows[0].clone()]
        );
        let q = Query {
            verdict: Some(Verdict::Failed),
            ..Query::default()
        };
        assert_eq!(idx.query(&q).unwrap(), vec![rows[1].clone()]);
        let q = Query {
            verdict: Some(Verdict::Interrupted),
            ..Query::default()
        };
        assert_eq!(idx.query(&q).unwrap(), vec![rows[2].clone()]);
        let q = Query {
            text: Some("李雷物".into()),
            ..Query::default()
        };
        assert_eq!(idx.query(&q).unwrap(), vec![rows[1].clone()]);
        let q = Query {
            needs_review: Some(true),
            ..Query::default()
        };
        assert_eq!(idx.query(&q).unwrap(), vec![rows[1].clone()]);
        let q = Query {
            since: Some(rows[1].started),
            until: Some(rows[2].started),
            ..Query::default()
        };
        assert_eq!(idx.query(&q).unwrap(), vec![rows[1].clone()]);
        let q = Query {
            sort: SortKey::Score,
            descending: true,
            limit: Some(1),
            ..Query::default()
        };
        assert_eq!(idx.query(&q).unwrap(), vec![rows[0].clone()]);
        let q = Query {
            limit: Some(1),
            offset: 1,
            ..Query::default()
        };
        assert_eq!(idx.query(&q).unwrap(), vec![rows[1].clone()]);
        // Text that looks like SQL or LIKE patterns is only ever a parameter.
        let q = Query {
            text: Some("%' OR 1=1 --".into()),
            ..Query::default()
        };
        assert!(idx.query(&q).unwrap().is_empty());

        idx.remove(&rows[0].id).unwrap();
        idx.remove(&rows[2].id).unwrap();
        assert_eq!(idx.ids().unwrap(), vec![rows[1].id.clone()]);
        let mut changed = rows.clone();
        changed[1].reviewed = true;
        idx.upsert_many(&changed).unwrap();
        assert_eq!(idx.query(&Query::default()).unwrap(), changed);
    }

    #[test]
    fn names_match_by_prefix_in_any_case_and_transcripts_by_sound() {
        let dir = tempfile::tempdir().unwrap();
        let idx = SqliteIndex::open(&dir.path().join("i.sqlite"), true).unwrap();
        let mut a = row(1, "Wang.Fang", Some(90.0), Some(true));
        a.text = "您好,广立物业,请问有什么可以帮您?".into();
        let mut b = row(2, "li_na", Some(40.0), Some(false));
        b.scenario = "end-call".into();
        idx.upsert(&a).unwrap();
        idx.upsert(&b).unwrap();
        let ids = |q: Query| -> Vec<AttemptId> {
            idx.query(&q).unwrap().into_iter().map(|r| r.id).collect()
        };
        let q = |f: fn(&mut Query)| {
            let mut q = Query::default();
            f(&mut q);
            q
        };
        assert_eq!(
            ids(q(|q| q.trainee_prefix = Some("wang".into()))),
            [a.id.clone()]
        );
        assert_eq!(
            ids(q(|q| q.trainee_prefix = Some("WANG.F".into()))),
            [a.id.clone()]
        );
        // LIKE's wildcards are the name's own characters here.
        assert!(ids(q(|q| q.trainee_prefix = Some("%".into()))).is_empty());
        assert_eq!(
            ids(q(|q| q.trainee_prefix = Some("li_".into()))),
            [b.id.clone()]
        );
        assert!(ids(q(|q| q.trainee_prefix = Some("lix".into()))).is_empty());
        assert_eq!(
            ids(q(|q| q.scenario_prefix = Some("END".into()))),
            [b.id.clone()]
        );
        // 广利 sounds like 广立; 广 alone is not "an".
        assert_eq!(
            ids(q(|q| q.sounds_like = Some("广利物业".into()))),
            [a.id.clone()]
        );
        assert!(ids(q(|q| q.sounds_like = Some("光明".into()))).is_empty());
    }

    #[test]
    fn an_index_of_schema_1_gains_the_sound_column_from_its_text() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("i.sqlite");
        {
            let c = Connection::open(&p).unwrap();
            c.execute_batch(&format!(
                "CREATE TABLE attempts ({}) WITHOUT ROWID; PRAGMA user_version = 1;",
                COLUMNS
                    .split(", ")
                    .map(|c| if c == "id" {
                        "id TEXT PRIMARY KEY NOT NULL".to_string()
                    } else {
                        c.trim().to_string()
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .unwrap();
            let mut r = row(1, "王芳", Some(90.0), Some(true));
            r.text = "广立物业".into();
            SqliteIndex::upsert_v1(&c, &r);
        }
        let idx = SqliteIndex::open(&p, true).unwrap();
        let q = Query {
            sounds_like: Some("广利".into()),
            ..Query::default()
        };
        assert_eq!(idx.query(&q).unwrap().len(), 1);
        let v: i64 = idx
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
    }

    impl SqliteIndex {
        /// A row as schema 1 stored it (no sound column).
        fn upsert_v1(conn: &Connection, r: &AttemptSummary) {
            conn.execute(
                &format!(
                    "INSERT INTO attempts ({COLUMNS}) VALUES \
                     (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
                ),
                params![
                    r.id.as_str(),
                    r.status.as_str(),
                    r.scenario,
                    r.rubric_sha256,
                    r.model,
                    r.trainee,
                    r.device,
                    r.org,
                    r.started.unix_ms(),
                    r.finished.map(Timestamp::unix_ms),
                    r.duration_ms as i64,
                    r.score,
                    r.passed,
                    r.needs_review,
                    r.reviewed,
                    r.overrules,
                    r.corrected,
                    r.regraded,
                    r.text,
                ],
            )
            .unwrap();
        }
    }

    #[test]
    fn a_damaged_index_says_to_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("i.sqlite");
        std::fs::write(&p, vec![b'x'; 8192]).unwrap();
        let err = SqliteIndex::open(&p, true).unwrap_err().to_string();
        assert!(err.contains("store rebuild"), "{err}");
    }
}
