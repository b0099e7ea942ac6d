//! The practice runtime: owns the terminal, the clock, the audio source and sink, the
//! transcription worker and the store, and drives the pure [`crate::app::App`] with one
//! stream of events (keys, ticks, audio chunks, worker results) selected in one loop.
//!
//! Threads: the audio callback (cpal, inside [`crate::audio`]) only copies into a ring
//! buffer; the capture thread turns that into 16 kHz chunks; the transcription worker owns
//! the model; this loop does everything else and never blocks on any of them. Ticks run
//! only while something moves on screen (ringing, recording, waiting), so an idle practice
//! screen costs no CPU.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam_channel::{never, select, tick, Receiver, Sender};
use crossterm::event::Event as TermEvent;

use crate::app::{
    App, CheckRow, Effect, Feedback, Key, Mark, Msg, Screen, Situation, Verdict as UiVerdict,
};
use crate::audio::capture::{AudioSource, Capture, Chunk};
use crate::audio::choice::{InputChoice, OutputChoice};
use crate::audio::facts::{self, AudioFacts};
use crate::audio::level::{self, DetectorConfig, SpeechDetector, SpeechEvent};
use crate::audio::playback::{AudioSink, Clip, Playback};
use crate::audio::resample::TARGET_RATE;
use crate::audio::ring::RingCadence;
use crate::audio::ringer::Ringer;
use crate::config::Config;
use crate::grading::{self, GradeInput, OrgSource, Pickup, Report, Turn, Verdict};
use crate::scenario::{phrases, rubric_sha256, Catalog, Scenario, ORG_PLACEHOLDER};
use crate::store::{self, AttemptInfo, AudioFormat, Outcome, Query, SortKey, Store, Timestamp};
use crate::transcribe::{self, Transcript, WhisperConfig, WhisperTranscriber, Worker};

/// How long the feedback screen waits for transcripts before giving up on the call.
const TRANSCRIBE_PATIENCE: Duration = Duration::from_secs(90);

/// Everything the practice loop needs, resolved before the terminal is taken over.
pub struct Options {
    pub config: Config,
    /// One WAV per turn played as the microphone (the last one repeats), or the device.
    pub inputs: Vec<PathBuf>,
    pub input_device: Option<String>,
    pub output: OutputChoice,
    pub org: String,
    pub org_source: OrgSource,
    pub model: PathBuf,
    pub vad_model: Option<PathBuf>,
    /// Start on this situation instead of the top of the list.
    pub scenario: Option<String>,
}

/// Situations as the pick list shows them.
pub fn situations(
    catalog: &Catalog,
    org: &str,
    best: impl Fn(&str) -> Option<u8>,
) -> Vec<Situation> {
    catalog
        .scenarios
        .iter()
        .map(|sc| Situation {
            id: sc.id().to_string(),
            title_zh: sc.title.zh.clone(),
            title_en: sc.title.en.clone(),
            direction: sc.direction.to_string(),
            difficulty: difficulty(sc),
            brief_zh: sc.situation.zh.clone(),
            brief_en: sc.situation.en.clone(),
            caller_turns: sc
                .caller_turns
                .iter()
                .map(|t| (t.zh.clone(), t.en.clone()))
                .collect(),
            model_answer: sc
                .model_answers
                .get_ref()
                .first()
                .map(|m| {
                    phrases(&m.turns)
                        .collect::<Vec<_>>()
                        .join(" / ")
                        .replace(ORG_PLACEHOLDER, org)
                })
                .unwrap_or_default(),
            best_score: best(sc.id()),
        })
        .collect()
}

/// 1–3 stars: more turns and more must-say items make a harder call.
fn difficulty(sc: &Scenario) -> u8 {
    let load = sc.caller_turns.len() + sc.rubric.must_say.len();
    match load {
        0..=2 => 1,
        3..=4 => 2,
        _ => 3,
    }
}

