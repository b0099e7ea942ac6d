//! Passphrases for the commands that sign: asked on the terminal with echo off, or read from
//! `--passphrase-file F` (its first line) for scripts. Never from an argument or the
//! environment, where other users could read it.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// `--passphrase-file`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PassphraseFlag {
    /// Read the issuer key's passphrase from the first line of this file instead of asking on
    /// the terminal (for scripts; keep the file owner-only)
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

impl PassphraseFlag {
    /// The passphrase: the file's first line, else asked on the terminal (`prompt`).
    pub fn get(&self, prompt: &str) -> anyhow::Result<Vec<u8>> {
        match &self.passphrase_file {
            Some(f) => read_file(f),
            None => ask(prompt),
        }
    }

    /// A new passphrase: the file's, else asked twice on the terminal.
    pub fn get_new(&self, what: &str) -> anyhow::Result<Vec<u8>> {
        match &self.passphrase_file {
            Some(f) => read_file(f),
            None => {
                let a = ask(&format!("New passphrase for {what}: "))?;
                let b = ask("The same again: ")?;
                if a != b {
                    bail!("the two passphrases differ; nothing was changed, try again");
                }
                Ok(a)
            }
        }
    }
}

fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    let f = File::open(path)
        .with_context(|| format!("cannot read --passphrase-file {}", path.display()))?;
    let mut line = String::new();
    BufReader::new(f)
        .read_line(&mut line)
        .with_context(|| format!("cannot read --passphrase-file {}", path.display()))?;
    let line = line.trim_end_matches(['\n', '\r']);
    if line.is_empty() {
        bail!(
            "--passphrase-file {} is empty: its first line is the passphrase",
            path.display()
        );
    }
    Ok(line.as_bytes().to_vec())
}

/// Asks on the controlling terminal with echo off; the terminal is restored whatever happens.
fn ask(prompt: &str) -> anyhow::Result<Vec<u8>> {
    let tty = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .context("no terminal to ask for the passphrase on: pass --passphrase-file FILE")?;
    let fd = tty.as_raw_fd();
    // SAFETY: tcgetattr/tcsetattr on an open terminal fd with a zeroed, then filled, termios.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
        bail!("cannot switch off echo on the terminal: pass --passphrase-file FILE");
    }
    let mut quiet = saved;
    quiet.c_lflag &= !libc::ECHO;
    quiet.c_lflag |= libc::ECHONL;
    (&tty).write_all(prompt.as_bytes())?;
    (&tty).flush()?;
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
    struct Restore(i32, libc::termios);
    impl Drop for Restore {
        fn drop(&mut self) {
            // SAFETY: the same fd and the settings read from it above.
            unsafe { libc::tcsetattr(self.0, libc::TCSANOW, &self.1) };
        }
    }
    let _restore = Restore(fd, saved);
    let mut line = String::new();
    BufReader::new(&tty).read_line(&mut line)?;
    let line = line.trim_end_matches(['\n', '\r']);
    if line.is_empty() {
        bail!("no passphrase given");
    }
    Ok(line.as_bytes().to_vec())
}
