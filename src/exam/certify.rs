//! From a sealed sitting to a certificate record: each call's report and the trainer's
//! decisions from the store, turned into the certificate's calls; what is still uncertain
//! is an open item, and while there is one there is no certificate.

use serde::Serialize;

use super::seal::CheckedSeal;
use super::sitting::{SittingRecord, Sittings, TakenCall};
use super::ExamError;
use crate::cert::{
    evaluate, CallRecord, Candidate, CertificateRecord, CheckRecord, IssuerRef, ModelRef, Overrule,
    PassRules, RubricHash, Sitting, Software, SuiteRef, TurnRecord,
};
use crate::grading::{Decision, Verdict};
use crate::report::Effective;
use crate::store::{Attempt, AttemptId, Store};

/// A check of a sitting's call that is still uncertain: a trainer must settle it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenItem {
    pub sitting: String,
    pub candidate: String,
    /// 1-based call of the suite.
    pub call: u32,
    pub scenario: String,
    pub attempt: AttemptId,
    pub check: String,
    pub message_zh: String,
    pub message_en: String,
    /// The call's transcript as graded.
    pub heard: String,
    /// An overrule that a re-grade no longer matches (keep it or drop it), rather than an
    /// uncertain verdict.
    pub stale: bool,
}

impl std::fmt::Display for OpenItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "call {} ({}) check {} {} (attempt {})",
            self.call,
            self.scenario,
            self.check,
            if self.stale {
                "has an overrule the re-grade no longer matches"
            } else {
                "is uncertain"
            },
            self.attempt
        )
    }
}

/// One call as the store has it now: its attempt and its effective result (the current
/// machine report with the trainers' decisions applied by `grading::settle`).
struct Loaded<'a> {
    call: &'a TakenCall,
    attempt: Attempt,
    effective: Effective,
}

fn load_call<'a>(store: &Store, call: &'a TakenCall) -> Result<Loaded<'a>, ExamError> {
    let attempt = store.load(&call.attempt)?;
    let effective = Effective::of(&attempt)
        .map_err(|e| ExamError::Invalid(e.to_string()))?
        .ok_or_else(|| {
            ExamError::Invalid(format!(
                "call {} (attempt {}) has no report: it was never graded",
                call.index, call.attempt
            ))
        })?;
    Ok(Loaded {
        call,
        attempt,
        effective,
    })
}

/// What a trainer must still decide in a sitting, call by call: checks whose settled
/// verdict is uncertain, and overrules a re-grade no longer matches.
pub fn open_items(store: &Store, rec: &SittingRecord) -> Result<Vec<OpenItem>, ExamError> {
    let mut out = Vec::new();
    for call in &rec.calls {
        let l = load_call(store, call)?;
        let report = &l.effective.report;
        for (c, s) in report.checks.iter().zip(&l.effective.settled.checks) {
            let stale = matches!(s.decision, Decision::NoLongerMatches(_));
            if s.verdict == Verdict::Uncertain || stale {
                out.push(OpenItem {
                    sitting: rec.id.clone(),
                    candidate: rec.candidate.name.clone(),
                    call: call.index,
                    scenario: call.scenario.clone(),
                    attempt: call.attempt.clone(),
                    check: c.id.clone(),
                    message_zh: c.message.zh.clone(),
                    message_en: c.message.en.clone(),
                    heard: report.transcript.clone(),
                    stale,
                });
            }
        }
    }
    Ok(out)
}

/// The suite's rules as the certificate states them.
pub fn pass_rules(rec: &SittingRecord) -> PassRules {
    let r = &rec.suite.rules;
    PassRules {
        total_calls: r.total_calls,
        call_mark: r.call_mark,
        overall_mark: r.overall_mark,
        calls_required: r.calls_required,
        critical: r.critical.clone(),
    }
}

