//! `ringcoach verify FILE`: checks a certificate offline — its exact bytes and signature,
//! the issuer's trust and key window, the result recomputed from its items, optionally the
//! evidence, the model and a revocation list. A human summary, or `--json`.
//!
//! Exit codes: 0 verified; 1 tampered or untrusted (no field can be trusted); 3 the
//! signature is good but the evidence differs or the certificate is revoked; 2 usage.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::cert::{trusted, KeyringFlag};
use super::flags::DataDirFlag;
use crate::cert::{verify, VerifyInput};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The certificate (`ID.ringcert.json`).
    pub file: PathBuf,
    /// Issuer cards to trust: a card file or a directory of `*.card.json` [default: the
    /// issuer keys made on this machine].
    #[arg(long, value_name = "ISSUERS")]
    pub trust: Option<PathBuf>,
    /// The exported evidence (DIR/callN/turnM.wav and .txt) to check against the hashes.
    #[arg(long, value_name = "DIR")]
    pub evidence: Option<PathBuf>,
    /// The speech model file to check against the certificate's model hash.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// The issuer's signed revocation list; without it revocation is not checked (and the
    /// summary says so).
    #[arg(long, value_name = "REVOKED")]
    pub status: Option<PathBuf>,
    /// Print the verification as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub keyring: KeyringFlag,
    #[command(flatten)]
    pub data_dir: DataDirFlag,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read certificate {}", args.file.display()))?;
    let trusted = trusted(args.trust.as_deref(), &args.keyring, &args.data_dir)?;
    let revocations = match &args.status {
        Some(p) => Some(
            std::fs::read(p)
                .with_context(|| format!("cannot read revocation list {}", p.display()))?,
        ),
        None => None,
    };
    if let Some(dir) = &args.evidence {
        if !dir.is_dir() {
            anyhow::bail!(
                "--evidence {} is not a directory: give the directory `cert issue --evidence-out` wrote",
                dir.display()
            );
        }
    }
    let v = verify(&VerifyInput {
        certificate: &bytes,
        trusted: &trusted,
        evidence_dir: args.evidence.as_deref(),
        model_file: args.model.as_deref(),
        revocations: revocations.as_deref(),
    });
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        write!(out, "{}", v.summary())?;
    }
    out.flush()?;
    Ok(ExitCode::from(v.exit_code() as u8))
}
