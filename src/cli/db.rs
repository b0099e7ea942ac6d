//! `ringcoach db`: the training room's shared store, as its schema owner runs it — `migrate`
//! the schema, `add-user` an agent or a trainer, `status` of the server and the schema. And
//! [`sync`], what `ringcoach store sync` runs on a desk: upload what waits now, say how many
//! went and how many wait.
//!
//! The server comes from `RINGCOACH_DATABASE_URL` or the config's `[database] url`, the
//! password from a file only its owner can read; see [`crate::db::connect`]. Every problem
//! is one line that says what to do; the URL itself is never printed.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};

use crate::config::{Config, DatabaseConfig};
use crate::db::migrate::AddedUser;
use crate::db::{self, DbSettings, Role, SyncOptions, SyncReport, DATABASE_URL_ENV};
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Config file with the `[database]` table [default: ~/.config/ringcoach/config.toml].
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: DbCommand,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create or update the shared store's schema (run by the role that owns it; desks never
    /// migrate). Running it again does nothing.
    Migrate,
    /// Let someone in: a login role in the agent or the trainer group (run by the schema
    /// owner). Again for an existing user: sets the password anew.
    AddUser {
        /// The user's login name; it is also the trainee or trainer name the data shows.
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// A file (mode 600) holding the user's password on its first line; it goes to the
        /// server only as a SCRAM verifier. Without it the user has no password (enough for
        /// a server that trusts its unix socket).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// The server, who you are to it, the schema's version and what the store holds; exit 1
    /// when the schema needs `db migrate`.
    Status,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Agent,
    Trainer,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Agent => Role::Agent,
            RoleArg::Trainer => Role::Trainer,
        }
    }
}

/// The shared store's settings from the environment and `config` (the default config file
/// when None); an error saying how to configure it when nothing names a server.
pub fn settings(config: Option<&Path>) -> anyhow::Result<DbSettings> {
    let cfg = Config::load(config)?;
    configured(&cfg.database)?.ok_or_else(|| {
        anyhow::anyhow!(
            "no shared store is configured: set {DATABASE_URL_ENV} (postgresql://USER@HOST/DATABASE) or url in the config's [database]"
        )
    })
}

/// The config for a command that takes `--lang`: a broken config file does not stand between
/// a user and an explicit `--lang` (then only the environment can name a shared store).
pub fn config_for(lang: &super::flags::LangFlags) -> anyhow::Result<Config> {
    match lang.config() {
        Ok(c) => Ok(c),
        Err(_) if lang.lang.is_some() => Ok(Config::default()),
        Err(e) => Err(e.into()),
    }
}

