//! A real terminal for end-to-end tests: runs a command in a private tmux server at a fixed
//! size, types keys into it and reads the screen back.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: PathBuf,
    session: String,
}

impl Tmux {
    /// Starts `command` (run by sh) in a detached 80×24 (or given size) session.
    pub fn start(dir: &Path, command: &str, width: u16, height: u16) -> Tmux {
        assert!(
            Command::new("tmux").arg("-V").output().is_ok(),
            "tmux is not installed: run scripts/test, which installs it"
        );
        let t = Tmux {
            socket: dir.join("tmux.sock"),
            session: "rc".into(),
        };
        let out = t.tmux(&[
            "new-session",
            "-d",
            "-s",
            &t.session,
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            command,
        ]);
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Keep the pane after the program exits so its last screen can still be read.
        t.tmux(&["set-option", "-t", &t.session, "remain-on-exit", "on"]);
        t
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }

    /// The pid of the shell running the command in the pane (the program is its child).
    pub fn pane_pid(&self) -> u32 {
        let out = self.tmux(&["display-message", "-p", "-t", &self.session, "#{pane_pid}"]);
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("tmux names the pane's pid")
    }

    /// Sends tmux key names ("Enter", "Space", "q", "C-c").
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.session];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// One capture of the pane, as it is at this instant (perhaps half redrawn).
    pub fn capture(&self) -> String {
        String::from_utf8_lossy(
            &self
                .tmux(&["capture-pane", "-p", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    /// The screen once it has settled: two captures 50 ms apart that agree, so a screen
    /// caught half way through a redraw is never taken for the result (a screen that keeps
    /// changing, a level meter say, gives its last capture after a second).
    pub fn screen(&self) -> String {
        let start = Instant::now();
        let mut last = self.capture();
        loop {
            std::thread::sleep(Duration::from_millis(50));
            let now = self.capture();
            if now == last || start.elapsed() > Duration::from_secs(1) {
                return now;
            }
            last = now;
        }
    }

    /// Waits until the settled screen contains `needle`; panics with the screen after
    /// `timeout`.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(needle) {
                return s;
            }
            if start.elapsed() > timeout {
                panic!("timed out after {timeout:?} waiting for {needle:?}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// True once the program in the pane has exited.
    pub fn exited(&self) -> bool {
        let out = self.tmux(&["display-message", "-p", "-t", &self.session, "#{pane_dead}"]);
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    pub fn exit_status(&self) -> Option<i32> {
        let out = self.tmux(&[
            "display-message",
            "-p",
            "-t",
            &self.session,
            "#{pane_dead_status}",
        ]);
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}
