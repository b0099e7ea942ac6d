//! The practice runtime: owns the audio source and sink, the transcription worker, the
//! grader's inputs and the store, and carries out the pure [`super::App`]'s effects. The
//! screens run on [`crate::tui`]'s event loop, which selects over keys, ticks, audio chunks
//! and worker results as one stream of events.
//!
//! Threads: the audio callback (cpal, inside [`crate::audio`]) only copies into a ring
//! buffer; the capture thread turns that into 16 kHz chunks; the transcription worker owns
//! the model; the event loop does everything else and never blocks on any of them. Ticks
//! run only while something moves on screen (ringing, recording, waiting), so an idle
//! practice screen costs no CPU. Failures are [`PracticeError`]s: before the screen opens
//! they end the command, once it is up they are a status line and the trainee goes on.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use crossterm::event::KeyEvent;
use ratatui::Frame;

use super::mic_record::MicRecord;
use super::model::{check_view, exam_situations, feedback, situations};
use super::sitting::{ExamPlan, ExamRun};
use super::trace::{self as trace_log, CpuSnapshot, Trace, Why};
use super::{App, Effect, Exam, Guesser, Key, MicCheckPlan, Msg, Screen};
use crate::audio::capture::{AudioSource, Capture, Chunk};
use crate::audio::choice::{InputChoice, OutputChoice};
use crate::audio::devices::{self, AudioIoError, Direction};
use crate::audio::facts;
use crate::audio::level::{self, DetectorConfig, SpeechDetector, SpeechEvent};
use crate::audio::playback::{AudioSink, Clip, Playback};
use crate::audio::quality::MicCheck;
use crate::audio::resample::TARGET_RATE;
use crate::audio::ring::RingCadence;
use crate::audio::ringer::Ringer;
use crate::config::{Config, ConfigError};
use crate::grading::{self, Heard, Org, Pickup, Verdict};
use crate::scenario::{rubric_sha256, Catalog, ScenarioError};
use crate::store::{
    self, AttemptInfo, AttemptStatus, AudioFormat, CallFacts, Outcome, Query, SortKey, Store,
    StoreError, Timestamp,
};
use crate::transcribe::worker::{Ask, Request};
use crate::transcribe::{
    self, Asked, TranscribeError, Transcript, WhisperConfig, WhisperTranscriber, Worker,
};
use crate::tui::{self, Program, Source};

/// The longest a microphone check listens (the line takes about three seconds).
const CHECK_LIMIT: Duration = Duration::from_secs(15);

/// How long the feedback screen waits for transcripts before giving up on the call.
const TRANSCRIBE_PATIENCE: Duration = Duration::from_secs(90);

/// How long to wait for a call's transcripts: [`TRANSCRIBE_PATIENCE`], or longer when the
/// config's `[model] time_limit_s` gives every turn more than that. A desk that raised the
/// limit because it is slow must not be cut off by a second, shorter one.
fn transcribe_patience(time_limit_s: Option<f64>, turns: usize) -> Duration {
    let configured = time_limit_s
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(Duration::ZERO, |s| {
            Duration::from_secs_f64(s).saturating_mul(turns.max(1) as u32)
        });
    TRANSCRIBE_PATIENCE.max(configured)
}

