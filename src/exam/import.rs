//! A sitting from recordings made elsewhere (a phone system): a manifest lists the calls in
//! the suite's order, each with its pickup and its trainee turns as WAV files (paths
//! relative to the manifest). Each call is heard and graded exactly as on the exam screen
//! (`grading::Call`), saved in the store as an attempt of the sitting, its turn files kept
//! byte for byte; then the sitting is ended and sealed.
//!
//! ```toml
//! started = 2026-11-27T09:00:00+08:00   # optional: when the candidate sat (default: now)
//! [[call]]
//! scenario = "answer-call"
//! rings = 2                 # or pickup_ms = 6500
//! turns = ["call1/turn1.wav"]
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::seal::{seal, CheckedSeal};
use super::sitting::{
    Candidate, ModelInfo, SittingRecord, Sittings, Source, SuiteSnapshot, TakenCall, TurnAudio,
};
use super::ExamError;
use crate::audio::wav::read_wav_16k_with_format;
use crate::grading::{Call, Heard, Org, Pickup, Report, Verdict};
use crate::scenario::{problem_at, Catalog, PickupRule, Problem, Suite};
use crate::store::{AttemptInfo, AudioFormat, Outcome, Store, Timestamp};
use crate::transcribe::clip::hear_samples_asking;
use crate::transcribe::{Transcriber, Transcript};

/// The longest turn accepted, as `transcribe` does.
const MAX_TURN: Duration = Duration::from_secs(10 * 60);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    #[serde(default)]
    started: Option<Spanned<toml::value::Datetime>>,
    #[serde(default)]
    ended: Option<Spanned<toml::value::Datetime>>,
    #[serde(rename = "call")]
    calls: Spanned<Vec<ManifestCall>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestCall {
    scenario: Spanned<String>,
    #[serde(default)]
    rings: Option<Spanned<u32>>,
    #[serde(default)]
    pickup_ms: Option<Spanned<u64>>,
    turns: Spanned<Vec<Spanned<String>>>,
}

/// One call of a manifest, checked against the suite.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedCall {
    pub index: u32,
    pub scenario: String,
    pub org: String,
    pub pickup: Pickup,
    pub turns: Vec<PathBuf>,
}

/// A manifest, read and checked: every problem is located as file:line:col.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub started: Option<Timestamp>,
    pub ended: Option<Timestamp>,
    pub calls: Vec<PlannedCall>,
}

fn timestamp(d: &Spanned<toml::value::Datetime>) -> Result<Timestamp, String> {
    Timestamp::parse(&d.get_ref().to_string()).map_err(|e| e.to_string())
}

