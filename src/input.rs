//! Files a user names on the command line or in a config (a WAV, a config file, a scenario,
//! a reply, a model): opened only when they are regular files, never in a way that can
//! block, and read with a size cap. A FIFO would hang `open` or `read` forever and
//! `/dev/zero` never ends, so anything that is not a regular file is refused with a line
//! that says what it is. Imports nothing from the crate.

use std::fs::{self, File, FileType};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path} is {kind}, not a regular file: give the path of a saved file")]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("cannot open {path}: {}", describe_io(err))]
    Open { path: PathBuf, err: io::Error },
    #[error("cannot read {path}: {}", describe_io(err))]
    Read { path: PathBuf, err: io::Error },
    #[error("{path} is {size} bytes, over the {limit}-byte limit for {what}")]
    TooBig {
        path: PathBuf,
        size: u64,
        limit: u64,
        what: &'static str,
    },
}

impl InputError {
    /// The cause alone, for a message that already names the file.
    pub fn reason(&self) -> String {
        match self {
            InputError::NotRegular { kind, .. } => {
                format!("it is {kind}, not a regular file")
            }
            InputError::Open { err, .. } | InputError::Read { err, .. } => describe_io(err),
            InputError::TooBig {
                size, limit, what, ..
            } => format!("it is {size} bytes, over the {limit}-byte limit for {what}"),
        }
    }
}

/// What a file type is, in words, for "… is a named pipe (FIFO), not a regular file".
pub fn kind_of(ft: &FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a named pipe (FIFO)"
    } else if ft.is_char_device() {
        "a character device (like /dev/zero)"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_symlink() {
        "a dangling symbolic link"
    } else if ft.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

/// An io::Error as a person reads it: the OS's words, without the "(os error N)" tail.
pub fn describe_io(err: &io::Error) -> String {
    let s = err.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Opens `path` for reading if, and only if, it is a regular file (symbolic links are
/// followed). The open itself cannot block: it is non-blocking, and the type is checked
/// again on the open file, so a FIFO swapped in between is refused too. Returns the file
/// and its length.
pub fn open_regular(path: &Path) -> Result<(File, u64), InputError> {
    let meta = fs::metadata(path).map_err(|err| InputError::Open {
        path: path.to_path_buf(),
        err,
    })?;
    if !meta.is_file() {
        return Err(InputError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_of(&meta.file_type()),
        });
    }
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|err| InputError::Open {
            path: path.to_path_buf(),
            err,
        })?;
    let meta = file.metadata().map_err(|err| InputError::Open {
        path: path.to_path_buf(),
        err,
    })?;
    if !meta.is_file() {
        return Err(InputError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_of(&meta.file_type()),
        });
    }
    Ok((file, meta.len()))
}

/// Reads a regular file whole, refusing one larger than `limit` bytes (`what` names the
/// limit in the message: "a config file"). A file that grows while it is read is cut at
/// the limit and refused, never read without end.
pub fn read_limited(path: &Path, limit: u64, what: &'static str) -> Result<Vec<u8>, InputError> {
    let (file, len) = open_regular(path)?;
    let too_big = |size| InputError::TooBig {
        path: path.to_path_buf(),
        size,
        limit,
        what,
    };
    if len > limit {
        return Err(too_big(len));
    }
    let mut buf = Vec::with_capacity(len as usize);
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|err| InputError::Read {
            path: path.to_path_buf(),
            err,
        })?;
    if buf.len() as u64 > limit {
        return Err(too_big(buf.len() as u64));
    }
    Ok(buf)
}

/// [`read_limited`] as UTF-8 text; invalid UTF-8 is an `io::ErrorKind::InvalidData` read
/// error naming the byte offset.
pub fn read_text(path: &Path, limit: u64, what: &'static str) -> Result<String, InputError> {
    let bytes = read_limited(path, limit, what)?;
    String::from_utf8(bytes).map_err(|e| InputError::Read {
        path: path.to_path_buf(),
        err: io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "not valid UTF-8 (bad byte at offset {}): save it as UTF-8",
                e.utf8_error().valid_up_to()
            ),
        ),
    })
}

/// Where the value of a key lies in a TOML document (`["settings", "pass_mark"]`), for a
/// `file:line:col` that points at a number found out of range after parsing. None when the
/// key is absent (its default applies) or the text does not parse.
pub fn toml_value_span(src: &str, path: &[&str]) -> Option<std::ops::Range<usize>> {
    use toml::de::{DeTable, DeValue};
    let doc = DeTable::parse(src).ok()?;
    let mut table = doc.get_ref();
    let (last, parents) = path.split_last()?;
    for key in parents {
        let (_, v) = table.iter().find(|(k, _)| k.get_ref() == key)?;
        match v.get_ref() {
            DeValue::Table(t) => table = t,
            _ => return None,
        }
    }
    let (_, v) = table.iter().find(|(k, _)| k.get_ref() == last)?;
    Some(v.span())
}

/// The largest config, scenario or phrase-book file read: far above any real one.
pub const MAX_TEXT_FILE: u64 = 4 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn a_fifo_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.wav");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let t = Instant::now();
        let err = open_regular(&fifo).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(5));
        assert!(err.to_string().contains("named pipe (FIFO)"), "{err}");
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    #[test]
    fn devices_and_directories_are_named() {
        let err = read_limited(Path::new("/dev/zero"), 10, "a test").unwrap_err();
        assert!(err.to_string().contains("character device"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let err = open_regular(dir.path()).unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
    }

    #[test]
    fn a_value_is_located_by_its_key_path() {
        let src = "a = 1\n[settings]\npass_mark = nan\n[weights]\nrings = -1.0\n";
        let at = |p: &[&str]| toml_value_span(src, p).map(|r| &src[r]);
        assert_eq!(at(&["settings", "pass_mark"]), Some("nan"));
        assert_eq!(at(&["weights", "rings"]), Some("-1.0"));
        assert_eq!(at(&["a"]), Some("1"));
        assert_eq!(at(&["settings", "nothing"]), None);
        assert_eq!(at(&["a", "b"]), None);
        assert_eq!(toml_value_span("= broken", &["a"]), None);
    }

    #[test]
    fn limits_and_errors_read_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.toml");
        fs::write(&p, vec![b'a'; 100]).unwrap();
        assert_eq!(read_limited(&p, 100, "x").unwrap().len(), 100);
        let err = read_limited(&p, 99, "a config file")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("100 bytes, over the 99-byte limit for a config file"),
            "{err}"
        );
        let err = open_regular(&dir.path().join("nope"))
            .unwrap_err()
            .to_string();
        assert!(!err.contains("os error"), "{err}");
        assert!(err.contains("No such file or directory"), "{err}");
        fs::write(&p, [b'a', 0xff, b'b']).unwrap();
        let err = read_text(&p, 100, "x").unwrap_err().to_string();
        assert!(err.contains("offset 1"), "{err}");
    }
}
