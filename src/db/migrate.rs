//! The schema: plain SQL files in `migrations/`, embedded in the binary and applied in order
//! by the role that owns the schema — each in its own transaction, recorded in
//! `ringcoach.schema_migrations` with its SHA-256. Running it again does nothing. A database
//! whose schema is newer than this ringcoach is refused, as is one where an applied file
//! has since been edited. Desks never migrate: they call [`check_schema`], which says who
//! must do what when the schema is missing or out of date.
//!
//! Users: [`add_user`] creates a LOGIN role in `ringcoach_agent` or `ringcoach_trainer`.
//! A password is sent as a SCRAM-SHA-256 verifier, so the server (and its statement log)
//! never sees it.

use postgres::Client;

use super::connect::read_password_file;
use super::DbError;

/// The schema every object lives in.
pub const SCHEMA: &str = "ringcoach";
pub const AGENT_GROUP: &str = "ringcoach_agent";
pub const TRAINER_GROUP: &str = "ringcoach_trainer";
/// The oldest server with `security_invoker` views, which row-level security needs here.
const MIN_SERVER_VERSION: i32 = 150_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in order. A new file in `migrations/` goes here too (a test checks).
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_shared_store.sql",
        sql: include_str!("../../migrations/0001_shared_store.sql"),
    },
    Migration {
        version: 2,
        name: "0002_unreviewed_decisions.sql",
        sql: include_str!("../../migrations/0002_unreviewed_decisions.sql"),
    },
];

/// The schema version this ringcoach reads and writes.
pub fn latest_version() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

fn sha256_hex(s: &str) -> String {
    use sha2::{Digest, Sha256};
    crate::store::fsio::hex(&Sha256::digest(s.as_bytes()))
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrateReport {
    /// Files applied by this run, in order (empty: already up to date).
    pub applied: Vec<&'static str>,
    pub version: i32,
}

/// Brings the schema up to date. Run as the role that is to own the schema (the first run
/// creates the schema and makes the caller its owner); anyone else is refused.
pub fn migrate(client: &mut Client) -> Result<MigrateReport, DbError> {
    check_server(client)?;
    let mut tx = client
        .transaction()
        .map_err(|e| DbError::sql("starting the migration", e))?;
    // One migrator at a time; a second waits here, then finds the work done.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('ringcoach.migrate'))",
        &[],
    )
    .map_err(|e| DbError::sql("waiting for another migration", e))?;
    let owner: Option<String> = tx
        .query_opt(
            "SELECT pg_get_userbyid(nspowner)::text FROM pg_namespace WHERE nspname = $1",
            &[&SCHEMA],
        )
        .map_err(|e| DbError::sql("reading the schema's owner", e))?
        .map(|r| r.get(0));
    let me: String = tx
        .query_one("SELECT current_user::text", &[])
        .map_err(|e| DbError::sql("asking who we are", e))?
        .get(0);
    match owner {
        Some(o) if o != me => {
            return Err(DbError::Schema(format!(
                "schema {SCHEMA} belongs to {o}, not {me}: run `ringcoach db migrate` as {o}"
            )))
        }
        Some(_) => {}
        None => {
            tx.batch_execute(&format!("CREATE SCHEMA {SCHEMA}"))
                .map_err(|e| owner_error("creating the schema", e, &me))?;
        }
    }
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_migrations (
             version integer PRIMARY KEY,
             name text NOT NULL,
             sha256 text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now(),
             applied_by text NOT NULL DEFAULT current_user)"
    ))
    .map_err(|e| DbError::sql("creating schema_migrations", e))?;
    tx.commit()
        .map_err(|e| DbError::sql("creating schema_migrations", e))?;

    let mut report = MigrateReport::default();
    for m in MIGRATIONS {
        let mut tx = client
            .transaction()
            .map_err(|e| DbError::sql("starting a migration", e))?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('ringcoach.migrate'))",
            &[],
        )
        .map_err(|e| DbError::sql("waiting for another migration", e))?;
        let applied = applied_migrations(&mut tx)?;
        check_applied(&applied)?;
        if applied.iter().any(|(v, _, _)| *v == m.version) {
            continue;
        }
        tx.batch_execute(&format!(
            "SET LOCAL search_path TO {SCHEMA}, pg_catalog; SET LOCAL lock_timeout = '30s'"
        ))
        .map_err(|e| DbError::sql("preparing a migration", e))?;
        tx.batch_execute(m.sql)
            .map_err(|e| owner_error(&format!("applying {}", m.name), e, &me))?;
        tx.execute(
            &format!("INSERT INTO {SCHEMA}.schema_migrations (version, name, sha256) VALUES ($1, $2, $3)"),
            &[&m.version, &m.name, &sha256_hex(m.sql)],
        )
        .map_err(|e| DbError::sql("recording a migration", e))?;
        tx.commit()
            .map_err(|e| DbError::sql(format!("committing {}", m.name), e))?;
        report.applied.push(m.name);
    }
    report.version = latest_version();
    Ok(report)
}

