//! Keeping the screen ours: while a screen is up, file descriptor 2 goes to a
//! log file, so nothing a library prints (alsa-lib under-runs, whisper.cpp, a stray
//! `eprintln!`) draws over it. It comes back on every exit path, panics included, before
//! the panic message is printed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};

/// The terminal's stderr while it is redirected; -1 when it is not.
static SAVED_STDERR: AtomicI32 = AtomicI32::new(-1);

/// Where a screen's stderr goes: `<state dir>/ringcoach/<screen>.log`.
pub fn log_path(screen: &str) -> PathBuf {
    dirs::state_dir()
        .or_else(dirs::data_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join("ringcoach")
        .join(format!("{screen}.log"))
}

/// Redirects fd 2 to `path` (truncated) until dropped.
pub struct StderrToFile(());

impl StderrToFile {
    pub fn redirect(path: &Path) -> std::io::Result<StderrToFile> {
        use std::os::fd::AsRawFd;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::File::create(path)?;
        // SAFETY: dup/dup2 on fd 2 (always open) and a file we own; on failure fd 2 is untouched.
        unsafe {
            let saved = libc::dup(2);
            if saved < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::dup2(file.as_raw_fd(), 2) < 0 {
                let e = std::io::Error::last_os_error();
                libc::close(saved);
                return Err(e);
            }
            SAVED_STDERR.store(saved, Ordering::SeqCst);
        }
        install_panic_hook();
        Ok(StderrToFile(()))
    }
}

impl Drop for StderrToFile {
    fn drop(&mut self) {
        restore_stderr();
    }
}

/// Puts the terminal's stderr back (idempotent; safe from a panic hook).
pub fn restore_stderr() {
    let saved = SAVED_STDERR.swap(-1, Ordering::SeqCst);
    if saved >= 0 {
        // SAFETY: `saved` is a descriptor we dup'ed and still own.
        unsafe {
            libc::dup2(saved, 2);
            libc::close(saved);
        }
    }
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_stderr();
        previous(info);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_goes_to_the_file_and_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sub/practice.log");
        {
            let _g = StderrToFile::redirect(&log).unwrap();
            // Written straight to fd 2, as alsa-lib does.
            let msg = b"ALSA lib pcm.c: underrun occurred\n";
            unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
        }
        assert_eq!(SAVED_STDERR.load(Ordering::SeqCst), -1);
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.contains("underrun occurred"), "{text:?}");
    }
}
