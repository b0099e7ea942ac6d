//! The flags several commands share, each group defined once (its name, its help, its
//! default) and flattened into every subcommand that takes it, with the one way its value
//! is resolved.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::{Config, ConfigError, Lang};
use crate::grading::{EmptyOrg, Org};
use crate::models::{self, ModelKind};
use crate::scenario::{Catalog, PROMPTS_ENV};
use crate::store::{default_data_dir, Recovered, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LangArg {
    Zh,
    En,
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Lang {
        match l {
            LangArg::Zh => Lang::Zh,
            LangArg::En => Lang::En,
        }
    }
}

/// `--lang`, and the config file the language otherwise comes from.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LangFlags {
    /// Language of the screens and of the HTML report [default: `lang` in the config file, else zh].
    #[arg(long, value_enum)]
    pub lang: Option<LangArg>,
    /// Config file [default: ~/.config/ringcoach/config.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl LangFlags {
    /// The config file, with `--lang` over its `lang`.
    pub fn config(&self) -> Result<Config, ConfigError> {
        let mut config = Config::load(self.config.as_deref())?;
        if let Some(l) = self.lang {
            config.lang = l.into();
        }
        Ok(config)
    }

    /// `--lang`, else the config file's. The file is read only when `--lang` does not say,
    /// so a broken config file does not stand between a user and an explicit choice.
    pub fn lang(&self) -> Result<Lang, ConfigError> {
        match self.lang {
            Some(l) => Ok(l.into()),
            None => Ok(Config::load(self.config.as_deref())?.lang),
        }
    }
}

/// `--data-dir`: where the attempts store is.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DataDirFlag {
    /// Data directory [default: $RINGCOACH_DATA_DIR, else the XDG data dir + /ringcoach]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl DataDirFlag {
    pub fn dir(&self) -> anyhow::Result<PathBuf> {
        match &self.data_dir {
            Some(d) => Ok(d.clone()),
            None => Ok(default_data_dir()?),
        }
    }

    /// The store to record into, made if it does not exist yet; what opening it recovered
    /// from an earlier crash is said on stderr.
    pub fn open(&self) -> anyhow::Result<Store> {
        let store = Store::open(&self.dir()?)?;
        report_recovery(&store);
        Ok(store)
    }

    /// The store to read: a directory that is not a store is an error rather than a new
    /// empty store, so a typo does not look like "no attempts". A store nothing may be
    /// written to (a read-only disk, someone else's archive) opens read-only.
    pub fn open_existing(&self) -> anyhow::Result<Store> {
        let store = Store::open_existing(&self.dir()?)?;
        report_recovery(&store);
        Ok(store)
    }
}

/// Says on stderr what opening the store recovered from an earlier crash.
pub fn report_recovery(store: &Store) {
    for r in store.recovered() {
        match r {
            Recovered::Interrupted { id, frames, .. } => {
                eprintln!(
                    "ringcoach: recovered interrupted attempt {id} ({frames} audio frames kept)"
                )
            }
            Recovered::Graded { id } => eprintln!(
                "ringcoach: recovered attempt {id}: it had been graded when the program stopped; its grade is kept"
            ),
            Recovered::Removed { id } => {
                eprintln!("ringcoach: removed attempt {id}: interrupted before any audio")
            }
            Recovered::Quarantined { id, moved_to } => eprintln!(
                "ringcoach: attempt {id} was damaged beyond repair; moved to {moved_to} in the data directory (nothing deleted)"
            ),
            Recovered::Reindexed { .. } => {}
            Recovered::Failed { id, reason } => {
                eprintln!("ringcoach: could not recover attempt {id}: {reason}")
            }
        }
    }
}

/// `--prompts`: extra call situations.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PromptsFlag {
    /// Extra call situations: a directory of scenario files that add to or override the
    /// built-in ones by id [default: $RINGCOACH_PROMPTS]
    #[arg(long, value_name = "DIR")]
    pub prompts: Option<PathBuf>,
}

impl PromptsFlag {
    /// `--prompts`, else `$RINGCOACH_PROMPTS`. An empty variable names no directory, as an
    /// empty `RINGCOACH_DATA_DIR` means the default: `RINGCOACH_PROMPTS= ringcoach …` is how
    /// one switches it off for a command.
    pub fn dir(&self) -> Option<PathBuf> {
        self.prompts.clone().or_else(|| {
            std::env::var_os(PROMPTS_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
    }

    /// The built-in scenarios and the prompts directory's, warning on stderr about each file
    /// that was skipped.
    pub fn load(&self) -> anyhow::Result<Catalog> {
        let catalog = Catalog::load(self.dir().as_deref()).context("cannot load the scenarios")?;
        for p in &catalog.problems {
            eprintln!(
                "ringcoach: warning: {} (file skipped)",
                super::out::escape_controls(&p.to_string())
            );
        }
        Ok(catalog)
    }
}

/// `--org`: the organisation the trainee answers for.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OrgFlag {
    /// The organisation you answer for; the opening must name it [default: `org` in the
    /// config file when practising, else the org profile's]
    #[arg(long, value_name = "NAME")]
    pub org: Option<String>,
}

impl OrgFlag {
    /// `--org`, else `configured`, else the org profile's name.
    pub fn resolve(&self, configured: Option<&str>, catalog: &Catalog) -> Result<Org, EmptyOrg> {
        Org::resolve(self.org.as_deref().or(configured), &catalog.org)
    }
}

/// `--model` and `--vad-model`: the speech models.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ModelFlags {
    /// A whisper.cpp ggml Whisper model [default: `model.path` in the config file when
    /// practising, $RINGCOACH_MODEL, then the fetched base model]
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// A ggml Silero VAD model [default: $RINGCOACH_VAD_MODEL, then the fetched one]
    #[arg(long, value_name = "PATH")]
    pub vad_model: Option<PathBuf>,
}

impl ModelFlags {
    /// The Whisper and VAD models: a path given, else the environment, else the cache. Each
    /// is validated before use, so a missing, truncated or foreign file is one line that
    /// names the fix.
    pub fn resolve(&self) -> anyhow::Result<(PathBuf, PathBuf)> {
        Ok((
            models::resolve_whisper(self.model.as_deref())?,
            models::resolve_vad(self.vad_model.as_deref())?,
        ))
    }

    /// As [`ModelFlags::resolve`], `configured` standing in for `--model`; on first use the
    /// default models are fetched and converted (with progress on the console). A path the
    /// user named is never replaced: its problem is reported instead.
    pub fn resolve_or_fetch(
        &self,
        configured: Option<&Path>,
    ) -> anyhow::Result<(PathBuf, PathBuf)> {
        let mut progress = super::models::StderrProgress::new();
        let whisper = models::resolve_or_fetch(
            ModelKind::Whisper,
            self.model.as_deref().or(configured),
            &mut |p| progress.show(p),
        )?;
        let vad =
            models::resolve_or_fetch(ModelKind::SileroVad, self.vad_model.as_deref(), &mut |p| {
                progress.show(p)
            })?;
        progress.done();
        Ok((whisper, vad))
    }
}