/// Reads a manifest and checks it against `suite`: the calls in the suite's order (fewer
/// makes an incomplete sitting), a pickup where the rubric grades rings, turn files that
/// exist.
pub fn plan(manifest: &Path, suite: &Suite, catalog: &Catalog) -> Result<Plan, Vec<Problem>> {
    let file = manifest.display().to_string();
    let src = std::fs::read_to_string(manifest).map_err(|e| {
        vec![Problem {
            file: file.clone(),
            line: 1,
            col: 1,
            message: format!("cannot read the manifest: {e}"),
        }]
    })?;
    let m: Manifest = toml::from_str(&src).map_err(|e| {
        vec![problem_at(
            &file,
            &src,
            e.span().unwrap_or(0..0),
            e.message().trim().replace('\n', " "),
        )]
    })?;
    let base = manifest.parent().unwrap_or(Path::new("."));
    let mut problems = Vec::new();
    let mut at = |span: std::ops::Range<usize>, message: String| {
        problems.push(problem_at(&file, &src, span, message))
    };
    let mut times = [None, None];
    for (slot, d) in times.iter_mut().zip([&m.started, &m.ended]) {
        if let Some(d) = d {
            match timestamp(d) {
                Ok(t) => *slot = Some(t),
                Err(e) => at(d.span(), e),
            }
        }
    }
    let expected = suite.resolved_calls(&catalog.org);
    if m.calls.get_ref().is_empty() {
        at(
            m.calls.span(),
            "the manifest lists no [[call]]: give the calls in the suite's order".into(),
        );
    }
    if m.calls.get_ref().len() > expected.len() {
        at(
            m.calls.get_ref()[expected.len()].scenario.span(),
            format!(
                "suite {} has {} call(s); the manifest lists {}",
                suite.id(),
                expected.len(),
                m.calls.get_ref().len()
            ),
        );
    }
    let mut calls = Vec::new();
    for (c, want) in m.calls.get_ref().iter().zip(&expected) {
        if c.scenario.get_ref() != &want.scenario {
            at(
                c.scenario.span(),
                format!(
                    "call {} of suite {} is `{}`, not `{}`: list the calls in the suite's order",
                    want.index,
                    suite.id(),
                    want.scenario,
                    c.scenario.get_ref()
                ),
            );
            continue;
        }
        let grades_rings = catalog
            .get(&want.scenario)
            .map(|s| s.rubric.rings)
            .unwrap_or(false);
        let pickup = match (&c.rings, &c.pickup_ms, want.pickup) {
            (Some(_), Some(p), _) => {
                at(p.span(), "give `rings` or `pickup_ms`, not both".into());
                continue;
            }
            (Some(n), None, _) => Pickup::Rings(*n.get_ref()),
            (None, Some(ms), _) => Pickup::AfterMs(*ms.get_ref()),
            (None, None, PickupRule::AfterRings(n)) => Pickup::Rings(n),
            (None, None, PickupRule::Candidate) if grades_rings => {
                at(
                    c.scenario.span(),
                    format!(
                        "call {} (`{}`) grades the pickup: give `rings = N` or `pickup_ms = MS` from the phone system",
                        want.index, want.scenario
                    ),
                );
                continue;
            }
            (None, None, PickupRule::Candidate) => Pickup::Unknown,
        };
        if c.turns.get_ref().is_empty() {
            at(
                c.turns.span(),
                "`turns` is empty: list the candidate's recordings of this call".into(),
            );
            continue;
        }
        let mut turns = Vec::new();
        for t in c.turns.get_ref() {
            let p = base.join(t.get_ref());
            if !p.is_file() {
                at(
                    t.span(),
                    format!(
                        "{} does not exist (paths are relative to the manifest)",
                        p.display()
                    ),
                );
            }
            turns.push(p);
        }
        calls.push(PlannedCall {
            index: want.index,
            scenario: want.scenario.clone(),
            org: want.org.clone(),
            pickup,
            turns,
        });
    }
    if problems.is_empty() {
        Ok(Plan {
            started: times[0],
            ended: times[1],
            calls,
        })
    } else {
        Err(problems)
    }
}

/// What importing produced, call by call.
#[derive(Debug, Clone)]
pub struct Imported {
    pub sitting: SittingRecord,
    pub seal: CheckedSeal,
    pub reports: Vec<Report>,
}

/// One call heard and graded, not yet saved.
struct Graded<'p> {
    call: &'p PlannedCall,
    graded: Call,
    report: Report,
    /// 16 kHz mono, every turn end to end: the attempt's recording.
    samples: Vec<f32>,
    /// Where each turn starts in `samples`, in ms.
    offsets: Vec<u64>,
}

