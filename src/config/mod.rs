//! User configuration: a fully commented default embedded in the binary (printed by
//! `ringcoach config default`), overlaid by the user's file, overlaid by flags.
//!
//! One validation: [`Config::parse`] checks every value where it means something (a zero
//! wait would end every turn at once, a model path must name a file) with `file:line:col`,
//! so `config check` and practice refuse the same files; the ring cadence, which belongs to
//! the phrase book, is checked against it by [`RingConfig::cadence`], by both as well.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::audio::ring::{CadenceError, RingCadence};

/// The commented default configuration, exactly as shipped.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {why}")]
    Read { path: PathBuf, why: String },
    #[error("config file {path}:{line}:{col}: {message} (print a valid one with `ringcoach config default`)")]
    Parse {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("the config's [ring] {key} = {value} is not the ring cadence in use (the phrase book's {book_key} = {book_value}): the phrase book ([settings] in prompts/phrases.toml, or the one in --prompts) sets when the phone rings, for the ringer and the grader alike; delete {key} from the config's [ring]")]
    RingCadence {
        key: &'static str,
        value: u64,
        book_key: &'static str,
        book_value: u64,
    },
    #[error("the config's [ring] tone_hz: {0}")]
    RingTone(CadenceError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Zh,
    En,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub lang: Lang,
    pub trainee: Option<String>,
    pub org: Option<String>,
    pub audio: AudioConfig,
    pub ring: RingConfig,
    pub model: ModelConfig,
    pub database: DatabaseConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AudioConfig {
    pub input: String,
    pub output: String,
    pub hangover_ms: u64,
    pub max_wait_ms: u64,
    pub max_reply_s: u64,
    /// Check a microphone before the first practice on it (`--no-mic-check` for one run).
    pub mic_check: bool,
}

/// `[ring]`: how the ring sounds at this desk. When it rings (the cadence, which decides how
/// many rings a pickup counts as) is not a desk setting: it is the phrase book's
/// (`[settings] ring_on_ms`, `ring_off_ms`), so the ringer and the grader always agree.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RingConfig {
    pub tone_hz: f32,
    /// Older config files carried the cadence here; it is accepted only where it is the
    /// phrase book's, and refused (not silently overruled) where it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub off_ms: Option<u64>,
}

impl RingConfig {
    /// The ring this desk plays: the phrase book's cadence (`book`) at the configured pitch.
    pub fn cadence(&self, book: RingCadence) -> Result<RingCadence, ConfigError> {
        for (key, value, book_key, book_value) in [
            ("on_ms", self.on_ms, "ring_on_ms", book.on_ms),
            ("off_ms", self.off_ms, "ring_off_ms", book.off_ms),
        ] {
            match value {
                Some(value) if value != book_value => {
                    return Err(ConfigError::RingCadence {
                        key,
                        value,
                        book_key,
                        book_value,
                    })
                }
                _ => {}
            }
        }
        let cadence = RingCadence {
            tone_hz: self.tone_hz,
            ..book
        };
        cadence.validate().map_err(ConfigError::RingTone)?;
        Ok(cadence)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    pub path: Option<PathBuf>,
    /// Cut a transcription off after this many seconds (default: 10 s plus half a second
    /// per second of speech). The recording is kept, ungraded, for `store regrade`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_limit_s: Option<f64>,
}

/// `[database]`: the training room's shared store (PostgreSQL). Absent for a single desk.
/// `RINGCOACH_DATABASE_URL` and `RINGCOACH_DATABASE_PASSWORD_FILE` win over `url` and
/// `password_file`. The rules (no password in the URL, TLS over TCP) are in `db::connect`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub url: Option<String>,
    pub password_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    pub connect_timeout_s: u64,
    pub keepalives_idle_s: u64,
    /// Delete the local copy of an attempt this long (`30d`, `12h`) after it started, once the
    /// server holds it verified. None: keep every local copy.
    pub keep_uploaded: Option<String>,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: None,
            password_file: None,
            ca_file: None,
            connect_timeout_s: 10,
            keepalives_idle_s: 30,
            keep_uploaded: None,
        }
    }
}

// The URL stays out of debug output (and so out of logs), as everywhere else.
impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &self.url.as_ref().map(|_| "(set)"))
            .field("password_file", &self.password_file)
            .field("ca_file", &self.ca_file)
            .field("connect_timeout_s", &self.connect_timeout_s)
            .field("keepalives_idle_s", &self.keepalives_idle_s)
            .field("keep_uploaded", &self.keep_uploaded)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            lang: Lang::Zh,
            trainee: None,
            org: None,
            audio: AudioConfig::default(),
            ring: RingConfig::default(),
            model: ModelConfig::default(),
            database: DatabaseConfig::default(),
        }
    }
}

impl Default for AudioConfig {
    fn default() -> Self {
        AudioConfig {
            input: "default".into(),
            output: "default".into(),
            hangover_ms: 1000,
            max_wait_ms: 10_000,
            max_reply_s: 60,
            mic_check: true,
        }
    }
}