/// The feedback screen's view of a report. Evidence on failed checks is marked as a
/// problem, on uncertain ones as uncertain, on passed ones as found.
pub fn feedback(report: &Report, pickup_ms: u64, first_turn: Option<&AudioFacts>) -> Feedback {
    let mut marks = Vec::new();
    let mut checks = Vec::new();
    let mut banned_ok = 0;
    let mut not_graded = Vec::new();
    for c in &report.checks {
        let (mark, verdict) = match c.verdict {
            Verdict::Pass => (Mark::Found, UiVerdict::Pass),
            Verdict::Fail => (Mark::Banned, UiVerdict::Fail),
            Verdict::Uncertain => (Mark::Uncertain, UiVerdict::Uncertain),
            Verdict::NotApplicable => (Mark::Found, UiVerdict::NotApplicable),
        };
        if c.verdict != Verdict::NotApplicable {
            marks.extend(c.evidence.iter().map(|e| (e.start, e.end, mark)));
        }
        // What the trainee did not do is worth a row each; eleven "did not swear" rows and
        // the checks that did not apply are one row each, so the screen stays readable.
        if c.category == "banned_phrase" && c.verdict == Verdict::Pass {
            banned_ok += 1;
            continue;
        }
        if c.verdict == Verdict::NotApplicable {
            not_graded.push(c.id.clone());
            continue;
        }
        checks.push(CheckRow {
            category: c.id.clone(),
            verdict,
            critical: c.critical,
            message_zh: c.message.zh.clone(),
            message_en: c.message.en.clone(),
        });
    }
    if banned_ok > 0 {
        checks.push(CheckRow {
            category: "banned_phrase".into(),
            verdict: UiVerdict::Pass,
            critical: true,
            message_zh: format!("未使用服务忌语(检查了{banned_ok}类)"),
            message_en: format!("no banned phrase used ({banned_ok} kinds checked)"),
        });
    }
    if !not_graded.is_empty() {
        let list = not_graded.join(", ");
        checks.push(CheckRow {
            category: "—".into(),
            verdict: UiVerdict::NotApplicable,
            critical: false,
            message_zh: format!("不适用:{list}"),
            message_en: format!("not applicable: {list}"),
        });
    }
    Feedback {
        transcript: report.normalized.clone(),
        marks,
        checks,
        score: report.score.min(100) as u8,
        passed: report.passed,
        rings: report.rings.unwrap_or(0),
        pickup_ms,
        first_words_ms: first_turn.and_then(|f| f.first_words_ms),
        chars_per_minute: report.speech_rate_cpm().map(|r| r as f32),
        saved_as: None,
    }
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

/// Transcribing while the trainee is still on the line: at each pause the reply so far is
/// sent to the worker. If no word follows before the hang-over ends the turn, that result
/// is the turn's transcript and the trainee waits for nothing; if they speak again, the next
/// pause sends a newer guess and the worker drops the stale one (newest wins).
/// Pure bookkeeping over sample counts and request ids; the runtime does the sending.
#[derive(Debug, Default)]
pub struct Guesser {
    /// Sample index just after the last voiced chunk of the current turn.
    last_voiced: usize,
    guess: Option<Guess>,
}

#[derive(Debug)]
struct Guess {
    id: u64,
    /// `last_voiced` when it was sent: still equal at the end of the turn means it heard it all.
    upto: usize,
    result: Option<Transcript>,
}

/// Silence after a word long enough to send a guess (the hang-over that ends a turn is longer).
const GUESS_AFTER_PAUSE_MS: usize = 300;

impl Guesser {
    /// A new turn starts at sample `at`.
    pub fn start_turn(&mut self, at: usize) {
        *self = Guesser {
            last_voiced: at,
            guess: None,
        };
    }

    /// The audio up to sample `upto` ended with a voiced chunk.
    pub fn voiced(&mut self, upto: usize) {
        self.last_voiced = upto;
    }

    /// Whether the reply so far (`len` samples) should be sent now: the trainee has spoken,
    /// has paused long enough, and nothing was sent for this much speech yet.
    pub fn should_send(&self, len: usize, heard_speech: bool) -> bool {
        let pause_ms = len.saturating_sub(self.last_voiced) * 1000 / TARGET_RATE as usize;
        let fresh = self
            .guess
            .as_ref()
            .is_none_or(|g| g.upto != self.last_voiced);
        heard_speech && pause_ms >= GUESS_AFTER_PAUSE_MS && fresh
    }

    /// The reply so far was sent as request `id`.
    pub fn sent(&mut self, id: u64) {
        self.guess = Some(Guess {
            id,
            upto: self.last_voiced,
            result: None,
        });
    }

    /// A transcription finished; true if it was this turn's guess (kept, or forgotten if it
    /// failed, so that the end of the turn asks properly).
    pub fn done(
        &mut self,
        id: u64,
        result: Result<Transcript, transcribe::TranscribeError>,
    ) -> bool {
        if self.guess.as_ref().is_none_or(|g| g.id != id) {
            return false;
        }
        match result {
            Ok(t) => {
                if let Some(g) = self.guess.as_mut() {
                    g.result = Some(t);
                }
            }
            Err(_) => self.guess = None,
        }
        true
    }

    /// The worker dropped request `id` unheard.
    pub fn superseded(&mut self, id: u64) {
        if self.guess.as_ref().is_some_and(|g| g.id == id) {
            self.guess = None;
        }
    }

    /// The turn ended. If the last guess heard all of it: its request id and its transcript
    /// if already back (else it arrives as that id's result). None: ask for the whole turn.
    pub fn end_turn(&mut self) -> Option<(u64, Option<Transcript>)> {
        match self.guess.take() {
            Some(g) if g.upto == self.last_voiced => Some((g.id, g.result)),
            _ => None,
        }
    }
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
    finishing: Option<Instant>,
}

pub struct Runtime<'a> {
    opts: &'a Options,
    catalog: &'a Catalog,
    store: &'a Store,
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

impl<'a> Runtime<'a> {
    pub fn new(opts: &'a Options, catalog: &'a Catalog, store: &'a Store) -> anyhow::Result<Self> {
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
            opts,
            catalog,
            store,
            trainee: opts.config.trainee_name(),
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
                vec![Msg::Failed(crate::cli::one_line(&e))]
            }
        }
    }

    fn try_effect(&mut self, app: &App, fx: Effect) -> anyhow::Result<Vec<Msg>> {
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
                                    w.submit(id, audio)?;
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

    fn submit(&self, id: u64, audio: Vec<f32>) -> Result<(), transcribe::TranscribeError> {
        match &self.worker {
            Some(w) => w.submit(id, audio),
            None => Ok(()),
        }
    }

    /// Opens the attempt in the store at pickup.
    fn begin_attempt(&self) -> anyhow::Result<store::Recording> {
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
            org: self.opts.org.clone(),
            started: Timestamp::now(),
        };
        Ok(self.store.begin(info, AudioFormat::SPEECH)?)
    }

    /// The best score this trainee has for a situation.
    pub fn best_score(&self, scenario: &str) -> Option<u8> {
        best_score(self.store, &self.trainee, scenario)
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
            ..
        } = self;
        let Some(rec) = call.as_mut().and_then(|c| c.recording.as_mut()) else {
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
                if w.submit(id, rec.samples[start..].to_vec()).is_ok() {
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
            transcribe::Event::Done { id, result, .. } => {
                let Some(call) = &mut self.call else {
                    return vec![];
                };
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
        let _ = self.submit(new_id, audio);
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
        let transcripts: Vec<Transcript> = call.transcripts.into_iter().flatten().collect();
        let facts: Vec<AudioFacts> = rec
            .turn_starts
            .iter()
            .zip(&rec.turn_ends)
            .map(|(&s, &e)| facts::measure(&rec.samples[s..e]))
            .collect();
        let tokens: Vec<Vec<transcribe::Token>> = transcripts
            .iter()
            .map(|t| t.tokens().cloned().collect())
            .collect();
        let scenario = &self.catalog.scenarios[call.scenario];
        let input = GradeInput {
            turns: transcripts
                .iter()
                .zip(&tokens)
                .zip(&facts)
                .map(|((t, tok), f)| Turn {
                    text: &t.text,
                    tokens: Some(tok),
                    facts: Some(f),
                })
                .collect(),
            pickup: Pickup::Rings(call.rings),
            org: &self.opts.org,
            org_source: self.opts.org_source,
        };
        let report = grading::grade(scenario, &self.catalog.phrasebook, &input);
        // Goes to the practice log (stderr is redirected while the screen is up): the wait a
        // trainee had, for the README's numbers and for anyone asking why feedback was slow.
        eprintln!(
            "practice: {} graded {} ms after the last turn ended ({} turn(s), pickup {} ms)",
            scenario.id(),
            call.finishing.map_or(0, |t| t.elapsed().as_millis()),
            transcripts.len(),
            call.pickup_ms
        );
        let mut fb = feedback(&report, call.pickup_ms, facts.first());
        let mut msgs = vec![];
        let mut rec = rec;
        if let Some(saved) = rec.saved.take() {
            let outcome = Outcome {
                transcript: merge_turns(&transcripts, &rec.turn_starts),
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

    fn chunks(&self) -> Option<&Receiver<Chunk>> {
        let rec = self.call.as_ref()?.recording.as_ref()?;
        rec.capture
            .as_ref()
            .or(self.mic.as_ref())
            .map(|c| c.chunks())
    }

    fn wants_ticks(&self, app: &App) -> bool {
        matches!(
            app.screen,
            Screen::Ringing { .. } | Screen::Working { .. } | Screen::Call { .. }
        )
    }
}

impl Drop for Runtime<'_> {
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
pub fn merge_turns(turns: &[Transcript], turn_starts: &[usize]) -> Transcript {
    let mut out = Transcript::default();
    for (t, &start) in turns.iter().zip(turn_starts) {
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

/// Reads terminal events on their own thread so the loop can select over them.
fn spawn_terminal_reader(tx: Sender<TermEvent>) {
    std::thread::Builder::new()
        .name("ringcoach-keys".into())
        .spawn(move || {
            while let Ok(ev) = crossterm::event::read() {
                if tx.send(ev).is_err() {
                    break;
                }
            }
        })
        .expect("the OS refused to start the key reader thread");
}

/// Runs the practice screens until the trainee quits. The terminal is restored on every
/// exit path, panics included (ratatui installs the hook).
pub fn run(opts: &Options, catalog: &Catalog, store: &Store) -> anyhow::Result<()> {
    let mut runtime = Runtime::new(opts, catalog, store)?;
    let mut app = App::new(
        situations(catalog, &opts.org, |id| runtime.best_score(id)),
        opts.config.lang,
        opts.org.clone(),
    );
    if let Some(id) = &opts.scenario {
        match app.situations.iter().position(|s| &s.id == id) {
            Some(i) => {
                app.selected = i;
                app.screen = crate::app::Screen::Card;
            }
            None => anyhow::bail!(
                "unknown scenario {id:?}: choose one of {}",
                catalog.ids().join(", ")
            ),
        }
    }

    let stderr_log = crate::tui::terminal::log_path();
    let redirect = crate::tui::terminal::StderrToFile::redirect(&stderr_log).ok();
    let mut terminal = ratatui::init();
    let result = (|| -> anyhow::Result<()> {
        let (key_tx, key_rx) = crossbeam_channel::unbounded();
        spawn_terminal_reader(key_tx);
        let ticker = tick(Duration::from_millis(50));
        loop {
            terminal.draw(|f| crate::tui::views::render(&app, f))?;
            let ticks = if runtime.wants_ticks(&app) {
                ticker.clone()
            } else {
                never()
            };
            let no_chunks = never();
            let chunks = runtime.chunks().cloned().unwrap_or(no_chunks);
            let mic_idle = match (
                &runtime.mic,
                runtime.call.as_ref().and_then(|c| c.recording.as_ref()),
            ) {
                (Some(m), None) => m.chunks().clone(),
                _ => never(),
            };
            let mut msgs: Vec<Msg> = vec![];
            select! {
                recv(key_rx) -> ev => match ev {
                    Ok(TermEvent::Key(k)) => {
                        if let Some(key) = Key::from_event(&k) {
                            msgs.push(Msg::Key(key));
                        }
                    }
                    Ok(_) => {} // resize and others: just redraw
                    Err(_) => anyhow::bail!("the terminal closed"),
                },
                recv(ticks) -> _ => msgs.extend(runtime.tick()),
                recv(chunks) -> c => if let Ok(c) = c { msgs.extend(runtime.audio(c)) },
                recv(mic_idle) -> _ => {} // the microphone runs between calls; drop what it hears
                recv(runtime.worker_rx) -> ev => if let Ok(ev) = ev { msgs.extend(runtime.worker_event(ev)) },
            }
            while !msgs.is_empty() {
                let mut next = vec![];
                for m in msgs {
                    for fx in app.update(m) {
                        if fx == Effect::Quit {
                            return Ok(());
                        }
                        next.extend(runtime.effect(&app, fx));
                    }
                }
                msgs = next;
            }
        }
    })();
    ratatui::restore();
    drop(terminal);
    drop(redirect);
    result
}

#[cfg(test)]
mod guesser_tests {
    use super::*;

    const MS: usize = TARGET_RATE as usize / 1000;

    fn heard(text: &str) -> Transcript {
        Transcript {
            text: text.into(),
            segments: vec![],
        }
    }

    /// Speech until `ms`, then silence: is a guess due at `now_ms`?
    fn speak_then_wait(g: &mut Guesser, speech_ms: usize, now_ms: usize) -> bool {
        g.voiced(speech_ms * MS);
        g.should_send(now_ms * MS, true)
    }

    #[test]
    fn a_guess_is_sent_once_per_pause_and_only_after_speech() {
        let mut g = Guesser::default();
        g.start_turn(0);
        assert!(!g.should_send(2000 * MS, false), "nothing said yet");
        assert!(
            !speak_then_wait(&mut g, 1000, 1200),
            "200 ms is not a pause"
        );
        assert!(speak_then_wait(&mut g, 1000, 1300));
        g.sent(1);
        assert!(
            !g.should_send(1500 * MS, true),
            "already sent for this speech"
        );
        assert!(
            speak_then_wait(&mut g, 2000, 2400),
            "more speech, new pause"
        );
    }

    #[test]
    fn a_result_back_before_the_turn_ends_is_the_turns_transcript() {
        // The bug this type was extracted for: the result came back during the hang-over
        // and was dropped, so the call waited forever.
        let mut g = Guesser::default();
        g.start_turn(0);
        speak_then_wait(&mut g, 3000, 3300);
        g.sent(7);
        assert!(g.done(7, Ok(heard("喂,你找谁?"))));
        assert_eq!(g.end_turn(), Some((7, Some(heard("喂,你找谁?")))));
    }

    #[test]
    fn a_guess_still_running_at_the_end_is_adopted_by_its_id() {
        let mut g = Guesser::default();
        g.start_turn(0);
        speak_then_wait(&mut g, 3000, 3300);
        g.sent(7);
        assert_eq!(g.end_turn(), Some((7, None)));
        // Its result now belongs to the turn, not to a guess.
        assert!(!g.done(7, Ok(heard("x"))));
    }

    #[test]
    fn speech_after_the_guess_means_the_whole_turn_is_asked_for() {
        let mut g = Guesser::default();
        g.start_turn(0);
        speak_then_wait(&mut g, 1000, 1300);
        g.sent(1);
        assert!(g.done(1, Ok(heard("您好"))));
        g.voiced(2500 * MS);
        assert_eq!(g.end_turn(), None);
    }

    #[test]
    fn a_failed_or_dropped_guess_is_forgotten() {
        let mut g = Guesser::default();
        g.start_turn(0);
        speak_then_wait(&mut g, 1000, 1300);
        g.sent(1);
        let err = transcribe::TranscribeError::Engine { detail: "x".into() };
        assert!(g.done(1, Err(err)));
        assert_eq!(g.end_turn(), None);

        g.start_turn(0);
        speak_then_wait(&mut g, 1000, 1300);
        g.sent(2);
        g.superseded(2);
        assert!(
            g.should_send(1400 * MS, true),
            "a dropped guess is sent again"
        );
        assert_eq!(g.end_turn(), None);
    }

    #[test]
    fn results_for_other_requests_are_not_taken() {
        let mut g = Guesser::default();
        g.start_turn(0);
        speak_then_wait(&mut g, 1000, 1300);
        g.sent(2);
        assert!(!g.done(1, Ok(heard("stale"))));
        assert_eq!(g.end_turn(), Some((2, None)));
    }
}
