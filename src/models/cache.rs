//! The state of the model cache, for `models list` and `models verify`: every manifest
//! model and every other `*.bin` there, re-hashed and checked, with what to do about a
//! missing or damaged file.

use std::fs;
use std::path::PathBuf;

use super::atomic::sha256_file;
use super::manifest::{Manifest, Model};
use super::{ggml, ModelError, ModelPaths, FIX_FETCH};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "status", content = "detail")]
pub enum Status {
    /// Matches the manifest.
    Ok,
    Missing,
    /// Present but wrong; the string says what is wrong and how to fix it.
    Bad(String),
    /// Not in the manifest but a structurally valid ggml file (a user's own model).
    Unmanaged(String),
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    /// Manifest id, or `None` for a file the manifest does not know.
    pub id: Option<String>,
    pub path: PathBuf,
    pub size: Option<u64>,
    pub sha256: Option<String>,
    pub status: Status,
    /// The manifest's default for its kind.
    pub default: bool,
}

/// Every manifest model and every other `*.bin` in the cache, re-hashed and checked.
pub fn inspect_cache(paths: &ModelPaths) -> Vec<Entry> {
    let manifest = Manifest::builtin();
    let mut entries: Vec<Entry> = manifest
        .models
        .iter()
        .map(|m| check_managed(paths, m))
        .collect();
    if let Ok(rd) = fs::read_dir(&paths.dir) {
        let mut others: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| x == "bin")
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| !n.starts_with('.') && manifest.by_file(n).is_none())
            })
            .collect();
        others.sort();
        for p in others {
            let size = fs::metadata(&p).ok().map(|m| m.len());
            let status = match ggml::inspect(&p) {
                Ok(info) => Status::Unmanaged(info.describe()),
                Err(problem) => Status::Bad(
                    ggml::to_error(&p, problem, "replace or delete it; it is not used unless named with --model or RINGCOACH_MODEL")
                        .to_string(),
                ),
            };
            entries.push(Entry {
                id: None,
                sha256: sha256_file(&p).ok(),
                path: p,
                size,
                status,
                default: false,
            });
        }
    }
    entries
}

fn check_managed(paths: &ModelPaths, m: &Model) -> Entry {
    let path = paths.dir.join(&m.file);
    let mut e = Entry {
        id: Some(m.id.clone()),
        path: path.clone(),
        size: None,
        sha256: None,
        status: Status::Missing,
        default: m.default,
    };
    let meta = match fs::metadata(&path) {
        Ok(meta) => meta,
        Err(_) => return e,
    };
    e.size = Some(meta.len());
    // The structural check first: it says *what* is wrong (truncated, not ggml) where a
    // hash only says "different".
    if let Err(problem) = ggml::inspect(&path) {
        e.status = Status::Bad(ggml::to_error(&path, problem, FIX_FETCH).to_string());
        if meta.len() < m.size {
            e.status = Status::Bad(
                ModelError::Truncated {
                    path: path.clone(),
                    detail: format!(
                        "{:.1} of {:.1} MB",
                        meta.len() as f64 / 1e6,
                        m.size as f64 / 1e6
                    ),
                    fix: FIX_FETCH.to_string(),
                }
                .to_string(),
            );
        }
        e.sha256 = sha256_file(&path).ok();
        return e;
    }
    match sha256_file(&path) {
        Ok(h) if h == m.sha256 && meta.len() == m.size => e.status = Status::Ok,
        Ok(h) => {
            e.status = Status::Bad(
                ModelError::Checksum {
                    path: path.clone(),
                    expected: m.sha256.clone(),
                    actual: h.clone(),
                    fix: FIX_FETCH.to_string(),
                }
                .to_string(),
            );
            e.sha256 = Some(h);
        }
        Err(err) => e.status = Status::Bad(format!("cannot read {}: {err}", path.display())),
    }
    if e.status == Status::Ok {
        e.sha256 = Some(m.sha256.clone());
    }
    e
}

/// What `models verify FILE` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// Its SHA-256 is a known model's.
    Known { id: String, describe: String },
    /// It is (by name or size) a known model, but its bytes differ: flipped bits in its
    /// tensors load without complaint and transcribe wrongly.
    Damaged {
        id: String,
        expected: String,
        actual: String,
    },
    /// A well-formed ggml file nothing here knows the hash of: not checked.
    Unknown { describe: String, sha256: String },
    /// Not a usable model file at all; the message says what and what to do.
    Bad(String),
}

/// Checks one model file: a regular file, a well-formed ggml model, and — when it is a
/// model the manifest knows — the same bytes as that model.
pub fn verify_file(path: &std::path::Path) -> Verified {
    if let Err(e) = crate::input::open_regular(path) {
        return Verified::Bad(e.to_string());
    }
    let info = match ggml::inspect(path) {
        Ok(info) => info,
        Err(p) => {
            let fix = "replace it with a complete whisper.cpp ggml model, or run `ringcoach models fetch` for the default one";
            return Verified::Bad(ggml::to_error(path, p, fix).to_string());
        }
    };
    let actual = match sha256_file(path) {
        Ok(h) => h,
        Err(e) => {
            return Verified::Bad(format!(
                "cannot read {}: {}",
                path.display(),
                crate::input::describe_io(&e)
            ))
        }
    };
    let manifest = Manifest::builtin();
    if let Some(m) = manifest.models.iter().find(|m| m.sha256 == actual) {
        return Verified::Known {
            id: m.id.clone(),
            describe: info.describe(),
        };
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if let Some(m) = manifest
        .models
        .iter()
        .find(|m| m.file == name || m.size == info.file_size)
    {
        return Verified::Damaged {
            id: m.id.clone(),
            expected: m.sha256.clone(),
            actual,
        };
    }
    Verified::Unknown {
        describe: info.describe(),
        sha256: actual,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_truncated_cache_files_are_reported_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ModelPaths::new(dir.path());
        let entries = inspect_cache(&paths);
        assert!(entries
            .iter()
            .filter(|e| e.id.is_some())
            .all(|e| e.status == Status::Missing));
        // A cut-off model: the header of a real one, then nothing.
        let mut head = Vec::new();
        head.extend_from_slice(&ggml::GGML_MAGIC.to_le_bytes());
        for v in [51865i32, 1500, 512, 8, 6, 448, 512, 8, 6, 80, 1] {
            head.extend_from_slice(&v.to_le_bytes());
        }
        fs::write(paths.whisper(), &head).unwrap();
        fs::write(dir.path().join("mine.bin"), b"not a model").unwrap();
        let entries = inspect_cache(&paths);
        let w = entries.iter().find(|e| e.path == paths.whisper()).unwrap();
        match &w.status {
            Status::Bad(msg) => {
                assert!(
                    msg.contains("truncated") && msg.contains("models fetch"),
                    "{msg}"
                );
            }
            other => panic!("{other:?}"),
        }
        let mine = entries
            .iter()
            .find(|e| e.path.ends_with("mine.bin"))
            .unwrap();
        assert!(
            matches!(&mine.status, Status::Bad(m) if m.contains("not a whisper.cpp ggml model"))
        );
    }
}