/// A permission problem while migrating becomes advice on which role should do it.
fn owner_error(during: &str, e: postgres::Error, me: &str) -> DbError {
    let err = DbError::sql(during, e);
    match err.code() {
        Some("42501") => DbError::Schema(format!(
            "{err}; migrate as the role that is to own the schema: one that may create in this database and has CREATEROLE (as a superuser: CREATE ROLE ringcoach_owner LOGIN CREATEROLE; GRANT CREATE ON DATABASE ... TO ringcoach_owner) — {me} may not"
        )),
        _ => err,
    }
}

fn check_server(client: &mut Client) -> Result<(), DbError> {
    let row = client
        .query_one(
            "SELECT current_setting('server_version_num')::int, \
                    pg_encoding_to_char(encoding)::text \
             FROM pg_database WHERE datname = current_database()",
            &[],
        )
        .map_err(|e| DbError::sql("checking the server", e))?;
    let (version, encoding): (i32, String) = (row.get(0), row.get(1));
    if version < MIN_SERVER_VERSION {
        return Err(DbError::Schema(format!(
            "PostgreSQL {}.{} is too old: the shared store needs 15 or newer (security_invoker views)",
            version / 10_000,
            version % 10_000
        )));
    }
    if encoding != "UTF8" {
        return Err(DbError::Schema(format!(
            "the database's encoding is {encoding}: the shared store needs UTF8 (CREATE DATABASE ... ENCODING 'UTF8' TEMPLATE template0)"
        )));
    }
    Ok(())
}

type Applied = Vec<(i32, String, String)>;

