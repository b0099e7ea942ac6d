//! Keeps alsa-lib (and JACK's client library) from writing on the terminal. They print
//! probing failures ("ALSA lib confmisc.c:855 cannot find card '0'", "Cannot connect to server
//! socket") straight to file descriptor 2 while cpal opens or enumerates devices; in the TUI
//! that would draw over the screen, and in `ringcoach devices` it buries the answer. cpal
//! still returns the real errors, which the callers turn into messages of their own.

use std::cell::Cell;
use std::sync::Mutex;

/// Serialises redirections: fd 2 is process-wide, and nested or concurrent swaps would
/// restore the wrong descriptor.
static STDERR_SWAP: Mutex<()> = Mutex::new(());

/// Runs `f` with fd 2 pointed at /dev/null, restoring it afterwards (also on panic).
/// Anything another thread writes to stderr meanwhile is lost too; use it around
/// device-opening calls only, not around long work.
/// Re-entrant on one thread (device lookup happens inside stream opening).
pub fn without_stderr<T>(f: impl FnOnce() -> T) -> T {
    if DEPTH.with(Cell::get) > 0 {
        return f();
    }
    let _lock = STDERR_SWAP
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let _guard = Redirect::to_dev_null();
    DEPTH.with(|d| d.set(d.get() + 1));
    let _depth = DepthGuard;
    f()
}

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

struct DepthGuard;

impl Drop for DepthGuard {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

#[cfg(unix)]
struct Redirect {
    saved: Option<libc::c_int>,
}

#[cfg(unix)]
impl Redirect {
    fn to_dev_null() -> Redirect {
        use std::os::fd::AsRawFd;
        let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") else {
            return Redirect { saved: None };
        };
        // SAFETY: dup/dup2 on descriptors we own or that are always open (2); on failure we
        // leave fd 2 untouched.
        unsafe {
            let saved = libc::dup(2);
            if saved < 0 {
                return Redirect { saved: None };
            }
            if libc::dup2(null.as_raw_fd(), 2) < 0 {
                libc::close(saved);
                return Redirect { saved: None };
            }
            Redirect { saved: Some(saved) }
        }
    }
}

#[cfg(unix)]
impl Drop for Redirect {
    fn drop(&mut self) {
        if let Some(saved) = self.saved.take() {
            // SAFETY: `saved` is the duplicate of the original fd 2 made above.
            unsafe {
                libc::dup2(saved, 2);
                libc::close(saved);
            }
        }
    }
}

#[cfg(not(unix))]
struct Redirect;

#[cfg(not(unix))]
impl Redirect {
    fn to_dev_null() -> Redirect {
        Redirect
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_value_and_restores_stderr() {
        let v = without_stderr(|| {
            eprintln!("this line goes to /dev/null");
            42
        });
        assert_eq!(v, 42);
        // Nested use on one thread must not deadlock.
        assert_eq!(without_stderr(|| without_stderr(|| 7)), 7);
        // fd 2 is usable again: writing through it succeeds.
        use std::io::Write;
        assert!(std::io::stderr().write_all(b"").is_ok());
        #[cfg(unix)]
        {
            // SAFETY: fcntl F_GETFD only queries the descriptor.
            let flags = unsafe { libc::fcntl(2, libc::F_GETFD) };
            assert!(flags >= 0);
        }
    }
}