impl Default for RingConfig {
    fn default() -> Self {
        RingConfig {
            tone_hz: RingCadence::MAINLAND_CHINA.tone_hz,
            on_ms: None,
            off_ms: None,
        }
    }
}

impl Config {
    /// Parse a config file's text and check every value; `path` names it in errors (and a
    /// relative model path is taken as given, from the current directory).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            ConfigError::Parse {
                path: path.to_path_buf(),
                line,
                col,
                message: e.message().trim().replace('\n', " "),
            }
        })?;
        config.check_values(text, path)?;
        Ok(config)
    }

    /// The values a file may hold, each where it means something.
    fn check_values(&self, text: &str, path: &Path) -> Result<(), ConfigError> {
        let bad = |keys: &[&str], message: String| {
            let (line, col) = crate::input::toml_value_span(text, keys)
                .map(|s| line_col(text, s.start))
                .unwrap_or((1, 1));
            Err(ConfigError::Parse {
                path: path.to_path_buf(),
                line,
                col,
                message,
            })
        };
        let range = |keys: &[&str], v: f64, lo: f64, hi: f64, meaning: &str| {
            if v.is_finite() && (lo..=hi).contains(&v) {
                Ok(())
            } else {
                bad(
                    keys,
                    format!(
                        "[{}] {} = {v} is outside {lo}–{hi} ({meaning})",
                        keys[0], keys[1]
                    ),
                )
            }
        };
        let a = &self.audio;
        range(
            &["audio", "hangover_ms"],
            a.hangover_ms as f64,
            200.0,
            10_000.0,
            "milliseconds of silence that end a turn; shorter and a breath ends it",
        )?;
        range(
            &["audio", "max_wait_ms"],
            a.max_wait_ms as f64,
            1_000.0,
            120_000.0,
            "milliseconds to wait for the first word",
        )?;
        range(
            &["audio", "max_reply_s"],
            a.max_reply_s as f64,
            5.0,
            600.0,
            "seconds a reply may run",
        )?;
        range(
            &["ring", "tone_hz"],
            f64::from(self.ring.tone_hz),
            100.0,
            3400.0,
            "the pitch of a telephone ring, in Hz",
        )?;
        if let Some(on) = self.ring.on_ms {
            range(
                &["ring", "on_ms"],
                on as f64,
                100.0,
                10_000.0,
                "milliseconds of tone per ring",
            )?;
        }
        if let Some(off) = self.ring.off_ms {
            range(
                &["ring", "off_ms"],
                off as f64,
                0.0,
                20_000.0,
                "milliseconds between rings",
            )?;
        }
        if let Some(s) = self.model.time_limit_s {
            if !(s.is_finite() && s > 0.0 && s <= 600.0) {
                return bad(
                    &["model", "time_limit_s"],
                    format!(
                        "[model] time_limit_s = {s} must be more than 0 and at most 600 seconds"
                    ),
                );
            }
        }
        if let Some(p) = &self.model.path {
            match std::fs::metadata(p) {
                Ok(m) if m.is_file() => {}
                Ok(m) => {
                    return bad(
                        &["model", "path"],
                        format!(
                            "[model] path {} is {}, not a model file: name a ggml model file, or remove the key to use the fetched model",
                            p.display(),
                            crate::input::kind_of(&m.file_type())
                        ),
                    )
                }
                Err(e) => {
                    return bad(
                        &["model", "path"],
                        format!(
                            "[model] path {}: {}: name an existing ggml model file, or remove the key to use the fetched model",
                            p.display(),
                            crate::input::describe_io(&e)
                        ),
                    )
                }
            }
        }
        let d = &self.database;
        range(
            &["database", "connect_timeout_s"],
            d.connect_timeout_s as f64,
            1.0,
            300.0,
            "seconds to try connecting",
        )?;
        range(
            &["database", "keepalives_idle_s"],
            d.keepalives_idle_s as f64,
            1.0,
            86_400.0,
            "seconds before an idle connection is probed",
        )?;
        Ok(())
    }

    /// The user's config: `explicit` if given (it must exist), else
    /// `~/.config/ringcoach/config.toml` if it exists, else the defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => match default_path() {
                Some(p) if p.exists() => p,
                _ => return Ok(Config::default()),
            },
        };
        // A regular file only: a FIFO would hang the program before it starts.
        let text = crate::input::read_text(&path, crate::input::MAX_TEXT_FILE, "a config file")
            .map_err(|e| ConfigError::Read {
                path: path.clone(),
                why: e.reason(),
            })?;
        Config::parse(&text, &path)
    }

    /// The trainee's name: configured, else the login name, else "trainee".
    pub fn trainee_name(&self) -> String {
        self.trainee
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "trainee".into())
    }
}