/// The settings when a server is named, None for a single desk.
pub fn configured(cfg: &DatabaseConfig) -> anyhow::Result<Option<DbSettings>> {
    Ok(DbSettings::from_env_and_config(cfg)?)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let settings = settings(args.config.as_deref())?;
    let mut client = settings.connect()?;
    let mut out = io::stdout().lock();
    match args.command {
        DbCommand::Migrate => {
            let r = db::migrate(&mut client)?;
            for name in &r.applied {
                writeln!(out, "applied {name}")?;
            }
            if r.applied.is_empty() {
                writeln!(
                    out,
                    "the schema is up to date (version {}); nothing to do",
                    r.version
                )?;
            } else {
                writeln!(out, "the schema is at version {}", r.version)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        DbCommand::AddUser {
            name,
            role,
            password_file,
        } => {
            let role = Role::from(role);
            let added = db::add_user(&mut client, &name, role, password_file.as_deref())?;
            let what = match role {
                Role::Agent => "an agent (uploads and reads their own attempts)",
                Role::Trainer => "a trainer (reads every attempt, records decisions)",
            };
            let verb = match added {
                AddedUser::Created => "added",
                AddedUser::Updated => "updated",
            };
            writeln!(out, "{verb} {name} as {what}")?;
            if password_file.is_none() {
                writeln!(
                    out,
                    "no password set: {name} can connect only where the server trusts them without one (its unix socket); to connect over the network, run again with --password-file FILE"
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        DbCommand::Status => {
            let st = db::status(&mut client)?;
            writeln!(out, "server     PostgreSQL {}", st.server_version)?;
            writeln!(out, "target     {}", settings.target())?;
            writeln!(out, "user       {} ({})", st.user, st.role)?;
            writeln!(
                out,
                "schema     version {} (this ringcoach needs {})",
                st.schema_version, st.needed_version
            )?;
            if st.role != "none" && st.schema_version > 0 {
                writeln!(
                    out,
                    "stored     {} attempt(s) of {} trainee(s), {} decision(s), {:.1} MB of audio",
                    st.attempts,
                    st.trainees,
                    st.decisions,
                    st.audio_bytes as f64 / 1e6
                )?;
            }
            if st.role == "none" {
                writeln!(
                    out,
                    "{} is not a ringcoach user here: the schema owner runs `ringcoach db add-user {} --role agent|trainer`",
                    st.user, st.user
                )?;
            }
            if st.pending.is_empty() {
                Ok(ExitCode::SUCCESS)
            } else {
                writeln!(
                    out,
                    "pending    {}: the schema owner runs `ringcoach db migrate`",
                    st.pending.join(", ")
                )?;
                Ok(ExitCode::from(1))
            }
        }
    }
}

/// `ringcoach store sync`: one upload pass over the desk's store now. Exit 0 when nothing
/// waits; 1 when something still waits (the server away, refused), or is in conflict.
pub fn sync(store: &Store, config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(config)?;
    let Some(settings) = configured(&cfg.database)? else {
        anyhow::bail!(
            "no shared store is configured, so there is nothing to upload to: set {DATABASE_URL_ENV} or url in the config's [database]"
        );
    };
    let opts = SyncOptions::from_config(&cfg.database)?;
    let report = db::sync_now(store, &settings, &opts)?;
    let mut out = io::stdout().lock();
    print_sync(&mut out, &report)?;
    let done = report.waiting == 0
        && report.decisions_waiting == 0
        && report.conflicts.is_empty()
        && report.rejected.is_empty()
        && report.offline.is_none();
    Ok(if done {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// What a pass did, one line each: what went, what was refused and why, what waits.
pub fn print_sync(out: &mut impl Write, r: &SyncReport) -> io::Result<()> {
    for id in &r.conflicts {
        writeln!(
            out,
            "conflict: {id} is on the server with other content; both copies were left as they are: ask the trainer which one is right"
        )?;
    }
    for line in &r.rejected {
        writeln!(out, "refused: {line}")?;
    }
    for id in &r.pruned {
        writeln!(
            out,
            "pruned the local copy of {id} (verified on the server)"
        )?;
    }
    if let Some(why) = &r.offline {
        writeln!(out, "not uploaded: {why}")?;
    }
    let mut line = format!("uploaded {} attempt(s)", r.uploaded);
    if r.already_there > 0 {
        line.push_str(&format!(" ({} already there)", r.already_there));
    }
    line.push_str(&format!(
        " and {} decision(s); {} attempt(s) wait",
        r.decisions, r.waiting
    ));
    if r.decisions_waiting > 0 {
        line.push_str(&format!(
            ", decisions on {} attempt(s) wait",
            r.decisions_waiting
        ));
    }
    if !r.conflicts.is_empty() {
        line.push_str(&format!(", {} in conflict", r.conflicts.len()));
    }
    writeln!(out, "{line}")
}

/// The shared store as the trainer's tools read it, audio cached under the XDG cache dir.
pub fn open_shared(settings: &DbSettings) -> anyhow::Result<db::PgStore> {
    let cache = db::reader::default_audio_cache().ok_or_else(|| {
        anyhow::anyhow!("no cache directory for the recordings: set XDG_CACHE_HOME or HOME")
    })?;
    Ok(db::PgStore::new(settings.connect()?, &cache)?)
}
