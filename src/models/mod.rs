//! The speech models: where they live, how they are obtained and how a file is checked.
//!
//! - [`resolve_whisper`] / [`resolve_vad`]: the path the transcriber loads, in the order
//!   explicit `--model PATH` > `RINGCOACH_MODEL` / `RINGCOACH_VAD_MODEL` > the model cache
//!   (`RINGCOACH_MODEL_DIR`, else `~/.local/share/ringcoach/models`), each checked with the
//!   cheap header walk in [`ggml`] so a missing, truncated or foreign file is a clear error
//!   that names the command fixing it — never a crash inside whisper.cpp.
//! - [`convert`]: CTranslate2 Whisper → ggml; [`quant`]: a ggml Whisper with quantised
//!   weights (q8_0, q5_0, q5_1); [`silero`]: Silero VAD safetensors → ggml.
//! - [`fetch`]: `ringcoach models fetch` — download, convert, hash against [`manifest`],
//!   install; [`wheel`]: pip download and reading members out of wheels; [`cache`]: what the
//!   cache holds (`models list|verify`).
//!
//! No whisper-rs here: the files are checked structurally; loading them is the transcriber's.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub mod atomic;
pub mod cache;
pub mod convert;
pub mod ct2;
pub mod fetch;
pub mod ggml;
pub mod half;
pub mod manifest;
pub mod mel;
pub mod quant;
pub mod silero;
#[doc(hidden)]
pub mod synthetic;
pub mod vocab;
pub mod wheel;

pub use ggml::{GgmlInfo, GgmlKind, WhisperHparams};

/// Env var naming a Whisper ggml file to use instead of the cached default.
pub const ENV_MODEL: &str = "RINGCOACH_MODEL";
/// Env var naming a Silero VAD ggml file.
pub const ENV_VAD_MODEL: &str = "RINGCOACH_VAD_MODEL";
/// Env var naming the model cache directory.
pub const ENV_MODEL_DIR: &str = "RINGCOACH_MODEL_DIR";

/// The fix for anything wrong with a cached model.
pub const FIX_FETCH: &str = "run `ringcoach models fetch` to download and convert it";

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model file {path} does not exist: {fix}")]
    Missing { path: PathBuf, fix: String },
    #[error("model file {path} is truncated ({detail}): {fix}")]
    Truncated {
        path: PathBuf,
        detail: String,
        fix: String,
    },
    #[error("{path} is not a whisper.cpp ggml model ({why}): {fix}")]
    NotGgml {
        path: PathBuf,
        why: String,
        fix: String,
    },
    #[error("model file {path} is damaged ({why}): {fix}")]
    Corrupt {
        path: PathBuf,
        why: String,
        fix: String,
    },
    #[error("{path} is a {found}, not a {wanted} model: {fix}")]
    WrongKind {
        path: PathBuf,
        found: String,
        wanted: String,
        fix: String,
    },
    #[error("cannot read {path}: {source}: {fix}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
        fix: String,
    },
    #[error("cannot convert {path}: {why}")]
    BadInput { path: PathBuf, why: String },
    #[error("cannot write {path}: {source} (is the directory writable and the disk not full?)")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} has SHA-256 {actual} but the manifest expects {expected}: {fix}")]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
        fix: String,
    },
    #[error("no model cache directory: set {ENV_MODEL_DIR} to a writable directory")]
    NoCacheDir,
    #[error("fetching {what} failed: {why}")]
    Fetch { what: String, why: String },
}

/// Progress of a long operation, for a display on stderr.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Progress<'a> {
    /// A new stage begins ("downloading …").
    Stage(&'a str),
    /// Part of a stage done, in bytes or items.
    Step {
        what: &'a str,
        done: u64,
        total: u64,
    },
}

/// The cores that exist, for whisper.cpp's Whisper decoding (never more threads than
/// cores). For the VAD use [`vad_threads`]. Under heavy contention even this can lose to
/// one thread (see models/README.md); measure on the target machine before tuning.
pub fn available_threads() -> i32 {
    std::thread::available_parallelism()
        .map(|n| n.get() as i32)
        .unwrap_or(1)
}

/// The thread count for whisper.cpp's Silero VAD (`WhisperVadContextParams::set_n_threads`):
/// one. Its graph per 32 ms window is tiny, so extra threads only add synchronisation — and
/// ggml's spinning thread barrier collapses when the cores are busy: measured on a 2-vCPU
/// machine under load, 45 ms for 5 s of audio with 1 thread, 30–55 s with 2, minutes with
/// the default 4.
pub fn vad_threads() -> i32 {
    1
}

