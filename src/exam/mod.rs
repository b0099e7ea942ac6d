//! Certification sittings: a suite's calls taken once each, in order, by one candidate —
//! on the exam screen (the practice screen in exam mode) or imported from recordings made
//! elsewhere — graded by the same grader, saved in the same store, sealed when the last
//! call ends, settled by a trainer in review, and turned into a certificate record.
//!
//! - [`sitting`]: the sitting record on disk and the recordings it keeps;
//! - [`seal`]: the signed list of every file's hash, written when the sitting ends;
//! - [`import`]: a sitting from a manifest of WAV files;
//! - [`certify`]: open items (checks still uncertain) and the certificate record.
//!
//! The suites themselves are data ([`crate::scenario::suite`]); the certificate is
//! [`crate::cert`]'s.

pub mod certify;
pub mod import;
pub mod seal;
pub mod sitting;

use std::path::PathBuf;

pub use certify::{open_items, OpenItem};
pub use seal::{CheckedSeal, Swapped};
pub use sitting::{Candidate, SittingRecord, SittingState, Sittings};

use crate::grading::{grade_model_answer, Verdict};
use crate::scenario::{phrases, Catalog, OrgProfile, ScenarioError, Suite};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ExamError {
    #[error("cannot {action} {path}: {err}")]
    Io {
        action: &'static str,
        path: PathBuf,
        err: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("no sitting {id:?} in {dir}; see `ringcoach exam list`")]
    NoSitting { id: String, dir: PathBuf },
    #[error("sitting {id} was never sealed (its exam was interrupted before it ended): end it with `ringcoach exam end {id}` (the calls not taken count as failed), then certify it")]
    NotSealed { id: String },
    #[error("the seal {path} does not hold: {why}; the sitting cannot be certified")]
    BadSeal { path: PathBuf, why: String },
    #[error("sitting {id}: {}", files.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Swapped { id: String, files: Vec<Swapped> },
    #[error("{} item(s) still open, settle them in `ringcoach review --sittings` first: {}", items.len(), items.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Unsettled { items: Vec<OpenItem> },
    #[error("{0}")]
    Invalid(String),
}

/// What needs the grader to see in a suite: a call that even its scenario's best model
/// answer cannot pass (below the call mark, or failing a critical check) makes the suite
/// impossible. Each problem is located at the call's scenario.
pub fn suite_problems(suite: &Suite, catalog: &Catalog) -> Vec<String> {
    let rules = suite.rules();
    let mut out = Vec::new();
    for (call, spec) in suite
        .resolved_calls(&catalog.org)
        .iter()
        .zip(suite.calls.get_ref())
    {
        let Ok(sc) = catalog.get(&call.scenario) else {
            continue;
        };
        let org = OrgProfile {
            name: call.org.clone(),
        };
        let best = sc
            .model_answers
            .get_ref()
            .iter()
            .map(|a| {
                let r = grade_model_answer(sc, &catalog.phrasebook, &org, a);
                let critical = r.checks.iter().any(|c| {
                    c.verdict == Verdict::Fail
                        && (c.critical
                            || crate::cert::credential::matches_critical(&rules.critical, &c.id))
                });
                (if critical { 0 } else { r.score }, a)
            })
            .max_by_key(|(s, _)| *s);
        if let Some((score, answer)) = best {
            if score < rules.call_mark {
                let p = crate::scenario::problem_at(
                    &suite.file,
                    &suite.source,
                    spec.scenario.span(),
                    format!(
                        "call {} (`{}`): its best model answer ({:?}) scores {score}, below the call mark {}: no candidate could pass it",
                        call.index,
                        call.scenario,
                        phrases(&answer.turns).collect::<Vec<_>>().join(" / "),
                        rules.call_mark
                    ),
                );
                out.push(p.to_string());
            }
        }
    }
    out
}
