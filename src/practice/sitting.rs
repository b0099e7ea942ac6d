//! The runtime's part of exam mode: which scenario and organisation each call of the suite
//! has, which input file plays each turn, and the sitting in the store — started by the
//! proctor, each call recorded into it as it is saved, ended and sealed when the last call
//! ends or the candidate leaves.

use std::path::{Path, PathBuf};

use super::exam::Ended;
use crate::audio::ring::RingCadence;
use crate::exam::seal::seal;
use crate::exam::sitting::{
    Candidate, ModelInfo, SittingRecord, SittingState, Sittings, Source, SuiteSnapshot, TakenCall,
    Taking, TurnAudio,
};
use crate::exam::ExamError;
use crate::grading::Org;
use crate::scenario::{Catalog, PickupRule, ScenarioError};
use crate::store::{AttemptId, Store, Timestamp};

/// What an exam needs besides practice's options.
#[derive(Debug, Clone)]
pub struct ExamPlan {
    pub suite: SuiteSnapshot,
    pub candidate: Candidate,
}

/// One call of the suite, resolved against the catalog.
#[derive(Debug, Clone)]
struct PlannedCall {
    scenario: usize,
    org: Org,
    pickup: PickupRule,
    turns: usize,
}

/// The sitting as the runtime drives it.
pub struct ExamRun {
    pub plan: ExamPlan,
    sittings: Sittings,
    calls: Vec<PlannedCall>,
    rec: Option<SittingRecord>,
    /// The sitting's lock while this screen takes it.
    taking: Option<Taking>,
    ended: Option<Ended>,
}

impl ExamRun {
    pub fn new(plan: ExamPlan, catalog: &Catalog, store: &Store) -> Result<ExamRun, ScenarioError> {
        let mut calls = Vec::new();
        for c in &plan.suite.calls {
            let scenario = catalog
                .scenarios
                .iter()
                .position(|s| s.id() == c.scenario)
                .ok_or_else(|| ScenarioError::UnknownScenario {
                    id: c.scenario.clone(),
                    valid: catalog.ids().join(", "),
                })?;
            calls.push(PlannedCall {
                scenario,
                org: Org::given(c.org.clone()),
                pickup: c.pickup,
                turns: catalog.scenarios[scenario].caller_turns.len().max(1),
            });
        }
        Ok(ExamRun {
            plan,
            sittings: Sittings::of(store),
            calls,
            rec: None,
            taking: None,
            ended: None,
        })
    }

    /// The catalog index of call `call` (0-based).
    pub fn scenario(&self, call: usize) -> usize {
        self.calls.get(call).map_or(0, |c| c.scenario)
    }

    pub fn org(&self, call: usize) -> Option<&Org> {
        self.calls.get(call).map(|c| &c.org)
    }

    /// The input file that plays turn `turn` of call `call`: the files are the turns of
    /// every call in order (the last one repeats).
    pub fn input(&self, inputs: &[PathBuf], call: usize, turn: usize) -> Option<PathBuf> {
        let before: usize = self.calls.iter().take(call).map(|c| c.turns).sum();
        let last = inputs.len().checked_sub(1)?;
        Some(inputs[(before + turn).min(last)].clone())
    }

    /// When a call that connects by itself picks up: after the suite's ring count, in the
    /// pause that follows that ring.
    pub fn auto_pickup_ms(&self, call: usize, cadence: &RingCadence) -> Option<u64> {
        match self.calls.get(call)?.pickup {
            PickupRule::Candidate => None,
            PickupRule::AfterRings(n) => {
                Some(cadence.ring_starts_at_ms(n) + cadence.on_ms + cadence.off_ms.min(400) / 2)
            }
        }
    }

    pub fn sitting_id(&self) -> Option<String> {
        self.rec.as_ref().map(|r| r.id.clone())
    }

    /// The proctor started the sitting.
    pub fn start(&mut self, store: &Store, device: String, model: &Path) -> Result<(), ExamError> {
        if self.rec.is_some() {
            return Ok(());
        }
        let _ = store;
        let rec = self.sittings.start(
            self.plan.candidate.clone(),
            self.plan.suite.clone(),
            Source::Exam,
            device,
            ModelInfo::of(model)?,
            Timestamp::now(),
        )?;
        self.taking = Some(self.sittings.hold(&rec.id)?);
        self.rec = Some(rec);
        Ok(())
    }

    /// A call was saved as `attempt`: keep its turns' recordings and add it to the sitting.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        call: usize,
        attempt: AttemptId,
        rings: u32,
        pickup_ms: u64,
        started: Timestamp,
        turns: Vec<Vec<f32>>,
    ) -> Result<(), ExamError> {
        let Some(rec) = self.rec.as_mut() else {
            return Err(ExamError::Invalid(
                "no sitting was started for this call".into(),
            ));
        };
        let spec = rec
            .suite
            .calls
            .get(call)
            .cloned()
            .ok_or_else(|| ExamError::Invalid(format!("the suite has no call {}", call + 1)))?;
        let taken = TakenCall {
            index: spec.index,
            scenario: spec.scenario,
            org: spec.org,
            attempt,
            rings: Some(rings),
            pickup_ms: Some(pickup_ms),
            started,
            ended: Timestamp::now(),
            turns: Vec::new(),
        };
        self.sittings.record_call(
            rec,
            taken,
            turns.into_iter().map(TurnAudio::Samples).collect(),
        )
    }

    /// Ends the sitting (incomplete unless every call was taken) and seals it. Ending twice
    /// returns the first seal.
    pub fn end(&mut self, store: &Store) -> Result<Ended, ExamError> {
        if let Some(e) = &self.ended {
            return Ok(e.clone());
        }
        let Some(rec) = self.rec.as_mut() else {
            return Err(ExamError::Invalid("the sitting was never started".into()));
        };
        self.sittings.end(rec, Timestamp::now())?;
        let sealed = seal(&self.sittings, store, rec, Timestamp::now())?;
        let ended = Ended {
            sitting: rec.id.clone(),
            complete: rec.state == SittingState::Complete,
            seal: sealed.sha256,
        };
        self.ended = Some(ended.clone());
        Ok(ended)
    }
}