fn applied_migrations(tx: &mut postgres::Transaction<'_>) -> Result<Applied, DbError> {
    Ok(tx
        .query(
            &format!(
                "SELECT version, name, sha256 FROM {SCHEMA}.schema_migrations ORDER BY version"
            ),
            &[],
        )
        .map_err(|e| DbError::sql("reading schema_migrations", e))?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// Refuses a schema newer than ours, and applied files that differ from ours.
fn check_applied(applied: &Applied) -> Result<(), DbError> {
    for (version, name, sha) in applied {
        match MIGRATIONS.iter().find(|m| m.version == *version) {
            None if *version > latest_version() => {
                return Err(DbError::Schema(format!(
                    "the database's schema is at version {version} ({name}), newer than this ringcoach knows ({}): upgrade ringcoach",
                    latest_version()
                )))
            }
            None => {
                return Err(DbError::Schema(format!(
                    "the database records migration {version} ({name}), which this ringcoach does not have: it was made by another build; ask the schema owner"
                )))
            }
            Some(m) if sha256_hex(m.sql) != *sha => {
                return Err(DbError::Schema(format!(
                    "migration {name} in the database differs from the one in this ringcoach (edited after it was applied): a migration is never changed, a new one is added"
                )))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// For desks and trainers: the schema must be exactly the one this ringcoach speaks.
/// Returns the version; the errors say who must do what.
pub fn check_schema(client: &mut Client) -> Result<i32, DbError> {
    let rows = client.query(
        &format!("SELECT version, name, sha256 FROM {SCHEMA}.schema_migrations ORDER BY version"),
        &[],
    );
    let rows = match rows {
        Ok(r) => r,
        Err(e) => {
            let err = DbError::sql("reading the schema version", e);
            return Err(match err.code() {
                Some("42P01") | Some("3F000") => DbError::Schema(format!(
                    "the database has no ringcoach schema yet: the schema owner runs `ringcoach db migrate` once ({err})"
                )),
                Some("42501") => DbError::Schema(format!(
                    "this database user is not a ringcoach user: the schema owner runs `ringcoach db add-user NAME --role agent|trainer` ({err})"
                )),
                _ => err,
            });
        }
    };
    let applied: Applied = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    check_applied(&applied)?;
    let version = applied.last().map_or(0, |a| a.0);
    if version < latest_version() {
        return Err(DbError::Schema(format!(
            "the database's schema is at version {version}, this ringcoach needs {}: the schema owner runs `ringcoach db migrate`",
            latest_version()
        )));
    }
    Ok(version)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Agent,
    Trainer,
}

impl Role {
    pub fn group(self) -> &'static str {
        match self {
            Role::Agent => AGENT_GROUP,
            Role::Trainer => TRAINER_GROUP,
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "agent" => Some(Role::Agent),
            "trainer" => Some(Role::Trainer),
            _ => None,
        }
    }
}

/// What [`add_user`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddedUser {
    Created,
    /// The role existed; it is now in the group (and has the new password, if one was given).
    Updated,
}

/// Creates `name` as a LOGIN role in the group of `role`, with the password on the first line
/// of `password_file` if given (the file must be readable by its owner only). Run by the
/// schema owner. The name is the one the data carries: an agent's attempts are those whose
/// trainee is this name, a trainer's decisions those signed with it.
pub fn add_user(
    client: &mut Client,
    name: &str,
    role: Role,
    password_file: Option<&std::path::Path>,
) -> Result<AddedUser, DbError> {
    check_user_name(name)?;
    let verifier = match password_file {
        Some(p) => Some(postgres_protocol::password::scram_sha_256(
            read_password_file(p)?.as_bytes(),
        )),
        None => None,
    };
    let other = match role {
        Role::Agent => Role::Trainer,
        Role::Trainer => Role::Agent,
    };
    let mut tx = client
        .transaction()
        .map_err(|e| DbError::sql("adding a user", e))?;
    let exists = tx
        .query_opt("SELECT rolsuper FROM pg_roles WHERE rolname = $1", &[&name])
        .map_err(|e| DbError::sql("looking the user up", e))?;
    let in_other: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_auth_members m \
               JOIN pg_roles r ON r.oid = m.member JOIN pg_roles g ON g.oid = m.roleid \
               WHERE r.rolname = $1 AND g.rolname = $2)",
            &[&name, &other.group()],
        )
        .map_err(|e| DbError::sql("looking the user up", e))?
        .get(0);
    if in_other {
        return Err(DbError::Config(format!(
            "{name} is already in {}: a user is an agent or a trainer, not both (the schema owner may REVOKE {} FROM {})",
            other.group(),
            other.group(),
            quote_ident(name)
        )));
    }
    let ident = quote_ident(name);
    let password = verifier
        .as_deref()
        .map(|v| format!(" PASSWORD {}", quote_literal(v)))
        .unwrap_or_default();
    let added = match exists {
        Some(row) if row.get::<_, bool>(0) => {
            return Err(DbError::Config(format!(
                "{name} is a superuser: give ringcoach users their own, ordinary roles"
            )))
        }
        Some(_) => {
            tx.batch_execute(&format!(
                "ALTER ROLE {ident} LOGIN{password}; GRANT {} TO {ident}",
                role.group()
            ))
            .map_err(users_error)?;
            AddedUser::Updated
        }
        None => {
            tx.batch_execute(&format!(
                "CREATE ROLE {ident} LOGIN{password} IN ROLE {}",
                role.group()
            ))
            .map_err(users_error)?;
            AddedUser::Created
        }
    };
    tx.commit().map_err(|e| DbError::sql("adding a user", e))?;
    Ok(added)
}

fn users_error(e: postgres::Error) -> DbError {
    let err = DbError::sql("adding a user", e);
    match err.code() {
        Some("42501") => DbError::Schema(format!(
            "{err}; `db add-user` is run by the schema owner, which needs CREATEROLE"
        )),
        Some("42704") => DbError::Schema(format!(
            "{err}; run `ringcoach db migrate` first (it creates the groups)"
        )),
        _ => err,
    }
}

fn check_user_name(name: &str) -> Result<(), DbError> {
    let bad = |why: &str| {
        Err(DbError::Config(format!(
            "{name:?} cannot be a database user name: {why}"
        )))
    };
    if name.trim().is_empty() || name.trim() != name {
        return bad("it is empty or starts or ends with a space");
    }
    if name.len() > 63 {
        return bad("PostgreSQL names are at most 63 bytes (21 Chinese characters)");
    }
    if name.chars().any(char::is_control) {
        return bad("it contains control characters");
    }
    if name.starts_with("pg_") || name == AGENT_GROUP || name == TRAINER_GROUP || name == "public" {
        return bad("the name is reserved");
    }
    Ok(())
}

/// `"name"` with embedded quotes doubled: safe for any string without NUL.
pub(crate) fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `'text'` with quotes doubled (standard_conforming_strings, on by default since 9.1).
fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// What `db status` shows.
#[derive(Debug, Clone, PartialEq)]
pub struct DbStatus {
    pub server_version: String,
    pub user: String,
    /// agent, trainer, owner, or none.
    pub role: String,
    /// Applied schema version (0: not migrated) and the one this ringcoach needs.
    pub schema_version: i32,
    pub needed_version: i32,
    /// Files still to apply.
    pub pending: Vec<&'static str>,
    /// What this user can see.
    pub attempts: i64,
    pub decisions: i64,
    pub audio_bytes: i64,
    pub trainees: i64,
}

/// The server, who we are, the schema's version, and how much is stored (as far as this
/// user may see).
pub fn status(client: &mut Client) -> Result<DbStatus, DbError> {
    let row = client
        .query_one(
            "SELECT current_setting('server_version'), current_user::text, \
                    pg_has_role(current_user, $1, 'MEMBER'), pg_has_role(current_user, $2, 'MEMBER'), \
                    (SELECT pg_get_userbyid(nspowner)::text FROM pg_namespace WHERE nspname = $3), \
                    to_regclass($3 || '.schema_migrations') IS NOT NULL",
            &[&TRAINER_GROUP, &AGENT_GROUP, &SCHEMA],
        )
        .map_err(|e| DbError::sql("reading the server's status", e));
    // pg_has_role fails on a group that does not exist yet (before the first migration).
    let row = match row {
        Ok(r) => r,
        Err(_) => client
            .query_one(
                "SELECT current_setting('server_version'), current_user::text, false, false, \
                        (SELECT pg_get_userbyid(nspowner)::text FROM pg_namespace WHERE nspname = $1), \
                        to_regclass($1 || '.schema_migrations') IS NOT NULL",
                &[&SCHEMA],
            )
            .map_err(|e| DbError::sql("reading the server's status", e))?,
    };
    let user: String = row.get(1);
    let owner: Option<String> = row.get(4);
    let role = if owner.as_deref() == Some(user.as_str()) {
        "owner"
    } else if row.get(2) {
        "trainer"
    } else if row.get(3) {
        "agent"
    } else {
        "none"
    };
    let mut st = DbStatus {
        server_version: row.get(0),
        user,
        role: role.into(),
        schema_version: 0,
        needed_version: latest_version(),
        pending: Vec::new(),
        attempts: 0,
        decisions: 0,
        audio_bytes: 0,
        trainees: 0,
    };
    if row.get::<_, bool>(5) {
        if let Ok(r) = client.query_one(
            &format!("SELECT coalesce(max(version), 0) FROM {SCHEMA}.schema_migrations"),
            &[],
        ) {
            st.schema_version = r.get(0);
        }
    }
    st.pending = MIGRATIONS
        .iter()
        .filter(|m| m.version > st.schema_version)
        .map(|m| m.name)
        .collect();
    if st.schema_version >= 1 && role != "none" {
        let r = client
            .query_one(
                &format!(
                    "SELECT (SELECT count(*) FROM {SCHEMA}.attempts), \
                            (SELECT count(*) FROM {SCHEMA}.decisions), \
                            (SELECT coalesce(sum(bytes), 0)::bigint FROM {SCHEMA}.audio), \
                            (SELECT count(DISTINCT trainee) FROM {SCHEMA}.attempts)"
                ),
                &[],
            )
            .map_err(|e| DbError::sql("counting what is stored", e))?;
        st.attempts = r.get(0);
        st.decisions = r.get(1);
        st.audio_bytes = r.get(2);
        st.trainees = r.get(3);
    }
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_migrations_is_embedded_in_order() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let names: Vec<&str> = MIGRATIONS.iter().map(|m| m.name).collect();
        assert_eq!(files, names, "add the new file to MIGRATIONS");
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1);
            assert!(
                m.name.starts_with(&format!("{:04}_", m.version)),
                "{}",
                m.name
            );
        }
    }

    #[test]
    fn a_newer_or_edited_schema_is_refused() {
        let ours = MIGRATIONS[0];
        let ok = vec![(1, ours.name.to_string(), sha256_hex(ours.sql))];
        assert!(check_applied(&ok).is_ok());
        let newer = vec![(99, "0099_future.sql".to_string(), "x".into())];
        let err = check_applied(&newer).unwrap_err().to_string();
        assert!(err.contains("upgrade ringcoach"), "{err}");
        let edited = vec![(1, ours.name.to_string(), "0".repeat(64))];
        let err = check_applied(&edited).unwrap_err().to_string();
        assert!(err.contains("never changed"), "{err}");
    }

    #[test]
    fn user_names_are_checked_and_quoted() {
        assert!(check_user_name("王芳").is_ok());
        assert!(check_user_name("wang.fang-2").is_ok());
        for bad in [
            "",
            " wang",
            "pg_x",
            "ringcoach_agent",
            "a\nb",
            &"长".repeat(22),
        ] {
            assert!(check_user_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(quote_ident(r#"a"b"#), r#""a""b""#);
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
