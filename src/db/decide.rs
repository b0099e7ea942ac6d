//! A trainer's decisions made straight against the shared store: review on the trainer's
//! own machine, which holds no copy of the attempts. Each decision becomes an audit entry
//! exactly as the desk's store makes it ([`crate::store::audit::audit_entry`]), built on the
//! attempt as the server has it at that moment (its decisions so far, its current machine
//! report), and is inserted in the trainer's name; the database takes it only from that
//! trainer. Decisions that belong together (a correction and its re-grade) go in one
//! transaction: both are recorded or neither.

use super::reader::PgStore;
use super::upload::record_decision;
use super::DbError;
use crate::store::audit::{audit_entry, DecidedOn, Decision};
use crate::store::{AttemptId, AttemptSummary, AuditEntry};

/// One decision and what it produced: the corrected transcript or re-graded report.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    pub decision: Decision,
    pub payload: Option<serde_json::Value>,
}

impl Decided {
    pub fn plain(decision: Decision) -> Decided {
        Decided {
            decision,
            payload: None,
        }
    }
}

impl PgStore {
    /// Records `decisions` on attempt `id` in `trainer`'s name, in order and in one
    /// transaction, and returns the attempt's row as the server has it afterwards (with
    /// every trainer's decisions). A refusal (not a trainer, another's name, no such
    /// attempt) records nothing.
    pub fn decide(
        &mut self,
        id: &AttemptId,
        trainer: &str,
        decisions: Vec<Decided>,
        note: &str,
    ) -> Result<AttemptSummary, DbError> {
        let (attempt, summary) = self.retrying(|p| Ok((p.load(id)?, p.summary(id)?)))?;
        let mut summary = summary.ok_or_else(|| {
            DbError::Local(format!(
                "no attempt {id} in the shared store (or it is not yours to see); see `ringcoach store list`"
            ))
        })?;
        let mut report = attempt.regraded_report.or(attempt.report);
        let mut audit: Vec<AuditEntry> = attempt.audit;
        let mut entries = Vec::with_capacity(decisions.len());
        for d in decisions {
            let on = DecidedOn {
                summary: &summary,
                audit: &audit,
                report: report.as_ref(),
            };
            let entry =
                audit_entry(on, trainer, d.decision.clone(), note).map_err(DbError::Store)?;
            // The next decision is made on the attempt as this one leaves it.
            match (&d.decision, &d.payload) {
                (Decision::Correction { corrected_text }, _) => {
                    summary.text = corrected_text.clone()
                }
                (Decision::Regrade { .. }, Some(p)) => report = Some(p.clone()),
                _ => {}
            }
            audit.push(entry.clone());
            entries.push((entry, d.payload));
        }
        let during = || format!("recording {trainer}'s decision on {id}");
        let mut tx = self
            .client()
            .transaction()
            .map_err(|e| DbError::sql(during(), e))?;
        for (entry, payload) in &entries {
            record_decision(&mut tx, id, entry, payload.as_ref())
                .map_err(|e| refused(e, trainer))?;
        }
        tx.commit().map_err(|e| DbError::sql(during(), e))?;
        self.retrying(|p| p.summary(id))?
            .ok_or_else(|| DbError::Local(format!("attempt {id} is no longer in the shared store")))
    }
}

/// The database's own refusal (row-level security: not a trainer, or another's name) in
/// words that say what to do.
fn refused(e: DbError, trainer: &str) -> DbError {
    if e.code() != Some("42501") {
        return e;
    }
    DbError::Config(format!(
        "the shared store takes decisions only from a trainer, in the name they connect as, and refused this one in {trainer}'s name: connect as {trainer}, or ask the room's administrator to add you as a trainer (ringcoach db add-user NAME --role trainer)"
    ))
}