/// `$XDG_CONFIG_HOME/ringcoach/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("ringcoach").join("config.toml"))
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_default_parses_to_the_built_in_defaults() {
        let c = Config::parse(DEFAULT_TOML, Path::new("default.toml")).unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn partial_file_keeps_other_defaults() {
        let c = Config::parse(
            "lang = \"en\"\n[ring]\noff_ms = 2000\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(c.lang, Lang::En);
        assert_eq!(c.ring.off_ms, Some(2000));
        assert_eq!(c.ring.on_ms, None);
        assert_eq!(c.ring.tone_hz, 450.0);
        assert_eq!(c.audio.hangover_ms, 1000);
    }

    #[test]
    fn the_ring_cadence_is_the_phrase_books_at_the_desks_pitch() {
        let book = RingCadence::timed(400, 200);
        let c = Config::parse("[ring]\ntone_hz = 425\n", Path::new("c.toml")).unwrap();
        let rung = c.ring.cadence(book).unwrap();
        assert_eq!((rung.on_ms, rung.off_ms, rung.tone_hz), (400, 200, 425.0));
        // An older file's cadence is fine where it agrees with the phrase book ...
        let old = "[ring]\non_ms = 1000\noff_ms = 4000\ntone_hz = 450\n";
        let c = Config::parse(old, Path::new("c.toml")).unwrap();
        assert_eq!(
            c.ring.cadence(RingCadence::MAINLAND_CHINA).unwrap(),
            RingCadence::MAINLAND_CHINA
        );
        // ... and refused, naming both places, where it does not.
        let err = c.ring.cadence(book).unwrap_err().to_string();
        assert!(
            err.contains("on_ms = 1000") && err.contains("ring_on_ms = 400"),
            "{err}"
        );
        // The pitch is checked when the file is read, and by the cadence check too.
        let err = Config::parse("[ring]\ntone_hz = 20\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("c.toml:2:11") && err.contains("100–3400"),
            "{err}"
        );
        let ring = RingConfig {
            tone_hz: 20.0,
            ..RingConfig::default()
        };
        let err = ring.cadence(book).unwrap_err().to_string();
        assert!(
            err.contains("tone_hz") && err.contains("100–3400 Hz"),
            "{err}"
        );
    }

    #[test]
    fn the_database_section_parses_and_its_url_stays_out_of_debug_output() {
        let c = Config::parse(
            "[database]\nurl = \"postgresql://wang@db.example/room\"\nca_file = \"/etc/ca.pem\"\nkeep_uploaded = \"30d\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(
            c.database.url.as_deref(),
            Some("postgresql://wang@db.example/room")
        );
        assert_eq!(c.database.keep_uploaded.as_deref(), Some("30d"));
        assert_eq!(c.database.connect_timeout_s, 10);
        assert!(!format!("{c:?}").contains("db.example"));
    }

    #[test]
    fn unknown_key_is_reported_with_its_position() {
        let err = Config::parse(
            "lang = \"zh\"\n[audio]\nhangover = 5\n",
            Path::new("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("config file c.toml:3:1:"), "{err}");
        assert!(err.contains("hangover"), "{err}");
    }

    #[test]
    fn bad_value_is_reported() {
        let err = Config::parse("lang = \"fr\"\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("c.toml:1:8"), "{err}");
    }

    #[test]
    fn explicit_missing_file_is_an_error() {
        let err = Config::load(Some(Path::new("/nonexistent/ringcoach.toml"))).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ringcoach.toml"));
    }

    #[test]
    fn values_that_practice_would_refuse_or_misuse_are_refused_with_their_place() {
        // Each of these passed `config check` before, and practice then refused or misbehaved.
        for (text, place, words) in [
            ("[ring]\non_ms = 0\n", "c.toml:2:9", "on_ms = 0"),
            ("[ring]\ntone_hz = 1000000\n", "c.toml:2:11", "tone_hz"),
            (
                "[audio]\nmax_reply_s = 0\n",
                "c.toml:2:15",
                "max_reply_s = 0",
            ),
            (
                "[audio]\nmax_wait_ms = 0\n",
                "c.toml:2:15",
                "max_wait_ms = 0",
            ),
            ("[ring]\ntone_hz = nan\n", "c.toml:2:11", "NaN"),
            (
                "[model]\npath = \"/nonexistent/ggml-x.bin\"\n",
                "c.toml:2:8",
                "No such file",
            ),
            ("[model]\ntime_limit_s = 0\n", "c.toml:2:16", "time_limit_s"),
        ] {
            let err = Config::parse(text, Path::new("c.toml"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(place) && err.contains(words),
                "{text:?}: {err}"
            );
            assert!(!err.contains('\n'), "{err}");
        }
        let dir = tempfile::tempdir().unwrap();
        let err = Config::parse(
            &format!("[model]\npath = {:?}\n", dir.path().to_str().unwrap()),
            Path::new("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("is a directory"), "{err}");
    }

    #[test]
    fn a_fifo_config_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("config.toml");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = Config::load(Some(&fifo)).unwrap_err().to_string();
        assert!(err.contains("named pipe"), "{err}");
        assert_eq!(err.matches(fifo.to_str().unwrap()).count(), 1, "{err}");
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\n您好x", 9), (2, 3));
    }
}