/// What can stop the practice screens, each a message that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum PracticeError {
    #[error(transparent)]
    Audio(#[from] AudioIoError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Transcribe(#[from] TranscribeError),
    #[error(transparent)]
    Exam(#[from] crate::exam::ExamError),
    #[error("the terminal failed: {0}; run ringcoach in a real terminal")]
    Terminal(#[from] std::io::Error),
}

/// Everything the practice loop needs, resolved before the terminal is taken over.
pub struct Options {
    pub config: Config,
    /// One WAV per turn played as the microphone (the last one repeats), or the device.
    pub inputs: Vec<PathBuf>,
    pub input_device: Option<String>,
    pub output: OutputChoice,
    pub org: Org,
    pub model: PathBuf,
    pub vad_model: Option<PathBuf>,
    /// Start on this situation instead of the top of the list.
    pub scenario: Option<String>,
    /// A certification sitting instead of practice: the suite's calls in order, once each.
    pub exam: Option<ExamPlan>,
    /// The uploader to the training room's shared store, when one is configured: nudged
    /// when an attempt is saved; its queue is shown on screen.
    pub uploads: Option<crate::db::SyncWorker>,
    /// Whether the microphone is checked before the first call.
    pub mic_check: MicCheckPlan,
}

/// Audio of the call in progress.
struct Recording {
    /// The attempt in the store, its WAV written as the audio arrives, so a killed process
    /// leaves a playable file that the next start recovers.
    saved: Option<store::Recording>,
    capture: Option<Capture>,
    /// Everything since pickup, 16 kHz mono.
    samples: Vec<f32>,
    /// Sample index where each turn began (and the current one's end is `samples.len()`).
    turn_starts: Vec<usize>,
    turn_ends: Vec<usize>,
    detector: SpeechDetector,
    heard_speech: bool,
    turn_started: Instant,
    guesser: Guesser,
    /// The worker's lane for the current turn: a newer request in it makes a guess stale.
    lane: u64,
}

/// The microphone check in progress: what the trainee has said so far.
struct Listening {
    /// The file playing as the microphone, when `--input` files stand in for it; else the
    /// runtime's microphone is listened to.
    capture: Option<Capture>,
    samples: Vec<f32>,
    detector: SpeechDetector,
    heard_speech: bool,
    started: Instant,
}

struct Call {
    /// The situation's place in the list (in an exam, the call of the suite).
    index: usize,
    /// Its scenario in the catalog.
    scenario: usize,
    ringer: Option<Ringer>,
    pickup_ms: u64,
    rings: u32,
    recording: Option<Recording>,
    /// Request ids submitted to the worker, by turn; transcripts as they come back.
    requests: Vec<u64>,
    transcripts: Vec<Option<Transcript>>,
    /// The model's answers about readings of each request's transcript, by request id.
    readings: HashMap<u64, Vec<Asked>>,
    finishing: Option<Instant>,
    /// Every transcription request of the call, for the practice log.
    trace: Trace,
}

pub struct Runtime {
    opts: Options,
    catalog: Catalog,
    store: Store,
    trainee: String,
    sink: Box<dyn AudioSink>,
    /// Running mic capture, kept across calls (opening a device takes seconds).
    mic: Option<Capture>,
    /// Always Some until drop; an Option so quitting need not wait for a transcription.
    worker: Option<Worker>,
    worker_rx: Receiver<transcribe::Event>,
    call: Option<Call>,
    next_request: u64,
    next_lane: u64,
    playback: Option<Playback>,
    last_audio: Option<Vec<f32>>,
    cadence: RingCadence,
    /// Exam mode's sitting, when this is one.
    exam: Option<ExamRun>,
    /// The microphone check in progress.
    check: Option<Listening>,
    /// The microphones that passed the check.
    mic_record: MicRecord,
}

impl Runtime {
    pub fn new(opts: Options, catalog: Catalog, store: Store) -> Result<Self, PracticeError> {
        // Fail before the phone rings: a bad input file or output device is said now.
        for input in &opts.inputs {
            InputChoice::File(input.clone()).open()?;
        }
        let sink = opts.output.open()?;
        // Prove the speaker and the microphone work now, while an error is still one plain
        // line on the console ("no audio input device found: use `--input FILE.wav` …").
        sink.play(Box::new(Clip::new(vec![0.0; 160], TARGET_RATE)))?
            .stop();
        let mic = if opts.inputs.is_empty() {
            let mut src = InputChoice::Device(opts.input_device.clone()).open()?;
            Some(src.start()?)
        } else {
            None
        };
        // The phrase book's cadence (the grader counts rings by it) at the configured pitch.
        // An inaudible tone, or an old config cadence that disagrees, is said now, not as a
        // silent phone or a miscounted ring.
        let cadence = opts
            .config
            .ring
            .cadence(catalog.phrasebook.settings.ring_cadence())?;
        let (tx, worker_rx) = crossbeam_channel::unbounded();
        let mut cfg = WhisperConfig::new(opts.model.clone(), opts.vad_model.clone());
        if opts.exam.is_some() {
            // No feedback waits between exam calls, and a transcript cut short by a busy
            // machine would fail the candidate's call: in an exam, slow beats cut.
            cfg.time_base = Duration::from_secs(600);
        } else if let Some(s) = opts.config.model.time_limit_s {
            // The configured limit is the whole limit: a slow desk raises it.
            cfg.time_base = Duration::from_secs_f64(s);
            cfg.time_per_speech_second = Duration::ZERO;
        }
        transcribe::whisper::route_logging();
        let worker = Worker::spawn_loading(move || WhisperTranscriber::new(cfg), tx);
        let exam = match &opts.exam {
            Some(plan) => Some(ExamRun::new(plan.clone(), &catalog, &store)?),
            None => None,
        };
        Ok(Runtime {
            exam,
            trainee: opts.config.trainee_name(),
            opts,
            catalog,
            store,
            sink,
            mic,
            worker: Some(worker),
            worker_rx,
            call: None,
            next_request: 1,
            next_lane: 1,
            playback: None,
            last_audio: None,
            cadence,
            check: None,
            mic_record: MicRecord::default_location(),
        })
    }

    fn detector(&self) -> SpeechDetector {
        SpeechDetector::new(DetectorConfig {
            hangover_ms: u32::try_from(self.opts.config.audio.hangover_ms).unwrap_or(u32::MAX),
            ..DetectorConfig::default()
        })
    }

    /// Carries out what the app asked for; may produce messages back to it.
    pub fn effect(&mut self, app: &App, fx: Effect) -> Vec<Msg> {
        match self.try_effect(app, fx) {
            Ok(msgs) => msgs,
            Err(e) => {
                let e = e.to_string();
                let kept = self.hang_up(&e);
                vec![Msg::Failed(with_note(e, kept))]
            }
        }
    }

    fn try_effect(&mut self, app: &App, fx: Effect) -> Result<Vec<Msg>, PracticeError> {
        match fx {
            Effect::StartRinging => {
                self.hang_up("a new call was started before this one ended");
                self.stop_check();
                self.ensure_mic()?;
                let ringer = Ringer::start(self.sink.as_ref(), self.cadence)?;
                self.call = Some(Call {
                    index: app.selected,
                    scenario: self
                        .exam
                        .as_ref()
                        .map_or(app.selected, |e| e.scenario(app.selected)),
                    ringer: Some(ringer),
                    pickup_ms: 0,
                    rings: 0,
                    recording: None,
                    requests: vec![],
                    transcripts: vec![],
                    readings: HashMap::new(),
                    finishing: None,
                    trace: Trace::new(Instant::now()),
                });
            }
            Effect::PickUp => {
                let detector = self.detector();
                let saved = self.begin_attempt()?;
                if let Some(call) = &mut self.call {
                    if let Some(r) = call.ringer.take() {
                        let p = r.pick_up();
                        call.pickup_ms = p.pickup_ms;
                        call.rings = p.rings;
                    }
                    // Drop what the microphone heard while the phone rang.
                    if let Some(mic) = &self.mic {
                        while mic.chunks().try_recv().is_ok() {}
                    }
                    call.trace = Trace::new(Instant::now());
                    call.trace.cpu(CpuSnapshot::now());
                    call.recording = Some(Recording {
                        saved: Some(saved),
                        capture: None,
                        samples: Vec::with_capacity(TARGET_RATE as usize * 30),
                        turn_starts: vec![],
                        turn_ends: vec![],
                        detector,
                        heard_speech: false,
                        turn_started: Instant::now(),
                        guesser: Guesser::default(),
                        lane: 0,
                    });
                }
            }
            Effect::StartTurn { turn } => {
                let detector = self.detector();
                let file = match (&self.exam, &self.call) {
                    (Some(e), Some(c)) => e.input(&self.opts.inputs, c.index, turn),
                    _ => (!self.opts.inputs.is_empty())
                        .then(|| self.opts.inputs[turn.min(self.opts.inputs.len() - 1)].clone()),
                };
                let lane = self.next_lane;
                self.next_lane += 1;
                if let Some(rec) = self.call.as_mut().and_then(|c| c.recording.as_mut()) {
                    rec.lane = lane;
                    rec.turn_starts.push(rec.samples.len());
                    rec.detector = detector;
                    rec.heard_speech = false;
                    rec.guesser.start_turn(rec.samples.len());
                    rec.turn_started = Instant::now();
                    if let Some(path) = file {
                        let mut src: Box<dyn AudioSource> = InputChoice::File(path).open()?;
                        rec.capture = Some(src.start()?);
                    }
                }
            }
            Effect::EndTurn { turn } => {
                let id = self.next_request;
                self.next_request += 1;
                let now = Instant::now();
                if let Some(call) = &mut self.call {
                    if let Some(rec) = &mut call.recording {
                        // The turn's audio thread ends now: note what it used.
                        call.trace.cpu(CpuSnapshot::now());
                        if let Some(c) = rec.capture.take() {
                            c.stop();
                        }
                        rec.turn_ends.push(rec.samples.len());
                        let start = rec.turn_starts.get(turn).copied().unwrap_or(0);
                        // When the turn's last sample was captured: the loop may see it later.
                        let audio_end = rec.turn_started
                            + Duration::from_secs_f64(
                                (rec.samples.len() - start) as f64 / f64::from(TARGET_RATE),
                            );
                        let (request, have_text) = match rec.guesser.end_turn() {
                            // Nothing was said after the last guess: it heard the whole turn.
                            Some((guess_id, result)) => {
                                call.trace.reused(guess_id);
                                let have = result.is_some();
                                call.requests.push(guess_id);
                                call.transcripts.push(result);
                                (guess_id, have)
                            }
                            None => {
                                let audio = rec.samples[start..].to_vec();
                                call.trace.sent(id, turn, Why::EndOfTurn, audio.len(), now);
                                call.requests.push(id);
                                call.transcripts.push(None);
                                if let Some(w) = &self.worker {
                                    let org = org_of(self.exam.as_ref(), &self.opts, call.index);
                                    let ask = questions_for(
                                        &self.catalog,
                                        org,
                                        call.scenario,
                                        &call.transcripts,
                                        turn,
                                    );
                                    // Also makes a guess still running for this turn stale.
                                    w.send(Request::needed(id, rec.lane, audio).asking(ask))?;
                                }
                                (id, false)
                            }
                        };
                        eprintln!(
                            "{}",
                            call.trace
                                .turn_ended(turn, audio_end, now, request, have_text)
                        );
                    }
                }
            }
            Effect::FinishCall => {
                if let Some(call) = &mut self.call {
                    call.finishing = Some(Instant::now());
                }
                return Ok(self.try_grade());
            }
            Effect::HangUp => {
                if let Some(kept) = self.hang_up("the trainee hung up before the call ended") {
                    return Ok(vec![Msg::Failed(kept)]);
                }
            }
            Effect::PlayRecording => {
                self.stop_playback();
                if let Some(samples) = &self.last_audio {
                    self.playback = Some(
                        self.sink
                            .play(Box::new(Clip::new(samples.clone(), TARGET_RATE)))?,
                    );
                }
            }
            Effect::StopPlayback => self.stop_playback(),
            Effect::StartSitting => {
                let device = self.device();
                if let Some(e) = &mut self.exam {
                    e.start(&self.store, device, &self.opts.model)?;
                }
            }
            Effect::EndSitting => {
                self.hang_up("the sitting was ended during the call");
                if let Some(e) = &mut self.exam {
                    return Ok(vec![Msg::Sealed(e.end(&self.store)?)]);
                }
            }
            Effect::StartMicCheck => {
                self.stop_check();
                self.stop_playback();
                let capture = match self.check_source() {
                    Ok(capture) => capture,
                    Err(e) => return Ok(vec![Msg::MicCheckFailed(e.to_string())]),
                };
                self.check = Some(Listening {
                    capture,
                    samples: Vec::with_capacity(TARGET_RATE as usize * 5),
                    detector: self.detector(),
                    heard_speech: false,
                    started: Instant::now(),
                });
            }
            Effect::EndMicCheck => return Ok(self.judge_check()),
            Effect::StopMicCheck => self.stop_check(),
            Effect::Quit => {
                self.hang_up("practice was closed during the call");
            }
        }
        Ok(vec![])
    }

    /// What the check listens to: the first `--input` file, played afresh, or the
    /// microphone (None: the runtime's own capture), what it heard before dropped.
    fn check_source(&mut self) -> Result<Option<Capture>, AudioIoError> {
        if let Some(path) = self.opts.inputs.first() {
            return Ok(Some(InputChoice::File(path.clone()).open()?.start()?));
        }
        self.ensure_mic()?;
        if let Some(mic) = &self.mic {
            while mic.chunks().try_recv().is_ok() {}
        }
        Ok(None)
    }

    /// Opens the microphone if it is the input and is not open yet.
    fn ensure_mic(&mut self) -> Result<(), AudioIoError> {
        if self.opts.inputs.is_empty() && self.mic.is_none() {
            let mut src = InputChoice::Device(self.opts.input_device.clone()).open()?;
            self.mic = Some(src.start()?);
        }
        Ok(())
    }

    /// The input device's name as the audio system gives it (the record of passed checks
    /// is kept by it); None when files play as the microphone.
    fn input_name(&self) -> Option<String> {
        if !self.opts.inputs.is_empty() {
            return None;
        }
        devices::find(Direction::Input, self.opts.input_device.as_deref())
            .ok()
            .map(|d| devices::device_name(&d))
    }

    /// Whether (and why) the microphone check comes before the first call.
    pub fn mic_check_due(&self) -> Option<super::CheckReason> {
        let plan = self.opts.mic_check;
        // The device is looked up only when the record decides.
        let passed = plan == MicCheckPlan::FirstRun
            && self
                .input_name()
                .is_some_and(|name| self.mic_record.passed(&name));
        plan.due(passed)
    }

    fn stop_check(&mut self) {
        if let Some(c) = self.check.take().and_then(|l| l.capture) {
            c.stop();
        }
    }

    /// Ends the microphone check and judges what was heard; a pass is remembered for the
    /// input device.
    fn judge_check(&mut self) -> Vec<Msg> {
        let Some(mut listening) = self.check.take() else {
            return vec![];
        };
        if let Some(c) = listening.capture.take() {
            c.stop();
        }
        let check = MicCheck::judge(&listening.samples);
        let (_, measured) = check.measured();
        // To the practice log, as `devices --listen` prints it.
        eprintln!(
            "mic check: {} ms of audio; {measured}; {}",
            listening.samples.len() as u64 * 1000 / u64::from(TARGET_RATE),
            if check.passed() {
                "passed"
            } else {
                "not passed"
            }
        );
        let mut msgs = vec![];
        let mut remembered = None;
        if check.passed() {
            if let Some(name) = self.input_name() {
                match self.mic_record.remember(&name, &check) {
                    Ok(()) => remembered = Some(name),
                    Err(e) => msgs.push(Msg::Failed(format!(
                        "the passed check could not be remembered ({e}); it will be asked again next time"
                    ))),
                }
            }
        }
        msgs.insert(0, Msg::MicChecked(Box::new(check_view(&check, remembered))));
        msgs
    }

    /// Audio of the microphone check.
    fn check_audio(&mut self, chunk: &Chunk) -> Vec<Msg> {
        let Some(l) = self.check.as_mut() else {
            return vec![];
        };
        l.samples.extend_from_slice(&chunk.samples);
        let mut ended = false;
        for ev in l.detector.push(&chunk.samples) {
            match ev {
                SpeechEvent::Started { .. } => l.heard_speech = true,
                SpeechEvent::Ended { .. } => ended = true,
            }
        }
        // Audio time, not the clock: a file playing as the microphone is judged alike on a
        // busy machine.
        let elapsed_ms = l.samples.len() as u64 * 1000 / u64::from(TARGET_RATE);
        let silent_too_long = !l.heard_speech && elapsed_ms > self.opts.config.audio.max_wait_ms;
        if ended || silent_too_long || elapsed_ms >= CHECK_LIMIT.as_millis() as u64 {
            return self.judge_check();
        }
        vec![Msg::Level {
            elapsed_ms,
            level_db: level::level(&chunk.samples).rms_dbfs,
            heard_speech: l.heard_speech,
        }]
    }

    /// A request that must be answered, in a lane of its own.
    fn submit(&self, id: u64, audio: Vec<f32>, ask: Ask) -> Result<(), TranscribeError> {
        match &self.worker {
            Some(w) => w.submit_asking(id, audio, ask),
            None => Ok(()),
        }
    }

    /// What the reply is recorded from, as the store says it.
    fn device(&self) -> String {
        match self.opts.inputs.first() {
            Some(p) => format!("file {}", p.display()),
            None => self
                .opts
                .input_device
                .clone()
                .unwrap_or_else(|| "default microphone".into()),
        }
    }

    /// Opens the attempt in the store at pickup.
    fn begin_attempt(&self) -> Result<store::Recording, StoreError> {
        let scenario = &self.catalog.scenarios[self.call.as_ref().map_or(0, |c| c.scenario)];
        let index = self.call.as_ref().map_or(0, |c| c.index);
        let device = self.device();
        let info = AttemptInfo {
            scenario: scenario.id().to_string(),
            rubric_sha256: rubric_sha256(scenario, &self.catalog.phrasebook),
            model: self
                .opts
                .model
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            trainee: self.trainee.clone(),
            device,
            org: org_of(self.exam.as_ref(), &self.opts, index).name.clone(),
            started: Timestamp::now(),
            sitting: self.exam.as_ref().and_then(ExamRun::sitting_id),
        };
        self.store.begin(info, AudioFormat::SPEECH)
    }

    /// The best score this trainee has for a situation.
    pub fn best_score(&self, scenario: &str) -> Option<u8> {
        best_score(&self.store, &self.trainee, scenario)
    }

    fn stop_playback(&mut self) {
        if let Some(p) = self.playback.take() {
            p.stop();
        }
    }

    /// Ends the call in progress. What was recorded is never thrown away: it is kept as an
    /// `ungraded` attempt when every turn was recorded, else as `interrupted`, with `why`,
    /// for `ringcoach store regrade` or a trainer. Returns what became of it, for the
    /// status line (None: nothing was recorded).
    fn hang_up(&mut self, why: &str) -> Option<String> {
        let mut call = self.call.take()?;
        if let Some(r) = call.ringer.take() {
            r.pick_up();
        }
        let mut rec = call.recording?;
        if let Some(c) = rec.capture.take() {
            c.stop();
        }
        let mut saved = rec.saved.take()?;
        saved.set_call(call_facts(call.rings, call.pickup_ms, &rec));
        let status = if call.finishing.is_some() {
            AttemptStatus::Ungraded
        } else {
            AttemptStatus::Interrupted
        };
        match self.store.keep(saved, status, why) {
            Ok(Some(s)) => Some(format!(
                "the recording is kept as {} attempt {}; `ringcoach store regrade {}` grades it",
                status.as_str(),
                s.id,
                s.id
            )),
            Ok(None) => None,
            // The attempt's files and marker are still there: the next start recovers them.
            Err(e) => Some(format!(
                "the recording could not be marked ({e}); it is recovered the next time ringcoach starts"
            )),
        }
    }

    /// Audio arrived from the microphone or the file.
    fn audio(&mut self, chunk: Chunk) -> Vec<Msg> {
        if self.check.is_some() {
            return self.check_audio(&chunk);
        }
        let Runtime {
            call,
            worker,
            next_request,
            catalog,
            opts,
            exam,
            ..
        } = self;
        let Some(call) = call.as_mut() else {
            return vec![];
        };
        let Some(rec) = call.recording.as_mut() else {
            return vec![];
        };
        if rec.turn_starts.len() == rec.turn_ends.len() {
            // Between turns (or already finished): not part of any reply.
            return vec![];
        }
        rec.samples.extend_from_slice(&chunk.samples);
        let mut msgs = vec![];
        if let Some(saved) = &mut rec.saved {
            if let Err(e) = saved.push_f32(&chunk.samples) {
                msgs.push(Msg::Failed(format!("recording is not being saved: {e}")));
                rec.saved = None;
            }
        }
        let chunk_db = level::level(&chunk.samples).rms_dbfs;
        let cfg = *rec.detector.config();
        if chunk_db
            > cfg
                .min_speech_dbfs
                .max(rec.detector.noise_floor_dbfs() + cfg.margin_db)
        {
            rec.guesser.voiced(rec.samples.len());
        }
        for ev in rec.detector.push(&chunk.samples) {
            match ev {
                SpeechEvent::Started { .. } => rec.heard_speech = true,
                SpeechEvent::Ended { .. } => msgs.push(Msg::TurnEnded),
            }
        }
        if rec.guesser.should_send(rec.samples.len(), rec.heard_speech) {
            if let (Some(w), Some(&start)) = (worker.as_ref(), rec.turn_starts.last()) {
                let id = *next_request;
                *next_request += 1;
                let audio = rec.samples[start..].to_vec();
                let n = audio.len();
                let turn = rec.turn_starts.len() - 1;
                let org = org_of(exam.as_ref(), opts, call.index);
                let ask = questions_for(catalog, org, call.scenario, &call.transcripts, turn);
                // Makes the previous guess for this turn stale: dropped, or cancelled.
                if w.send(Request::guess(id, rec.lane, audio).asking(ask))
                    .is_ok()
                {
                    rec.guesser.sent(id);
                    let turn = rec.turn_starts.len() - 1;
                    call.trace
                        .sent(id, turn, Why::PauseGuess, n, Instant::now());
                }
            }
        }
        let elapsed_ms = rec.turn_started.elapsed().as_millis() as u64;
        let audio = &self.opts.config.audio;
        if !rec.heard_speech && elapsed_ms > audio.max_wait_ms
            || elapsed_ms > audio.max_reply_s * 1000
        {
            msgs.push(Msg::TurnEnded);
        }
        msgs.push(Msg::Level {
            elapsed_ms,
            level_db: chunk_db,
            heard_speech: rec.heard_speech,
        });
        msgs
    }

    fn worker_event(&mut self, ev: transcribe::Event) -> Vec<Msg> {
        match ev {
            transcribe::Event::Ready => vec![],
            transcribe::Event::Started { id, queued } => {
                if let Some(call) = &mut self.call {
                    call.trace.started(id, queued);
                }
                vec![]
            }
            transcribe::Event::LoadFailed(e) => vec![Msg::Failed(e.to_string())],
            transcribe::Event::Superseded { id, spent } => {
                if let Some(call) = &mut self.call {
                    if let Some(line) = call.trace.superseded(id, spent, Instant::now()) {
                        eprintln!("{line}");
                    }
                    if let Some(rec) = call.recording.as_mut() {
                        rec.guesser.superseded(id);
                    }
                }
                // Only guesses go stale; should a turn's request ever be dropped, ask again.
                self.resubmit(id);
                vec![]
            }
            transcribe::Event::Done {
                id,
                result,
                elapsed,
                run,
                readings,
            } => {
                let Some(call) = &mut self.call else {
                    return vec![];
                };
                let turn_request = call.requests.contains(&id);
                if let Some(line) = call.trace.done(
                    id,
                    &result,
                    elapsed,
                    run.as_ref(),
                    turn_request,
                    Instant::now(),
                ) {
                    eprintln!("{line}");
                }
                call.readings.insert(id, readings);
                let Some(turn) = call.requests.iter().position(|r| *r == id) else {
                    // Perhaps a guess for the turn still being recorded.
                    if let Some(rec) = call.recording.as_mut() {
                        rec.guesser.done(id, result);
                    }
                    return vec![];
                };
                match result {
                    Ok(t) => call.transcripts[turn] = Some(t),
                    Err(e) => {
                        let e = e.to_string();
                        let kept = self.hang_up(&e);
                        return vec![Msg::Failed(with_note(e, kept))];
                    }
                }
                let mut msgs = vec![Msg::TurnTranscribed { turn }];
                msgs.extend(self.try_grade());
                msgs
            }
        }
    }

    fn resubmit(&mut self, id: u64) {
        let Some(call) = &mut self.call else { return };
        let Some(turn) = call.requests.iter().position(|r| *r == id) else {
            return;
        };
        let Some(rec) = &call.recording else { return };
        let (start, end) = (rec.turn_starts[turn], rec.turn_ends[turn]);
        let new_id = self.next_request;
        self.next_request += 1;
        call.requests[turn] = new_id;
        let audio = rec.samples[start..end].to_vec();
        let org = org_of(self.exam.as_ref(), &self.opts, call.index);
        let ask = questions_for(&self.catalog, org, call.scenario, &call.transcripts, turn);
        let _ = self.submit(new_id, audio, ask);
    }

    /// Grades once every turn's transcript is in and the call is over.
    fn try_grade(&mut self) -> Vec<Msg> {
        let Some(call) = &self.call else {
            return vec![];
        };
        if call.finishing.is_none() || call.transcripts.iter().any(Option::is_none) {
            return vec![];
        }
        // A turn cut off before anything was decoded (from its request or a reused guess):
        // nothing to grade, and an empty transcript would read as a trainee who said
        // nothing. Kept for `store regrade`, as a failed transcription is.
        let nothing = call.transcripts.iter().flatten().find_map(|t| {
            t.cut_off
                .as_ref()
                .filter(|_| t.text.trim().is_empty())
                .map(|cut| format!("{}, nothing decoded", cut.describe().1))
        });
        if let Some(e) = nothing {
            let kept = self.hang_up(&e);
            return vec![Msg::Failed(with_note(e, kept))];
        }
        let mut call = self.call.take().expect("checked above");
        let rec = call.recording.expect("a finished call was recorded");
        let mut readings = call.readings;
        let turns = call
            .transcripts
            .into_iter()
            .flatten()
            .zip(rec.turn_starts.iter().zip(&rec.turn_ends))
            .zip(&call.requests)
            .map(|((transcript, (&start, &end)), id)| Heard {
                transcript,
                facts: Some(facts::measure(&rec.samples[start..end])),
                readings: readings.remove(id).unwrap_or_default(),
            })
            .collect();
        let heard = grading::Call {
            turns,
            pickup: Pickup::Counted {
                rings: call.rings,
                after_ms: call.pickup_ms,
            },
            org: org_of(self.exam.as_ref(), &self.opts, call.index).clone(),
        };
        let scenario = &self.catalog.scenarios[call.scenario];
        let report = heard.grade(scenario, &self.catalog.phrasebook);
        // Goes to the practice log (stderr is redirected while the screen is up): the wait a
        // trainee had, for the README's numbers and for anyone asking why feedback was slow.
        let used: Vec<String> = call.requests.iter().map(|id| format!("#{id}")).collect();
        eprintln!(
            "practice: {} graded {} ms after the last turn ended ({} turn(s), pickup {} ms; transcripts from request {})",
            scenario.id(),
            call.finishing.map_or(0, |t| t.elapsed().as_millis()),
            heard.turns.len(),
            call.pickup_ms,
            used.join(", ")
        );
        let clk = trace_log::clock_ticks_per_second();
        if let Some(line) = call.trace.cpu_line(CpuSnapshot::now(), clk) {
            eprintln!("{line}");
        }
        let first = heard.turns.first().and_then(|t| t.facts.as_ref());
        let mut fb = feedback(&report, call.pickup_ms, first);
        let mut msgs = vec![];
        let mut rec = rec;
        if let Some(mut saved) = rec.saved.take() {
            saved.set_call(call_facts(call.rings, call.pickup_ms, &rec));
            let outcome = Outcome {
                transcript: merge_turns(
                    heard.turns.iter().map(|t| &t.transcript),
                    &rec.turn_starts,
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
            match self.store.finish(saved, outcome) {
                Ok(summary) => {
                    fb.saved_as = Some(summary.id.to_string());
                    if let Some(w) = &self.opts.uploads {
                        w.nudge();
                    }
                    if let Some(e) = &mut self.exam {
                        let turns = rec
                            .turn_starts
                            .iter()
                            .zip(&rec.turn_ends)
                            .map(|(&a, &b)| rec.samples[a..b].to_vec())
                            .collect();
                        if let Err(err) = e.record(
                            call.index,
                            summary.id,
                            call.rings,
                            call.pickup_ms,
                            summary.started,
                            turns,
                        ) {
                            msgs.push(Msg::Failed(format!("call not added to the sitting: {err}")));
                        }
                    }
                }
                // finish() leaves the attempt's files and marker: the next start recovers it
                // from what was written (graded, if the report was).
                Err(e) => msgs.push(Msg::Failed(format!(
                    "the grade was not saved ({e}); the recording is kept and recovered the next time ringcoach starts"
                ))),
            }
        }
        self.last_audio = Some(rec.samples);
        msgs.insert(0, Msg::Graded(Box::new(fb)));
        msgs
    }

    /// Messages for a tick: ring progress, waiting time.
    fn tick(&mut self) -> Vec<Msg> {
        // A microphone that stops delivering audio does not hold the check open.
        if self
            .check
            .as_ref()
            .is_some_and(|l| l.started.elapsed() > CHECK_LIMIT + Duration::from_secs(5))
        {
            return self.judge_check();
        }
        let Some(call) = &self.call else {
            return vec![];
        };
        if let Some(r) = &call.ringer {
            let s = r.status();
            let auto = self
                .exam
                .as_ref()
                .and_then(|e| e.auto_pickup_ms(call.index, &self.cadence));
            if auto.is_some_and(|ms| s.elapsed_ms >= ms) {
                return vec![Msg::AutoPickUp];
            }
            return vec![Msg::Ringing {
                rings: s.position.ring,
                elapsed_ms: s.elapsed_ms,
            }];
        }
        if let Some(t) = call.finishing {
            let patience =
                transcribe_patience(self.opts.config.model.time_limit_s, call.requests.len());
            if t.elapsed() > patience {
                let e = format!(
                    "no transcript after {} s: this machine is too busy or the model too large for it; try again, or use a smaller model (--model)",
                    patience.as_secs()
                );
                let kept = self.hang_up(&e);
                return vec![Msg::Failed(with_note(e, kept))];
            }
            return vec![Msg::Waiting {
                elapsed_ms: t.elapsed().as_millis() as u64,
            }];
        }
        vec![]
    }

    /// The audio to listen to now: the file playing as the microphone during a turn, else
    /// the microphone, which runs between calls too ([`Runtime::audio`] drops what it hears
    /// outside a turn).
    fn chunks(&self) -> Option<&Receiver<Chunk>> {
        if let Some(l) = &self.check {
            return l.capture.as_ref().or(self.mic.as_ref()).map(|c| c.chunks());
        }
        let capture = self
            .call
            .as_ref()
            .and_then(|c| c.recording.as_ref())
            .and_then(|r| r.capture.as_ref());
        capture.or(self.mic.as_ref()).map(|c| c.chunks())
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.hang_up("practice was closed during the call");
        self.stop_check();
        self.stop_playback();
        if let Some(m) = self.mic.take() {
            m.stop();
        }
        // A transcription in progress is not waited for: the process is leaving.
        std::mem::forget(self.worker.take());
    }
}

/// The organisation call `call`'s opening must name: an exam's call names its own, practice
/// names the one practice was started for.
fn org_of<'a>(exam: Option<&'a ExamRun>, opts: &'a Options, call: usize) -> &'a Org {
    exam.and_then(|e| e.org(call)).unwrap_or(&opts.org)
}

/// A failure and what became of the recording, as one status line.
fn with_note(e: String, kept: Option<String>) -> String {
    match kept {
        Some(k) => format!("{e} — {k}"),
        None => e,
    }
}

/// How the phone was picked up and where each turn lies in the attempt's audio (which
/// holds exactly the samples of the turns, as `rec.samples` does).
fn call_facts(rings: u32, pickup_ms: u64, rec: &Recording) -> CallFacts {
    CallFacts {
        rings: Some(rings),
        pickup_ms: Some(pickup_ms),
        turns: rec
            .turn_starts
            .iter()
            .enumerate()
            .map(|(i, &start)| {
                let end = rec.turn_ends.get(i).copied().unwrap_or(rec.samples.len());
                [start as u64, end as u64]
            })
            .collect(),
    }
}

/// What to ask the model about turn `turn` of `call` once it is transcribed: the
/// grader's questions, given the turns already transcribed.
fn questions_for(
    catalog: &Catalog,
    org: &Org,
    scenario: usize,
    transcripts: &[Option<Transcript>],
    turn: usize,
) -> Ask {
    let scenario = catalog.scenarios[scenario].clone();
    let book = catalog.phrasebook.clone();
    let org = org.clone();
    let turns = scenario.caller_turns.len().max(turn + 1);
    let before: Vec<Heard> = transcripts
        .iter()
        .take(turn)
        .map(|t| Heard {
            transcript: t.clone().unwrap_or_default(),
            ..Heard::default()
        })
        .collect();
    Arc::new(move |heard: &Transcript| {
        grading::questions(&scenario, &book, &org, &before, turn, turns, heard)
    })
}

/// The best score `trainee` has for `scenario` in the store.
pub fn best_score(store: &Store, trainee: &str, scenario: &str) -> Option<u8> {
    let q = Query {
        trainee: Some(trainee.to_string()),
        scenario: Some(scenario.to_string()),
        sort: SortKey::Score,
        descending: true,
        limit: Some(1),
        ..Query::default()
    };
    let best = store.list(&q).ok()?.into_iter().next()?.score?;
    Some(best.clamp(0.0, 100.0).round() as u8)
}

/// The turns of a call as one transcript, timings shifted to the call's recording.
pub fn merge_turns<'t>(
    turns: impl IntoIterator<Item = &'t Transcript>,
    turn_starts: &[usize],
) -> Transcript {
    Transcript::join_turns(
        turns
            .into_iter()
            .zip(turn_starts)
            .map(|(t, &start)| (t, start as u64 * 1000 / u64::from(TARGET_RATE))),
    )
}

/// The practice screens as the event loop drives them.
struct Practice {
    app: App,
    runtime: Runtime,
}

impl Program for Practice {
    type Msg = Msg;
    const TICK: Duration = Duration::from_millis(50);

    fn draw(&self, frame: &mut Frame) {
        super::views::render(&self.app, frame);
    }

    fn key(&self, key: &KeyEvent) -> Option<Msg> {
        Key::from_event(key).map(Msg::Key)
    }

    fn wants_ticks(&self) -> bool {
        match &self.app.screen {
            Screen::Ringing { .. } | Screen::Working { .. } | Screen::Call { .. } => true,
            Screen::MicCheck(c) => matches!(c.stage, super::CheckStage::Listening { .. }),
            _ => false,
        }
    }

    fn tick(&mut self) -> Vec<Msg> {
        self.runtime.tick()
    }

    fn sources(&self) -> Vec<Source<Self>> {
        let mut sources = vec![Source::new(
            self.runtime.worker_rx.clone(),
            |p: &mut Practice, ev| p.runtime.worker_event(ev),
        )];
        if let Some(w) = &self.runtime.opts.uploads {
            sources.push(Source::new(w.updates(), |_: &mut Practice, q| {
                vec![Msg::Uploads(q)]
            }));
        }
        if let Some(chunks) = self.runtime.chunks() {
            sources.push(Source::new(chunks.clone(), |p: &mut Practice, c| {
                p.runtime.audio(c)
            }));
        }
        sources
    }

    fn pump(&mut self, mut msgs: Vec<Msg>) -> bool {
        while !msgs.is_empty() {
            let mut next = vec![];
            for m in msgs {
                for fx in self.app.update(m) {
                    if fx == Effect::Quit {
                        return true;
                    }
                    next.extend(self.runtime.effect(&self.app, fx));
                }
            }
            msgs = next;
        }
        false
    }
}

/// Runs the practice screens until the trainee quits.
pub fn run(opts: Options, catalog: Catalog, store: Store) -> Result<(), PracticeError> {
    // A wrong --scenario is said before the devices and the model are opened.
    if let Some(id) = &opts.scenario {
        catalog.get(id)?;
    }
    let runtime = Runtime::new(opts, catalog, store)?;
    let opts = &runtime.opts;
    if let Some(plan) = &opts.exam {
        let s = &plan.suite;
        let exam = Exam {
            suite_id: s.id.clone(),
            suite_version: s.version.clone(),
            title_zh: s.title_zh.clone(),
            title_en: s.title_en.clone(),
            candidate: plan.candidate.name.clone(),
            employee_id: plan.candidate.employee_id.clone(),
            call_mark: s.rules.call_mark,
            overall_mark: s.rules.overall_mark,
            calls_required: s.rules.calls_required,
            critical: s.rules.critical.clone(),
            show_feedback: s.exam.show_feedback,
            show_model_answer: s.exam.show_model_answer,
            forced_rings: s
                .calls
                .iter()
                .map(|c| match c.pickup {
                    crate::scenario::PickupRule::AfterRings(n) => Some(n),
                    crate::scenario::PickupRule::Candidate => None,
                })
                .collect(),
            started: false,
            taken: 0,
            confirm_leave: false,
            ended: None,
        };
        let app = App::new_exam(
            exam_situations(&runtime.catalog, &s.calls),
            opts.config.lang,
            exam,
        );
        let mut practice = Practice { app, runtime };
        tui::run(&mut practice, &tui::log_path("exam"))?;
        return Ok(());
    }
    let mut app = App::new(
        situations(&runtime.catalog, &opts.org.name, |id| {
            runtime.best_score(id)
        }),
        opts.config.lang,
        opts.org.name.clone(),
    );
    if let Some(i) = opts
        .scenario
        .as_ref()
        .and_then(|id| app.situations.iter().position(|s| &s.id == id))
    {
        app.selected = i;
        app.screen = Screen::Card;
    }
    let mut practice = Practice { app, runtime };
    if let Some(reason) = practice.runtime.mic_check_due() {
        // Before the first call on a new microphone: the check, over whichever screen
        // practice opens on (the pick list, or --scenario's card), which it then goes on to.
        let fx = practice.app.check_microphone(reason);
        let msgs = fx
            .into_iter()
            .flat_map(|f| practice.runtime.effect(&practice.app, f))
            .collect();
        practice.pump(msgs);
    }
    tui::run(&mut practice, &tui::log_path("practice"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raised_time_limit_is_waited_for_on_every_turn() {
        let secs = |limit, turns| transcribe_patience(limit, turns).as_secs();
        assert_eq!(secs(None, 3), 90);
        assert_eq!(secs(Some(20.0), 3), 90);
        assert_eq!(secs(Some(600.0), 1), 600);
        assert_eq!(secs(Some(600.0), 3), 1800);
        assert_eq!(secs(Some(600.0), 0), 600);
        assert_eq!(secs(Some(f64::NAN), 3), 90);
    }
}
