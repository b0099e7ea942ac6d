//! The review runtime: carries out the state machine's [`Effect`]s against the attempts
//! ([`Attempts`]: this machine's store, or the training room's shared one), the grader and
//! the speakers, and hands the screens to [`crate::tui`]'s event loop (which
//! restores the terminal on every exit path and keeps stderr in a log file meanwhile).

use std::time::Duration;

use crossterm::event::KeyEvent;
use ratatui::Frame;

use super::model::{regrade, AttemptView, ProgressView, RegradeError};
use super::{Done, Effect, Key, Msg, Review};
use crate::audio::devices::AudioIoError;
use crate::audio::playback::{AudioSink, Clip, Playback};
use crate::db::decide::Decided;
use crate::db::{AttemptSource, DbError, PgStore, SourceError};
use crate::report::{current_report, gather, ReportError};
use crate::scenario::{Catalog, ScenarioError};
use crate::store::audit::Decision;
use crate::store::{Attempt, AttemptId, AttemptSummary, Query, Store, StoreError};
use crate::transcribe::Transcript;
use crate::tui::{self, Program};

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Regrade(#[from] RegradeError),
    #[error(transparent)]
    Audio(#[from] AudioIoError),
    #[error(transparent)]
    Exam(#[from] crate::exam::ExamError),
    #[error("attempt {id} has no grade to correct yet (its call was interrupted or not transcribed): grade its recording first with `ringcoach store regrade {id}`")]
    NoReport { id: AttemptId },
    #[error("the certification queue reads this machine's sittings: run `ringcoach review --local` on the machine that holds them")]
    NoSittings,
    #[error("the terminal failed: {0}; run ringcoach review in a real terminal")]
    Terminal(#[from] std::io::Error),
}

impl From<SourceError> for ReviewError {
    fn from(e: SourceError) -> Self {
        match e {
            SourceError::Store(e) => ReviewError::Store(e),
            SourceError::Db(e) => ReviewError::Db(e),
        }
    }
}

/// Where the review reads attempts and records the trainer's decisions: this machine's
/// store (decisions appended to its audit logs, and uploaded from there in a training
/// room), or the training room's shared store (read from the server every time, so
/// several trainers see each other's decisions; decisions recorded there in the trainer's
/// name).
pub enum Attempts {
    Local(Store),
    Shared(Box<PgStore>),
}

impl Attempts {
    fn source(&mut self) -> &mut dyn AttemptSource {
        match self {
            Attempts::Local(s) => s,
            Attempts::Shared(p) => p.as_mut(),
        }
    }

    pub fn list(&mut self, q: &Query) -> Result<Vec<AttemptSummary>, ReviewError> {
        Ok(self.source().list(q)?)
    }

    pub fn load(&mut self, id: &AttemptId) -> Result<Attempt, ReviewError> {
        Ok(self.source().load(id)?)
    }

    /// The recording as a local file (from the shared store: fetched now, or a cached copy
    /// whose hash is checked).
    pub fn audio(&mut self, id: &AttemptId) -> Result<std::path::PathBuf, ReviewError> {
        Ok(self.source().audio(id)?)
    }

    /// Records one decision in `trainer`'s name, with a note.
    pub fn decide(
        &mut self,
        id: &AttemptId,
        trainer: &str,
        decision: Decision,
        note: &str,
    ) -> Result<(), ReviewError> {
        if let d @ (Decision::Correction { .. } | Decision::Regrade { .. }) = decision {
            // They carry a transcript or a report, and go together: see `correct`.
            return Err(StoreError::Invalid(format!("{d:?} is recorded with its re-grade")).into());
        }
        match self {
            Attempts::Local(s) => {
                match decision {
                    Decision::Overrule {
                        check,
                        original,
                        verdict,
                    } => s.overrule(id, trainer, &check, &original, &verdict, note)?,
                    Decision::Unreviewed => s.unmark_reviewed(id, trainer, note)?,
                    _ => s.mark_reviewed(id, trainer, note)?,
                };
            }
            Attempts::Shared(p) => {
                p.decide(id, trainer, vec![Decided::plain(decision)], note)?;
            }
        }
        Ok(())
    }

    /// Records a corrected transcript and its re-grade (in the shared store, both or
    /// neither).
    fn correct(
        &mut self,
        id: &AttemptId,
        trainer: &str,
        corrected: &Transcript,
        report: &serde_json::Value,
        score: f64,
        passed: bool,
    ) -> Result<(), ReviewError> {
        match self {
            Attempts::Local(s) => {
                s.correct_transcript(id, trainer, corrected, "")?;
                // The correction logged just before says why; a fixed note here would be
                // English on a Chinese screen.
                s.regrade(id, trainer, report, score, passed, "")?;
            }
            Attempts::Shared(p) => {
                let transcript = serde_json::to_value(corrected).map_err(|e| {
                    StoreError::Invalid(format!("cannot serialise the transcript: {e}"))
                })?;
                let decisions = vec![
                    Decided {
                        decision: Decision::Correction {
                            corrected_text: corrected.text.clone(),
                        },
                        payload: Some(transcript),
                    },
                    Decided {
                        decision: Decision::Regrade { score, passed },
                        payload: Some(report.clone()),
                    },
                ];
                p.decide(id, trainer, decisions, "")?;
            }
        }
        Ok(())
    }
}

/// What the screens act on: the attempts, the scenarios (for re-grading), the speakers.
pub struct Runtime {
    pub store: Attempts,
    pub catalog: Catalog,
    pub sink: Box<dyn AudioSink>,
    pub trainer: String,
    playback: Option<(Playback, u64)>,
}

impl Runtime {
    pub fn new(store: Store, catalog: Catalog, sink: Box<dyn AudioSink>, trainer: &str) -> Self {
        Self::over(Attempts::Local(store), catalog, sink, trainer)
    }

    /// A runtime over either kind of store.
    pub fn over(
        store: Attempts,
        catalog: Catalog,
        sink: Box<dyn AudioSink>,
        trainer: &str,
    ) -> Self {
        Runtime {
            store,
            catalog,
            sink,
            trainer: trainer.to_string(),
            playback: None,
        }
    }

    /// Loads an attempt as the attempt screen shows it, with the caller's lines of its
    /// scenario between the trainee's turns.
    pub fn open(&mut self, id: &AttemptId) -> Result<AttemptView, ReviewError> {
        let a = self.store.load(id)?;
        let caller: Vec<(String, String)> = self
            .catalog
            .get(&a.meta.info.scenario)
            .map(|sc| {
                sc.caller_turns
                    .iter()
                    .map(|c| (c.zh.clone(), c.en.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(AttemptView::build(&a, &caller)?)
    }

    /// Starts playing an attempt's recording `from_ms` in.
    pub fn play(&mut self, id: &AttemptId, from_ms: u64) -> Result<(), ReviewError> {
        self.stop();
        let clip = Clip::from_wav(&self.store.audio(id)?)?.starting_at_ms(from_ms);
        let p = self.sink.play(Box::new(clip))?;
        self.playback = Some((p, from_ms));
        Ok(())
    }

    pub fn stop(&mut self) {
        if let Some((p, _)) = self.playback.take() {
            p.stop();
        }
    }

    /// Position of the playing recording, or None once it has ended.
    pub fn position(&mut self) -> Option<u64> {
        let done = self.playback.as_ref()?.0.is_finished();
        if done {
            self.playback = None;
            return None;
        }
        self.playback.as_ref().map(|(p, from)| from + p.played_ms())
    }

    /// Saves the corrected transcript, re-grades it with the original's settings, and
    /// stores the new report beside the original. Returns the new effective score (the
    /// re-graded report with the overrules that still apply).
    pub fn correct(&mut self, id: &AttemptId, turns: &[String]) -> Result<u32, ReviewError> {
        let a = self.store.load(id)?;
        let Some(original) = current_report(&a)? else {
            return Err(ReviewError::NoReport { id: id.clone() });
        };
        let report = regrade(&self.catalog, &original, turns)?;
        // Stored as heard ones are: the turns one per line.
        let corrected = Transcript {
            text: turns.join("\n"),
            segments: vec![],
            cut_off: None,
        };
        let json = serde_json::to_value(&report).map_err(|e| {
            StoreError::Invalid(format!("cannot serialise the re-graded report: {e}"))
        })?;
        self.store.correct(
            id,
            &self.trainer,
            &corrected,
            &json,
            f64::from(report.score),
            report.passed,
        )?;
        let view = self.open(id)?;
        Ok(view.score.unwrap_or(report.score))
    }

    /// Carries out one effect; returns the messages it produced. Failures become a status
    /// line: the review goes on.
    pub fn effect(&mut self, fx: Effect) -> Vec<Msg> {
        match self.try_effect(fx) {
            Ok(m) => m,
            Err(e) => vec![Msg::Failed(e.to_string())],
        }
    }

    fn try_effect(&mut self, fx: Effect) -> Result<Vec<Msg>, ReviewError> {
        Ok(match fx {
            Effect::List(q) => vec![Msg::Listed(self.store.list(&q)?)],
            Effect::Open(id) => vec![Msg::Opened(Box::new(self.open(&id)?))],
            Effect::Progress(trainee) => {
                let r = gather(self.store.source(), &trainee, None, None)?;
                vec![Msg::Progress(Box::new(ProgressView::from_report(&r)))]
            }
            Effect::Play { id, from_ms } => {
                self.play(&id, from_ms)?;
                vec![Msg::Playing { from_ms }]
            }
            Effect::StopPlay => {
                self.stop();
                vec![Msg::PlayEnded]
            }
            Effect::Overrule {
                id,
                check,
                original,
                verdict,
                note,
            } => {
                let decision = Decision::Overrule {
                    check: check.clone(),
                    original: original.clone(),
                    verdict: verdict.clone(),
                };
                self.store.decide(&id, &self.trainer, decision, &note)?;
                vec![
                    Msg::Opened(Box::new(self.open(&id)?)),
                    Msg::Done(Done::Overruled {
                        check,
                        original,
                        verdict,
                    }),
                ]
            }
            Effect::Correct { id, turns } => {
                let score = self.correct(&id, &turns)?;
                vec![
                    Msg::Opened(Box::new(self.open(&id)?)),
                    Msg::Done(Done::Corrected { score }),
                ]
            }
            Effect::UnmarkReviewed(id) => {
                self.store
                    .decide(&id, &self.trainer, Decision::Unreviewed, "")?;
                vec![
                    Msg::Opened(Box::new(self.open(&id)?)),
                    Msg::Done(Done::Unreviewed),
                ]
            }
            Effect::MarkReviewed(id) => {
                self.store
                    .decide(&id, &self.trainer, Decision::Reviewed, "")?;
                vec![
                    Msg::Opened(Box::new(self.open(&id)?)),
                    Msg::Done(Done::Reviewed),
                ]
            }
            Effect::ListSettle => match &self.store {
                Attempts::Local(store) => vec![Msg::Settle(Box::new(
                    super::settle::SettleView::build(store)?,
                ))],
                Attempts::Shared(_) => return Err(ReviewError::NoSittings),
            },
            Effect::Quit => vec![],
        })
    }
}

/// Feeds `msgs` through the state machine and the runtime until nothing is left; true when
/// the review should end.
pub fn pump(review: &mut Review, rt: &mut Runtime, mut msgs: Vec<Msg>) -> bool {
    while !msgs.is_empty() {
        let mut next = vec![];
        for m in msgs {
            for fx in review.update(m) {
                if fx == Effect::Quit {
                    rt.stop();
                    return true;
                }
                next.extend(rt.effect(fx));
            }
        }
        msgs = next;
    }
    false
}

/// Applies the first effects (the queue listing) before the screen opens.
pub fn start(review: &mut Review, rt: &mut Runtime) {
    let first: Vec<Msg> = review
        .start()
        .into_iter()
        .flat_map(|fx| rt.effect(fx))
        .collect();
    pump(review, rt, first);
}

/// The review screens as the event loop drives them.
struct Screens {
    review: Review,
    rt: Runtime,
}

impl Program for Screens {
    type Msg = Msg;
    const TICK: Duration = Duration::from_millis(100);

    fn draw(&self, frame: &mut Frame) {
        super::views::render(&self.review, frame);
    }

    fn key(&self, key: &KeyEvent) -> Option<Msg> {
        Key::from_event(key).map(Msg::Key)
    }

    fn wants_ticks(&self) -> bool {
        self.review.playing.is_some()
    }

    fn tick(&mut self) -> Vec<Msg> {
        vec![match self.rt.position() {
            Some(ms) => Msg::PlayAt(ms),
            None => Msg::PlayEnded,
        }]
    }

    fn pump(&mut self, msgs: Vec<Msg>) -> bool {
        pump(&mut self.review, &mut self.rt, msgs)
    }
}

/// Runs the review screens until the trainer quits.
pub fn run(mut review: Review, mut rt: Runtime) -> Result<(), ReviewError> {
    start(&mut review, &mut rt);
    tui::run(&mut Screens { review, rt }, &tui::log_path("review"))?;
    Ok(())
}