/// Hears, grades and stores every call of `plan` as a sitting of `suite`, then ends and
/// seals it. Every call is heard and graded before anything is written, so a file that
/// cannot be read or heard leaves no half sitting behind. `model` is the Whisper model file
/// `transcriber` runs (its hash goes into the seal).
#[allow(clippy::too_many_arguments)]
pub fn import(
    store: &Store,
    catalog: &Catalog,
    suite: &Suite,
    candidate: Candidate,
    plan: &Plan,
    manifest: &Path,
    model: &Path,
    transcriber: &mut dyn Transcriber,
) -> Result<Imported, ExamError> {
    let model_info = ModelInfo::of(model)?;
    let mut graded = Vec::new();
    for call in &plan.calls {
        let sc = catalog.get(&call.scenario)?;
        let mut heard = Vec::new();
        let mut all: Vec<f32> = Vec::new();
        let mut offsets = Vec::new();
        let org = Org::given(call.org.clone());
        for path in &call.turns {
            let (samples, format) = read_wav_16k_with_format(path, MAX_TURN)
                .map_err(|e| ExamError::Invalid(format!("{}: {e}", path.display())))?;
            // Heard and asked about exactly as at a desk: the same readings decide.
            let (turn, turns) = (heard.len(), call.turns.len());
            let ask = |t: &crate::transcribe::Transcript| {
                crate::grading::questions(sc, &catalog.phrasebook, &org, &heard, turn, turns, t)
            };
            let h = hear_samples_asking(transcriber, &samples, format, &ask)
                .map_err(|e| ExamError::Invalid(format!("{}: {e}", path.display())))?;
            offsets.push(all.len() as u64 * 1000 / 16_000);
            all.extend_from_slice(&samples);
            heard.push(Heard {
                transcript: h.transcript,
                facts: Some(h.facts),
                readings: h.readings,
            });
        }
        let call_in = Call {
            turns: heard,
            pickup: call.pickup,
            org,
        };
        let report = call_in.grade(sc, &catalog.phrasebook);
        graded.push(Graded {
            call,
            graded: call_in,
            report,
            samples: all,
            offsets,
        });
    }

    let sittings = Sittings::of(store);
    let now = Timestamp::now();
    let mut rec = sittings.start(
        candidate.clone(),
        SuiteSnapshot::of(suite, catalog),
        Source::Import,
        format!("import {}", manifest.display()),
        model_info,
        plan.started.unwrap_or(now),
    )?;
    // Held until the sitting is sealed: `exam end` never ends an import half-way.
    let _taking = sittings.hold(&rec.id)?;
    let mut reports = Vec::new();
    for g in graded {
        let Graded {
            call,
            graded,
            report,
            samples,
            offsets,
        } = g;
        let info = AttemptInfo {
            scenario: call.scenario.clone(),
            rubric_sha256: report.rubric_sha256.clone(),
            model: rec.model.name.clone(),
            trainee: candidate.name.clone(),
            device: rec.device.clone(),
            org: call.org.clone(),
            started: Timestamp::now(),
            sitting: Some(rec.id.clone()),
        };
        let started = info.started;
        let outcome = Outcome {
            transcript: Transcript::join_turns(
                graded.turns.iter().map(|t| &t.transcript).zip(offsets),
            ),
            report: serde_json::to_value(&report).expect("a report always serialises"),
            score: f64::from(report.score),
            passed: report.passed,
            needs_review: report
                .checks
                .iter()
                .any(|c| c.verdict == Verdict::Uncertain),
            finished: Timestamp::now(),
        };
        let pcm: Vec<i16> = samples
            .iter()
            .map(|s| (s.clamp(-1.0, 1.0) * 32767.0).round() as i16)
            .collect();
        let summary = store.save(info, AudioFormat::SPEECH, &pcm, outcome)?;
        sittings.record_call(
            &mut rec,
            TakenCall {
                index: call.index,
                scenario: call.scenario.clone(),
                org: call.org.clone(),
                attempt: summary.id,
                rings: report.rings,
                pickup_ms: match call.pickup {
                    Pickup::AfterMs(ms) => Some(ms),
                    _ => None,
                },
                started,
                ended: Timestamp::now(),
                turns: Vec::new(),
            },
            call.turns.iter().cloned().map(TurnAudio::File).collect(),
        )?;
        reports.push(report);
    }
    sittings.end(&mut rec, plan.ended.unwrap_or_else(Timestamp::now))?;
    let sealed = seal(&sittings, store, &rec, Timestamp::now())?;
    Ok(Imported {
        sitting: rec,
        seal: sealed,
        reports,
    })
}
