//! Verifying a certificate offline: the file's exact bytes, the proof, the issuer's trust and
//! key window, the record's own consistency and result, and optionally the evidence, the
//! model and a revocation list. Reads only the files it is given.
//!
//! Each step that fails carries a [`Class`]; the verification's class is the worst of them:
//! [`Class::Untrusted`] (exit 1) for anything that means no field can be trusted,
//! [`Class::Mismatch`] (exit 3) for a good signature whose evidence differs or whose
//! certificate is revoked, [`Class::Verified`] (exit 0) otherwise.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::credential::{Credential, ResultStatus};
use super::evaluate::{evaluate, Outcome};
use super::evidence::{check_evidence, check_model, EvidenceMismatch};
use super::jcs::{first_difference, parse_strict, to_file_bytes};
use super::keyring::{trusted_key, IssuerCard};
use super::multikey::{did_key, public_key_multibase, ssh_fingerprint};
use super::proof::{verify_proof, ASSERTION_METHOD};
use super::revocation::{RevocationEntry, RevocationList};
use super::sha256_hex;
use crate::store::Timestamp;

/// What to verify and against what.
#[derive(Debug, Clone, Copy)]
pub struct VerifyInput<'a> {
    /// The certificate file's bytes.
    pub certificate: &'a [u8],
    /// Issuer cards the verifier trusts.
    pub trusted: &'a [IssuerCard],
    /// An evidence directory (`callN/turnM.wav`, `.txt`) to check against the hashes.
    pub evidence_dir: Option<&'a Path>,
    /// The speech model file to check against the certificate's model hash.
    pub model_file: Option<&'a Path>,
    /// A signed revocation list's bytes.
    pub revocations: Option<&'a [u8]>,
}

/// The verdict, ordered from good to bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Exit 0.
    Verified,
    /// Exit 3: the signature is good, but evidence differs or the certificate is revoked.
    Mismatch,
    /// Exit 1: tampered, malformed or not from a trusted issuer; no field can be trusted.
    Untrusted,
}

impl Class {
    pub fn exit_code(self) -> i32 {
        match self {
            Class::Verified => 0,
            Class::Untrusted => 1,
            Class::Mismatch => 3,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Passed,
    Failed,
    NotChecked,
}

/// One step of the verification, for the human summary and `--json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub name: &'static str,
    pub status: StepStatus,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Revocation {
    /// No list was given (or it was another issuer's): revocation could not be checked.
    NotChecked {
        reason: String,
    },
    NotRevoked {
        sequence: u64,
        issued: Timestamp,
    },
    Revoked {
        sequence: u64,
        issued: Timestamp,
        entry: RevocationEntry,
    },
}

/// Everything `verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub class: Class,
    /// SHA-256 of the file's bytes (`sha256sum FILE`); the rendered page's QR code holds it.
    pub digest: String,
    pub certificate_id: Option<String>,
    pub issuer: Option<String>,
    pub key_fingerprint: Option<String>,
    pub signed_at: Option<Timestamp>,
    pub candidate: Option<String>,
    pub status: Option<ResultStatus>,
    pub score: Option<u32>,
    pub supersedes: Option<String>,
    pub steps: Vec<Step>,
    pub evidence_mismatches: Vec<EvidenceMismatch>,
    pub revocation: Revocation,
    /// The recomputed result, once the record could be read from a good signature.
    pub outcome: Option<Outcome>,
    /// The certificate, once its signature verified (its fields are only as trustworthy as
    /// `class` says).
    #[serde(skip)]
    pub credential: Option<Credential>,
}

impl Verification {
    pub fn exit_code(&self) -> i32 {
        self.class.exit_code()
    }

    fn step(
        &mut self,
        name: &'static str,
        status: StepStatus,
        detail: impl Into<String>,
        fail: Class,
    ) {
        if status == StepStatus::Failed {
            self.class = self.class.max(fail);
        }
        self.steps.push(Step {
            name,
            status,
            detail: detail.into(),
        });
    }

    fn pass(&mut self, name: &'static str, detail: impl Into<String>) {
        self.step(name, StepStatus::Passed, detail, Class::Verified);
    }

    fn fail(&mut self, name: &'static str, detail: impl Into<String>, class: Class) {
        self.step(name, StepStatus::Failed, detail, class);
    }

    fn not_checked(&mut self, name: &'static str, detail: impl Into<String>) {
        self.step(name, StepStatus::NotChecked, detail, Class::Verified);
    }

