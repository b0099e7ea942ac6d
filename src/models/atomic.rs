//! Files that appear complete or not at all: write to a temporary name in the target's
//! directory, fsync, rename over the target, fsync the directory. An interrupted conversion
//! leaves at most a `.tmp-*` file, never a half-written model under the real name. The
//! SHA-256 of everything written is computed on the way, so nobody re-reads 148 MB to hash.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    out: Option<BufWriter<File>>,
    hasher: Sha256,
    written: u64,
}

impl AtomicFile {
    pub fn create(target: &Path) -> io::Result<Self> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let temp = dir.join(format!(
            ".{}.tmp-{}-{nanos}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            temp,
            out: Some(BufWriter::with_capacity(1 << 20, file)),
            hasher: Sha256::new(),
            written: 0,
        })
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    /// Flush, fsync, rename into place, fsync the directory. Returns the SHA-256 (hex) and
    /// size of what was written.
    pub fn commit(mut self) -> io::Result<(String, u64)> {
        let out = self.out.take().expect("commit is called once");
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&self.temp, &self.target)?;
        if let Some(dir) = self.target.parent().filter(|p| !p.as_os_str().is_empty()) {
            // Make the rename itself durable; not all filesystems allow opening a directory.
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        let hash = hex(&std::mem::take(&mut self.hasher).finalize());
        Ok((hash, self.written))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.as_mut().expect("not committed").write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.as_mut().expect("not committed").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.is_some() {
            // Not committed: an error or a panic happened mid-way; leave nothing behind.
            self.out = None;
            let _ = fs::remove_file(&self.temp);
        }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 (hex) of a file, streamed.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    io::copy(&mut f, &mut h)?;
    Ok(hex(&h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_renames_and_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x.bin");
        let mut f = AtomicFile::create(&target).unwrap();
        f.write_all(b"abc").unwrap();
        assert!(
            !target.exists(),
            "nothing under the real name before commit"
        );
        let (hash, n) = f.commit().unwrap();
        assert_eq!(n, 3);
        assert_eq!(
            hash,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(fs::read(&target).unwrap(), b"abc");
        assert_eq!(sha256_file(&target).unwrap(), hash);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn dropping_uncommitted_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x.bin");
        fs::write(&target, b"old").unwrap();
        {
            let mut f = AtomicFile::create(&target).unwrap();
            f.write_all(b"half a model").unwrap();
        }
        assert_eq!(fs::read(&target).unwrap(), b"old", "old file untouched");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "temp removed");
    }
}
