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

use super::model::{feedback, situations};
use super::{App, Effect, Guesser, Key, Msg, Screen};
use crate::audio::capture::{AudioSource, Capture, Chunk};
use crate::audio::choice::{InputChoice, OutputChoice};
use crate::audio::devices::AudioIoError;
use crate::audio::facts;
use crate::audio::level::{self, DetectorConfig, SpeechDetector, SpeechEvent};
use crate::audio::playback::{AudioSink, Clip, Playback};
use crate::audio::resample::TARGET_RATE;
use crate::audio::ring::RingCadence;
use crate::audio::ringer::Ringer;
use crate::config::{Config, ConfigError};
use crate::grading::{self, Heard, Org, Pickup, Verdict};
use crate::scenario::{rubric_sha256, Catalog, ScenarioError};
use crate::store::{
    self, AttemptInfo, AudioFormat, Outcome, Query, SortKey, Store, StoreError, Timestamp,
};
use crate::transcribe::worker::Ask;
use crate::transcribe::{
    self, Asked, TranscribeError, Transcript, WhisperConfig, WhisperTranscriber, Worker,
};
use crate::tui::{self, Program, Source};

/// How long the feedback screen waits for transcripts before giving up on the call.
const TRANSCRIBE_PATIENCE: Duration = Duration::from_secs(90);

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
}