    /// The first line of the human summary.
    pub fn headline(&self) -> String {
        let failed: Vec<&str> = self
            .steps
            .iter()
            .filter(|s| s.status == StepStatus::Failed)
            .map(|s| s.detail.as_str())
            .collect();
        match self.class {
            Class::Verified => {
                let rev = match &self.revocation {
                    Revocation::NotChecked { .. } => "; revocation NOT checked (no list given)",
                    _ => "; not revoked",
                };
                format!(
                    "VERIFIED: {} issued by {} to {}: {} {}/100{rev}",
                    self.certificate_id.as_deref().unwrap_or("?"),
                    self.issuer.as_deref().unwrap_or("?"),
                    self.candidate.as_deref().unwrap_or("?"),
                    match self.status {
                        Some(ResultStatus::Passed) => "PASSED",
                        _ => "FAILED",
                    },
                    self.score.unwrap_or(0)
                )
            }
            Class::Mismatch => format!("SIGNATURE GOOD, BUT: {}", failed.join("; ")),
            Class::Untrusted => format!(
                "NOT VERIFIED (tampered or untrusted; no field can be trusted): {}",
                failed.first().copied().unwrap_or("unknown")
            ),
        }
    }

    /// The human summary: headline, then one line per step.
    pub fn summary(&self) -> String {
        let mut out = self.headline();
        out.push('\n');
        for s in &self.steps {
            let mark = match s.status {
                StepStatus::Passed => "ok  ",
                StepStatus::Failed => "FAIL",
                StepStatus::NotChecked => "--  ",
            };
            let _ = writeln!(out, "  {mark} {:<11} {}", s.name, s.detail);
        }
        let _ = writeln!(out, "  digest      sha256:{}", self.digest);
        out
    }
}

/// Verifies a certificate. Never fails: everything it finds is in the [`Verification`].
pub fn verify(input: &VerifyInput) -> Verification {
    let mut v = Verification {
        class: Class::Verified,
        digest: sha256_hex(input.certificate),
        certificate_id: None,
        issuer: None,
        key_fingerprint: None,
        signed_at: None,
        candidate: None,
        status: None,
        score: None,
        supersedes: None,
        steps: Vec::new(),
        evidence_mismatches: Vec::new(),
        revocation: Revocation::NotChecked {
            reason: "no revocation list given: revocation could not be checked".into(),
        },
        outcome: None,
        credential: None,
    };

    // 1. JSON, and the exact bytes the issuer writes.
    let value = match parse_strict(input.certificate) {
        Ok(value) => value,
        Err(e) => {
            v.fail(
                "json",
                format!("the file is not valid JSON ({e})"),
                Class::Untrusted,
            );
            return v;
        }
    };
    v.certificate_id = value.get("id").and_then(|i| i.as_str()).map(str::to_owned);
    let layout_diff = match to_file_bytes(&value) {
        Ok(expected) if expected == input.certificate => None,
        Ok(expected) => Some(first_difference(&expected, input.certificate)),
        Err(_) => Some(0),
    };

    // 2. The proof.
    let proof = match verify_proof(&value) {
        Ok(p) => p,
        Err(e) => {
            v.fail("signature", e.to_string(), Class::Untrusted);
            return v;
        }
    };
    v.key_fingerprint = Some(ssh_fingerprint(&proof.key));
    v.signed_at = proof.created;
    match layout_diff {
        None => v.pass(
            "signature",
            "eddsa-jcs-2022 proof verifies over the exact file",
        ),
        Some(at) => v.fail(
            "signature",
            format!(
                "the file was edited from byte {at} on: the signed content is intact, but a \
                 signed certificate is never edited, not even its spacing; ask the issuer for \
                 the original file"
            ),
            Class::Untrusted,
        ),
    }
    if proof.proof_purpose != ASSERTION_METHOD {
        v.fail(
            "signature",
            format!(
                "the proof purpose is {:?}, not assertionMethod",
                proof.proof_purpose
            ),
            Class::Untrusted,
        );
    }
    let Some(signed_at) = proof.created else {
        v.fail(
            "signature",
            "the proof has no created time",
            Class::Untrusted,
        );
        return v;
    };

    // 3. The record.
    let cred = match Credential::from_value(&value) {
        Ok(c) => c,
        Err(e) => {
            v.fail("record", e, Class::Untrusted);
            return v;
        }
    };
    v.issuer = Some(cred.issuer.name.clone());
    v.candidate = Some(cred.record.candidate.name.clone());
    v.supersedes = cred.record.supersedes.clone();

    // 4. The issuer: a trusted card names this key, for this issuer, valid at signing time.
    match trusted_key(input.trusted, &proof.key) {
        Err(e) => v.fail("issuer", e, Class::Untrusted),
        Ok(None) => v.fail(
            "issuer",
            format!(
                "the signing key {} (claimed by {:?}) is in no trusted issuer card",
                ssh_fingerprint(&proof.key),
                cred.issuer.name
            ),
            Class::Untrusted,
        ),
        Ok(Some(t)) => {
            let key_mb = public_key_multibase(&proof.key);
            if t.issuer != cred.issuer.name || t.issuer != cred.record.issuer.name {
                v.fail(
                    "issuer",
                    format!(
                        "the certificate names issuer {:?}, but the trusted card of its key names {:?}",
                        cred.issuer.name, t.issuer
                    ),
                    Class::Untrusted,
                );
            } else if cred.issuer.id != did_key(&proof.key)
                || cred.record.issuer.public_key_multibase != key_mb
                || cred.record.issuer.fingerprint != t.fingerprint
            {
                v.fail(
                    "issuer",
                    "the issuer key the certificate names is not the key that signed it",
                    Class::Untrusted,
                );
            } else {
                v.pass("issuer", format!("{:?}, key {}", t.issuer, t.fingerprint));
            }
            if !t.contains(signed_at) {
                let window = match t.valid_until {
                    Some(u) => format!("{} to {u}", t.valid_from),
                    None => format!("from {}", t.valid_from),
                };
                v.fail(
                    "key window",
                    format!("signed at {signed_at}, outside the key's validity ({window})"),
                    Class::Untrusted,
                );
            } else if cred.valid_from != signed_at {
                v.fail(
                    "key window",
                    format!(
                        "validFrom {} is not the signing time {signed_at}",
                        cred.valid_from
                    ),
                    Class::Untrusted,
                );
            } else {
                v.pass(
                    "key window",
                    format!("signed at {signed_at}, inside the key's validity"),
                );
            }
        }
    }

    // 5. The record explains itself and its result.
    match cred.derived_mismatch() {
        Some(e) => v.fail("record", e, Class::Untrusted),
        None => v.pass(
            "record",
            "the Open Badges fields agree with the ringcoach record",
        ),
    }
    let outcome = evaluate(&cred.record.rules, &cred.record.calls);
    let mut wrong = outcome.problems.clone();
    wrong.extend(outcome.disagreements(&cred.record.result, &cred.record.calls));
    if wrong.is_empty() {
        v.pass(
            "result",
            format!(
                "recomputed: {:?}, {}/100, {} of {} calls passed",
                outcome.status(),
                outcome.score,
                outcome.calls_passed,
                cred.record.rules.total_calls
            ),
        );
    } else {
        v.fail("result", wrong.join("; "), Class::Untrusted);
    }
    v.status = Some(cred.record.result.status);
    v.score = Some(cred.record.result.score);
    v.outcome = Some(outcome);

    // 6. Evidence and model.
    match input.evidence_dir {
        None => v.not_checked("evidence", "no evidence directory given"),
        Some(dir) => {
            let mismatches = check_evidence(&cred.record, dir);
            if mismatches.is_empty() {
                let files: usize = cred.record.calls.iter().map(|c| 2 * c.turns.len()).sum();
                v.pass("evidence", format!("{files} files match their hashes"));
            } else {
                let detail = mismatches
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                v.fail("evidence", detail, Class::Mismatch);
                v.evidence_mismatches = mismatches;
            }
        }
    }
    match input.model_file {
        None => v.not_checked("model", "no model file given"),
        Some(path) => match check_model(&cred.record, path) {
            None => v.pass("model", format!("{} matches", path.display())),
            Some(m) => {
                v.fail("model", m.to_string(), Class::Mismatch);
                v.evidence_mismatches.push(m);
            }
        },
    }

    // 7. Revocation.
    match input.revocations {
        None => v.not_checked(
            "revocation",
            "no revocation list given: revocation could not be checked",
        ),
        Some(bytes) => match RevocationList::from_bytes(bytes, "given", input.trusted) {
            Err(e) => v.fail(
                "revocation",
                format!("{e}; revocation cannot be checked with it"),
                Class::Untrusted,
            ),
            Ok((list, _)) if list.issuer != cred.issuer.name => {
                let reason = format!(
                    "the list is {:?}'s, not {:?}'s: revocation could not be checked",
                    list.issuer, cred.issuer.name
                );
                v.not_checked("revocation", reason.clone());
                v.revocation = Revocation::NotChecked { reason };
            }
            Ok((list, _)) => {
                let id = v.certificate_id.clone().unwrap_or_default();
                match list.find(&id) {
                    None => {
                        v.pass(
                            "revocation",
                            format!(
                                "not in revocation list #{} of {}",
                                list.sequence, list.issued
                            ),
                        );
                        v.revocation = Revocation::NotRevoked {
                            sequence: list.sequence,
                            issued: list.issued,
                        };
                    }
                    Some(entry) => {
                        let mut detail = format!("revoked on {}: {}", entry.date, entry.reason);
                        if let Some(r) = &entry.replaced_by {
                            let _ = write!(detail, "; replaced by {r}");
                        }
                        v.fail("revocation", detail, Class::Mismatch);
                        v.revocation = Revocation::Revoked {
                            sequence: list.sequence,
                            issued: list.issued,
                            entry: entry.clone(),
                        };
                    }
                }
            }
        },
    }
    v.credential = Some(cred);
    v
}