/// Which model a caller wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    Whisper,
    SileroVad,
}

impl ModelKind {
    fn env(self) -> &'static str {
        match self {
            ModelKind::Whisper => ENV_MODEL,
            ModelKind::SileroVad => ENV_VAD_MODEL,
        }
    }
    fn label(self) -> &'static str {
        match self {
            ModelKind::Whisper => "Whisper",
            ModelKind::SileroVad => "Silero VAD",
        }
    }
}

/// The model cache directory and the files in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPaths {
    pub dir: PathBuf,
}

impl ModelPaths {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ModelPaths { dir: dir.into() }
    }

    /// `RINGCOACH_MODEL_DIR`, else `$XDG_DATA_HOME/ringcoach/models`
    /// (`~/.local/share/ringcoach/models`).
    pub fn from_env() -> Result<Self, ModelError> {
        Self::from_lookup(&|k| std::env::var_os(k))
    }

    fn from_lookup(env: &dyn Fn(&str) -> Option<OsString>) -> Result<Self, ModelError> {
        if let Some(d) = env(ENV_MODEL_DIR).filter(|d| !d.is_empty()) {
            return Ok(Self::new(d));
        }
        dirs::data_dir()
            .map(|d| Self::new(d.join("ringcoach").join("models")))
            .ok_or(ModelError::NoCacheDir)
    }

    /// The default Whisper model in the cache.
    pub fn whisper(&self) -> PathBuf {
        self.dir.join(manifest::WHISPER_FILE)
    }

    /// The Silero VAD model in the cache.
    pub fn vad(&self) -> PathBuf {
        self.dir.join(manifest::VAD_FILE)
    }

    fn cached(&self, kind: ModelKind) -> PathBuf {
        match kind {
            ModelKind::Whisper => self.whisper(),
            ModelKind::SileroVad => self.vad(),
        }
    }

    /// Resolve and check a model: explicit > env var > this cache.
    pub fn resolve(&self, kind: ModelKind, explicit: Option<&Path>) -> Result<PathBuf, ModelError> {
        self.resolve_with(kind, explicit, &|k| std::env::var_os(k))
    }

    fn resolve_with(
        &self,
        kind: ModelKind,
        explicit: Option<&Path>,
        env: &dyn Fn(&str) -> Option<OsString>,
    ) -> Result<PathBuf, ModelError> {
        let (path, fix) = if let Some(p) = explicit {
            (
                p.to_path_buf(),
                format!(
                    "check the path given on the command line, or leave it out to use the default model ({FIX_FETCH})"
                ),
            )
        } else if let Some(p) = env(kind.env()).filter(|p| !p.is_empty()) {
            (
                PathBuf::from(p),
                format!(
                    "check {} or unset it to use the default model ({FIX_FETCH})",
                    kind.env()
                ),
            )
        } else {
            (self.cached(kind), FIX_FETCH.to_string())
        };
        check(&path, kind, &fix)?;
        Ok(path)
    }
}

/// Check a file is a complete ggml model of the wanted kind; `fix` is appended to errors.
fn check(path: &Path, kind: ModelKind, fix: &str) -> Result<GgmlInfo, ModelError> {
    let info = ggml::inspect(path).map_err(|p| ggml::to_error(path, p, fix))?;
    let found = match info.kind {
        GgmlKind::Whisper { .. } => ModelKind::Whisper,
        GgmlKind::SileroVad { .. } => ModelKind::SileroVad,
    };
    if found != kind {
        return Err(ModelError::WrongKind {
            path: path.to_path_buf(),
            found: info.describe(),
            wanted: kind.label().to_string(),
            fix: fix.to_string(),
        });
    }
    Ok(info)
}

/// The Whisper model to load: `explicit` (`--model PATH`) > `RINGCOACH_MODEL` > the cache.
pub fn resolve_whisper(explicit: Option<&Path>) -> Result<PathBuf, ModelError> {
    ModelPaths::from_env()?.resolve(ModelKind::Whisper, explicit)
}

/// The Silero VAD model to load: `explicit` > `RINGCOACH_VAD_MODEL` > the cache.
pub fn resolve_vad(explicit: Option<&Path>) -> Result<PathBuf, ModelError> {
    ModelPaths::from_env()?.resolve(ModelKind::SileroVad, explicit)
}

/// First use: resolve like [`resolve_whisper`] / [`resolve_vad`], but when a model would
/// come from the cache and is missing or damaged there, run `models fetch` for it first.
/// A broken explicit or env path is not replaced (the user named it; the error says so).
pub fn resolve_or_fetch(
    kind: ModelKind,
    explicit: Option<&Path>,
    progress: &mut dyn FnMut(Progress),
) -> Result<PathBuf, ModelError> {
    ModelPaths::from_env()?.resolve_or_fetch_with(
        kind,
        explicit,
        &|k| std::env::var_os(k),
        &fetch::FetchOptions::default(),
        progress,
    )
}