/// A call as the certificate holds it. Verdicts, score and the overrules that decide come
/// from the effective result (`grading::settle`); the suite's pass rules are applied later,
/// by `cert::evaluate`, over all calls.
fn call_record(l: &Loaded) -> Result<CallRecord, ExamError> {
    let call = l.call;
    let Effective {
        report,
        settled,
        decisions,
    } = &l.effective;
    let checks = report
        .checks
        .iter()
        .zip(&settled.checks)
        .map(|(c, s)| CheckRecord {
            id: c.id.clone(),
            category: c.category.clone(),
            critical: c.critical,
            weight: c.weight,
            machine: s.machine,
            final_verdict: s.verdict,
        })
        .collect();
    // The overrules that decide a verdict of the current machine report, in the order they
    // were made (earlier decisions on the same report stay in the store's audit log).
    let mut deciding: Vec<usize> = settled
        .checks
        .iter()
        .filter_map(|s| match s.decision {
            Decision::Overruled(o) => Some(o),
            _ => None,
        })
        .collect();
    deciding.sort_unstable();
    let overrules = deciding
        .into_iter()
        .map(|o| {
            let d = &decisions.overrules[o];
            let entry = &l.attempt.audit[decisions.entries[o]];
            let machine = report
                .checks
                .iter()
                .zip(&settled.checks)
                .find(|(c, _)| c.id == d.check)
                .map_or(d.graded, |(_, s)| s.machine);
            Overrule {
                item: d.check.clone(),
                from: machine,
                to: d.verdict,
                trainer: entry.trainer.clone(),
                time: entry.time,
                note: entry.note.clone(),
            }
        })
        .collect();
    if report.turns.len() != call.turns.len() {
        return Err(ExamError::Invalid(format!(
            "call {}: the report has {} turn(s) but {} recording(s) were kept",
            call.index,
            report.turns.len(),
            call.turns.len()
        )));
    }
    let turns = report
        .turns
        .iter()
        .zip(&call.turns)
        .map(|(t, f)| TurnRecord::new(&t.transcript, &f.audio_sha256))
        .collect();
    Ok(CallRecord {
        index: call.index,
        scenario: call.scenario.clone(),
        organisation: call.org.clone(),
        rings: call.rings.or(report.rings),
        pickup_ms: call.pickup_ms,
        turns,
        checks,
        overrules,
        score: settled.score,
        passed: false,
        attempts: 1,
    })
}

/// The certificate record of a sealed sitting, for `issuer`. Refuses with
/// [`ExamError::Unsettled`] (naming every item) while any check is uncertain.
pub fn record(
    store: &Store,
    sittings: &Sittings,
    rec: &SittingRecord,
    seal: &CheckedSeal,
    issuer: IssuerRef,
    supersedes: Option<String>,
) -> Result<CertificateRecord, ExamError> {
    let _ = sittings;
    let open = open_items(store, rec)?;
    if !open.is_empty() {
        return Err(ExamError::Unsettled { items: open });
    }
    let mut calls = Vec::new();
    for call in &rec.calls {
        calls.push(call_record(&load_call(store, call)?)?);
    }
    let rules = pass_rules(rec);
    let outcome = evaluate(&rules, &calls);
    for (c, o) in calls.iter_mut().zip(&outcome.calls) {
        c.passed = o.passed;
    }
    Ok(CertificateRecord {
        format: crate::cert::credential::FORMAT,
        candidate: Candidate {
            name: rec.candidate.name.clone(),
            employee_id: rec.candidate.employee_id.clone(),
        },
        issuer,
        suite: SuiteRef {
            id: rec.suite.id.clone(),
            version: rec.suite.version.clone(),
            sha256: rec.suite.sha256.clone(),
            title_zh: rec.suite.title_zh.clone(),
            title_en: rec.suite.title_en.clone(),
        },
        rubrics: rec
            .suite
            .rubrics
            .iter()
            .map(|(scenario, sha256)| RubricHash {
                scenario: scenario.clone(),
                sha256: sha256.clone(),
            })
            .collect(),
        rules,
        sitting: Sitting {
            id: rec.id.clone(),
            started: rec.started,
            ended: seal.seal.ended,
            seal_sha256: Some(seal.sha256.clone()),
        },
        software: Software {
            ringcoach: rec.ringcoach.clone(),
            model: ModelRef {
                name: rec.model.name.clone(),
                sha256: rec.model.sha256.clone(),
            },
        },
        result: outcome.stated(),
        calls,
        supersedes,
    })
}