struct Call {
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
    playback: Option<Playback>,
    last_audio: Option<Vec<f32>>,
    cadence: RingCadence,
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
        let cfg = WhisperConfig::new(opts.model.clone(), opts.vad_model.clone());
        transcribe::whisper::route_logging();
        let worker = Worker::spawn_loading(move || WhisperTranscriber::new(cfg), tx);
        Ok(Runtime {
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
            playback: None,
            last_audio: None,
            cadence,
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
                self.hang_up();
                vec![Msg::Failed(e.to_string())]
            }
        }
    }

    fn try_effect(&mut self, app: &App, fx: Effect) -> Result<Vec<Msg>, PracticeError> {
        match fx {
            Effect::StartRinging => {
                self.hang_up();
                if self.opts.inputs.is_empty() && self.mic.is_none() {
                    let mut src = InputChoice::Device(self.opts.input_device.clone()).open()?;
                    self.mic = Some(src.start()?);
                }
                let ringer = Ringer::start(self.sink.as_ref(), self.cadence)?;
                self.call = Some(Call {
                    scenario: app.selected,
                    ringer: Some(ringer),
                    pickup_ms: 0,
                    rings: 0,
                    recording: None,
                    requests: vec![],
                    transcripts: vec![],
                    readings: HashMap::new(),
                    finishing: None,
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
                    });
                }
            }
            Effect::StartTurn { turn } => {
                let detector = self.detector();
                let file = (!self.opts.inputs.is_empty())
                    .then(|| self.opts.inputs[turn.min(self.opts.inputs.len() - 1)].clone());
                if let Some(rec) = self.call.as_mut().and_then(|c| c.recording.as_mut()) {
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
                if let Some(call) = &mut self.call {
                    if let Some(rec) = &mut call.recording {
                        if let Some(c) = rec.capture.take() {
                            c.stop();
                        }
                        rec.turn_ends.push(rec.samples.len());
                        match rec.guesser.end_turn() {
                            // Nothing was said after the last guess: it heard the whole turn.
                            Some((guess_id, result)) => {
                                call.requests.push(guess_id);
                                call.transcripts.push(result);
                            }
                            None => {
                                let start = rec.turn_starts.get(turn).copied().unwrap_or(0);
                                let audio = rec.samples[start..].to_vec();
                                call.requests.push(id);
                                call.transcripts.push(None);
                                if let Some(w) = &self.worker {
                                    let ask = questions_for(
                                        &self.catalog,
                                        &self.opts.org,
                                        call.scenario,
                                        &call.transcripts,
                                        turn,
                                    );
                                    w.submit_asking(id, audio, ask)?;
                                }
                            }
                        }
                    }
                }
            }
            Effect::FinishCall => {
                if let Some(call) = &mut self.call {
                    call.finishing = Some(Instant::now());
                }
                return Ok(self.try_grade());
            }
            Effect::HangUp => self.hang_up(),
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
            Effect::Quit => self.hang_up(),
        }
        Ok(vec![])
    }

    fn submit(&self, id: u64, audio: Vec<f32>, ask: Ask) -> Result<(), TranscribeError> {
        match &self.worker {
            Some(w) => w.submit_asking(id, audio, ask),
            None => Ok(()),
        }
    }

    /// Opens the attempt in the store at pickup.
    fn begin_attempt(&self) -> Result<store::Recording, StoreError> {
        let scenario = &self.catalog.scenarios[self.call.as_ref().map_or(0, |c| c.scenario)];
        let device = match self.opts.inputs.first() {
            Some(p) => format!("file {}", p.display()),
            None => self
                .opts
                .input_device
                .clone()
                .unwrap_or_else(|| "default microphone".into()),
        };
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
            org: self.opts.org.name.clone(),
            started: Timestamp::now(),
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

    fn hang_up(&mut self) {
        if let Some(mut call) = self.call.take() {
            if let Some(r) = call.ringer.take() {
                r.pick_up();
            }
            if let Some(mut rec) = call.recording {
                if let Some(c) = rec.capture.take() {
                    c.stop();
                }
                if let Some(saved) = rec.saved.take() {
                    // A call hung up before its end is not an attempt; a failure to clean up
                    // is recovered by the next start, so it is not the trainee's problem now.
                    let _ = self.store.abandon(saved);
                }
            }
        }
    }

    /// Audio arrived from the microphone or the file.
    fn audio(&mut self, chunk: Chunk) -> Vec<Msg> {
        let Runtime {
            call,
            worker,
            next_request,
            catalog,
            opts,
            ..
        } = self;
        let Some(Call {
            recording: Some(rec),
            scenario,
            transcripts,
            ..
        }) = call.as_mut()
        else {
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
                let turn = rec.turn_starts.len() - 1;
                let samples = rec.samples[start..].to_vec();
                let ask = questions_for(catalog, &opts.org, *scenario, transcripts, turn);
                if w.submit_asking(id, samples, ask).is_ok() {
                    rec.guesser.sent(id);
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
            transcribe::Event::Ready | transcribe::Event::Started { .. } => vec![],
            transcribe::Event::LoadFailed(e) => vec![Msg::Failed(e.to_string())],
            transcribe::Event::Superseded { id } => {
                // A stale guess may go; a turn must never be dropped: ask again.
                if let Some(rec) = self.call.as_mut().and_then(|c| c.recording.as_mut()) {
                    rec.guesser.superseded(id);
                }
                self.resubmit(id);
                vec![]
            }
            transcribe::Event::Done {
                id,
                result,
                readings,
                ..
            } => {
                let Some(call) = &mut self.call else {
                    return vec![];
                };
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
                        self.hang_up();
                        return vec![Msg::Failed(e.to_string())];
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
        let ask = questions_for(
            &self.catalog,
            &self.opts.org,
            call.scenario,
            &call.transcripts,
            turn,
        );
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
        let call = self.call.take().expect("checked above");
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
            pickup: Pickup::Rings(call.rings),
            org: self.opts.org.clone(),
        };
        let scenario = &self.catalog.scenarios[call.scenario];
        let report = heard.grade(scenario, &self.catalog.phrasebook);
        // Goes to the practice log (stderr is redirected while the screen is up): the wait a
        // trainee had, for the README's numbers and for anyone asking why feedback was slow.
        eprintln!(
            "practice: {} graded {} ms after the last turn ended ({} turn(s), pickup {} ms)",
            scenario.id(),
            call.finishing.map_or(0, |t| t.elapsed().as_millis()),
            heard.turns.len(),
            call.pickup_ms
        );
        let first = heard.turns.first().and_then(|t| t.facts.as_ref());
        let mut fb = feedback(&report, call.pickup_ms, first);
        let mut msgs = vec![];
        let mut rec = rec;
        if let Some(saved) = rec.saved.take() {
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
                Ok(summary) => fb.saved_as = Some(summary.id.to_string()),
                Err(e) => msgs.push(Msg::Failed(format!("attempt not saved: {e}"))),
            }
        }
        self.last_audio = Some(rec.samples);
        msgs.insert(0, Msg::Graded(Box::new(fb)));
        msgs
    }

    /// Messages for a tick: ring progress, waiting time.
    fn tick(&mut self) -> Vec<Msg> {
        let Some(call) = &self.call else {
            return vec![];
        };
        if let Some(r) = &call.ringer {
            let s = r.status();
            return vec![Msg::Ringing {
                rings: s.position.ring,
                elapsed_ms: s.elapsed_ms,
            }];
        }
        if let Some(t) = call.finishing {
            if t.elapsed() > TRANSCRIBE_PATIENCE {
                self.hang_up();
                return vec![Msg::Failed(format!(
                    "no transcript after {} s: this machine is too busy or the model too large for it; try again, or use a smaller model (--model)",
                    TRANSCRIBE_PATIENCE.as_secs()
                ))];
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
        self.hang_up();
        self.stop_playback();
        if let Some(m) = self.mic.take() {
            m.stop();
        }
        // A transcription in progress is not waited for: the process is leaving.
        std::mem::forget(self.worker.take());
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
    let mut out = Transcript::default();
    for (t, &start) in turns.into_iter().zip(turn_starts) {
        let shift = start as u64 * 1000 / u64::from(TARGET_RATE);
        if !out.text.is_empty() && !t.text.is_empty() {
            out.text.push('\n');
        }
        out.text.push_str(&t.text);
        out.segments.extend(t.segments.iter().map(|seg| {
            let mut seg = seg.clone();
            seg.start_ms += shift;
            seg.end_ms += shift;
            for tok in &mut seg.tokens {
                tok.start_ms += shift;
                tok.end_ms += shift;
            }
            seg
        }));
    }
    out
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
        matches!(
            self.app.screen,
            Screen::Ringing { .. } | Screen::Working { .. } | Screen::Call { .. }
        )
    }

    fn tick(&mut self) -> Vec<Msg> {
        self.runtime.tick()
    }

    fn sources(&self) -> Vec<Source<Self>> {
        let mut sources = vec![Source::new(
            self.runtime.worker_rx.clone(),
            |p: &mut Practice, ev| p.runtime.worker_event(ev),
        )];
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
    tui::run(&mut practice, &tui::log_path("practice"))?;
    Ok(())
}