impl ModelPaths {
    fn resolve_or_fetch_with(
        &self,
        kind: ModelKind,
        explicit: Option<&Path>,
        env: &dyn Fn(&str) -> Option<OsString>,
        opts: &fetch::FetchOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<PathBuf, ModelError> {
        let from_cache = explicit.is_none() && env(kind.env()).is_none_or(|v| v.is_empty());
        match self.resolve_with(kind, explicit, env) {
            Err(_) if from_cache => {
                let file = self.cached(kind);
                let name = file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                let manifest = manifest::Manifest::builtin();
                let model = manifest.by_file(name).ok_or_else(|| ModelError::Fetch {
                    what: name.to_string(),
                    why: "the built-in manifest does not list it".into(),
                })?;
                fetch::fetch_model(self, model, opts, progress)?;
                self.resolve_with(kind, None, env)
            }
            other => other,
        }
    }
}

/// Cheap check of a Whisper ggml file (any whisper.cpp model, e.g. a user's larger one):
/// magic, hyper-parameters, mel filters, vocabulary and every tensor header, and that all
/// tensor bytes are present — without loading weights.
pub fn validate_ggml(path: &Path) -> Result<GgmlInfo, ModelError> {
    check(path, ModelKind::Whisper, "use a whisper.cpp ggml model file (ggml-*.bin), or run `ringcoach models fetch` for the default one")
}

/// The same check for a Silero VAD ggml file.
pub fn validate_vad(path: &Path) -> Result<GgmlInfo, ModelError> {
    check(path, ModelKind::SileroVad, FIX_FETCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &Path)]) -> impl Fn(&str) -> Option<OsString> {
        let m: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_os_str().to_owned()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn cache_dir_from_env_wins_over_xdg() {
        let p = ModelPaths::from_lookup(&env(&[(ENV_MODEL_DIR, Path::new("/m"))])).unwrap();
        assert_eq!(p.whisper(), Path::new("/m").join(manifest::WHISPER_FILE));
        let d = ModelPaths::from_lookup(&env(&[])).unwrap();
        assert!(d.dir.ends_with("ringcoach/models"), "{:?}", d.dir);
    }

    #[test]
    fn resolution_order_and_errors_name_their_source() {
        let paths = ModelPaths::new("/nonexistent-cache");
        let e = env(&[(ENV_MODEL, Path::new("/from-env.bin"))]);
        // Explicit beats env.
        let err = paths
            .resolve_with(ModelKind::Whisper, Some(Path::new("/explicit.bin")), &e)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/explicit.bin") && err.contains("command line"),
            "{err}"
        );
        // Env beats the cache.
        let err = paths
            .resolve_with(ModelKind::Whisper, None, &e)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/from-env.bin") && err.contains(ENV_MODEL),
            "{err}"
        );
        // The VAD has its own variable.
        let err = paths
            .resolve_with(ModelKind::SileroVad, None, &e)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/nonexistent-cache") && err.contains("models fetch"),
            "{err}"
        );
    }

    #[test]
    fn resolve_or_fetch_fetches_only_for_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ModelPaths::new(dir.path().join("cache"));
        let offline = fetch::FetchOptions {
            python: "/nonexistent/python3".into(),
            force: false,
            show_pip: false,
        };
        let user = dir.path().join("mine.bin");
        // The user's broken file: reported as such, no fetch attempted.
        let err = paths
            .resolve_or_fetch_with(
                ModelKind::Whisper,
                Some(&user),
                &env(&[]),
                &offline,
                &mut |_| {},
            )
            .unwrap_err();
        assert!(matches!(err, ModelError::Missing { .. }), "{err:?}");
        let err = paths
            .resolve_or_fetch_with(
                ModelKind::Whisper,
                None,
                &env(&[(ENV_MODEL, &user)]),
                &offline,
                &mut |_| {},
            )
            .unwrap_err();
        assert!(matches!(err, ModelError::Missing { .. }), "{err:?}");
        // The cache's missing file: a fetch is attempted (and fails here, offline).
        let err = paths
            .resolve_or_fetch_with(ModelKind::SileroVad, None, &env(&[]), &offline, &mut |_| {})
            .unwrap_err();
        assert!(matches!(err, ModelError::Fetch { .. }), "{err:?}");
        assert!(err.to_string().contains("/nonexistent/python3"), "{err}");
    }
}
