//! The whisper-rs implementation of [`Transcriber`] — the only code in the product that
//! imports whisper-rs.
//!
//! Per clip: Silero VAD (whisper.cpp's, run by us: `FullParams::enable_vad` is ignored by
//! `WhisperState::full`) and the energy detector decide what is speech ([`gate`]); no
//! speech → an empty transcript without running Whisper, because Whisper invents text on
//! silence and noise and its no-speech probability is always 0 in this whisper.cpp. The
//! speech alone is decoded greedily at temperature 0 (no fallback: that is where 10–20 s
//! decoding loops came from, and a fixed decode makes a graded attempt reproducible),
//! language fixed to Chinese, no initial prompt (Whisper echoes prompts on silence),
//! output converted to Simplified. Decoding is bounded by a step budget proportional to
//! the speech and by a wall-clock limit, both enforced through whisper.cpp's callbacks.

use std::collections::HashMap;
use std::ffi::c_void;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
    WhisperVadContext, WhisperVadContextParams, WhisperVadParams,
};

use super::gate::{self, GateConfig, SpeechPlan};
use super::text::{self, RawToken};
use super::threads::{self, CpuMeter, Threads};
use super::verify::{self, FreeToken, Reading, ReadingScore, ScoreConfig, ScoreError};
use super::{Cancel, CutOff, CutReason, Segment, TranscribeError, Transcriber, Transcript};
use crate::audio::facts::{self, VoicingConfig};

const RATE: usize = 16_000;

/// How much of Whisper's 30 s encoder window to run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AudioContext {
    /// The model's full window (1500 frames = 30 s) whatever the clip length: the most
    /// accurate, and the slowest on short replies.
    Full,
    /// Only the frames the audio covers: `per_second × seconds + extra` (the encoder makes
    /// 50 frames per second). Several times faster on short replies, with some loss.
    Fitted { per_second: u32, extra: u32 },
}

impl AudioContext {
    /// Measured on this project's clips (2 vCPU, base model): against the full window,
    /// character error on 8 composed etiquette lines 9.4 % (full) / 13.1 % (+64, 久等了 →
    /// 酒党聊) / 8.5 % (+128) / 10.0 % (+256); on the 4 other-speaker clips 23.4 % / 21.5 %
    /// / 21.5 % / 21.5 %, at roughly a quarter of the encoder time. Hence +128.
    pub const FITTED_DEFAULT: AudioContext = AudioContext::Fitted {
        per_second: 50,
        extra: 128,
    };

    /// The `audio_ctx` value for whisper.cpp (0 = the model's own).
    pub fn frames_for(&self, samples: usize) -> i32 {
        match *self {
            AudioContext::Full => 0,
            AudioContext::Fitted { per_second, extra } => {
                let secs = samples.div_ceil(RATE) as u32;
                let n = per_second * secs + extra;
                if n >= 1500 {
                    0
                } else {
                    n as i32
                }
            }
        }
    }
}

impl std::str::FromStr for AudioContext {
    type Err = String;
    /// `full`, `fitted` (50 frames per second + 128), or `fitted+N` (50 per second + N).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("unknown audio context {s:?}: use `full`, `fitted` or `fitted+N`");
        match s {
            "full" => Ok(AudioContext::Full),
            "fitted" => Ok(AudioContext::FITTED_DEFAULT),
            _ => {
                let extra = s.strip_prefix("fitted+").ok_or_else(bad)?;
                let extra = extra.parse::<u32>().map_err(|_| bad())?;
                Ok(AudioContext::Fitted {
                    per_second: 50,
                    extra,
                })
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct WhisperConfig {
    pub model: PathBuf,
    /// The ggml Silero VAD. Without it only the energy detector gates speech.
    pub vad_model: Option<PathBuf>,
    /// CPU threads for Whisper: `Auto` (the default) takes the CPUs other programs leave
    /// free just before each clip; a fixed number is clamped to the CPUs that exist.
    pub threads: Threads,
    /// Threads for the Silero VAD. One: its graphs are so small (one LSTM step per 32 ms)
    /// that ggml's spinning thread barriers cost more than a second thread gains, and on a
    /// busy 2-core machine they turn 30 ms into 30 s.
    pub vad_threads: usize,
    pub audio_ctx: AudioContext,
    /// Decoder steps allowed per second of speech, plus `step_slack`: Mandarin runs at 4–7
    /// syllables a second and a character is 1–3 tokens, so 15/s only stops real loops.
    pub max_steps_per_second: f32,
    pub step_slack: u32,
    /// Wall-clock limit per clip: `time_base + time_per_speech_second × seconds`. It stops
    /// the decoder (what was decoded is returned, marked cut off); an encoder that has not
    /// finished by twice the limit is stopped too, with nothing decoded.
    pub time_base: Duration,
    pub time_per_speech_second: Duration,
    pub vad_threshold: f32,
    pub gate: GateConfig,
    pub voicing: VoicingConfig,
    /// Never etiquette phrases: Whisper repeats the prompt on silence and noise.
    pub initial_prompt: Option<String>,
    /// How [`Transcriber::score_readings`] decodes.
    pub score: ScoreConfig,
}

impl WhisperConfig {
    pub fn new(model: PathBuf, vad_model: Option<PathBuf>) -> Self {
        Self {
            model,
            vad_model,
            threads: Threads::Auto,
            vad_threads: 1,
            audio_ctx: AudioContext::FITTED_DEFAULT,
            max_steps_per_second: 15.0,
            step_slack: 30,
            time_base: Duration::from_secs(10),
            time_per_speech_second: Duration::from_millis(500),
            vad_threshold: 0.5,
            gate: GateConfig::default(),
            voicing: VoicingConfig::default(),
            initial_prompt: None,
            score: ScoreConfig::default(),
        }
    }
}

/// What happened inside the last call (kept under its old name here).
pub use super::RunInfo;

pub struct WhisperTranscriber {
    ctx: WhisperContext,
    state: WhisperState,
    vad: Option<WhisperVadContext>,
    cfg: WhisperConfig,
    last: Option<RunInfo>,
    /// The last free decode, kept so readings can be scored against the same audio.
    decoded: Option<Decoded>,
    /// What other programs are doing with the CPUs, for the thread count.
    meter: CpuMeter,
}

/// What [`Transcriber::score_readings`] needs from the last free decode.
struct Decoded {
    /// Every text token the model wrote, in order (segments dropped as hallucinations
    /// included, marked invisible).
    tokens: Vec<FreeToken>,
    /// The transcript returned for it.
    text: String,
    /// The audio Whisper heard (the gate's joined speech).
    audio: Vec<f32>,
    /// Encoder windows `full()` ran: after more than one the state holds the last
    /// window's encoding, and scoring encodes the whole clip again.
    windows: u32,
    /// Every segment the model wrote: its tokens and its stretch of `audio` in
    /// centiseconds, so a reading of a reply longer than one window is scored on a
    /// window around the segments it changes.
    segments: Vec<SegmentSpan>,
}

#[derive(Debug, Clone)]
struct SegmentSpan {
    tokens: Range<usize>,
    start_cs: i64,
    end_cs: i64,
}

/// The most audio one slice of a long reply may hold (the encoder's window is 30 s).
const SLICE_MAX_CS: i64 = 2800;
/// Audio kept around the segments of a slice.
const SLICE_PAD_CS: i64 = 20;

/// Which segments of a long reply a reading changing free tokens `edit` is scored on:
/// those it touches, widened by whole neighbouring segments while the slice stays within
/// [`SLICE_MAX_CS`]. None when the touched segments alone are longer.
fn slice_for(segments: &[SegmentSpan], edit: Range<usize>) -> Option<Range<usize>> {
    let touches = |s: &SegmentSpan| {
        if edit.is_empty() {
            s.tokens.start <= edit.start && edit.start <= s.tokens.end
        } else {
            s.tokens.start < edit.end && edit.start < s.tokens.end
        }
    };
    let first = segments.iter().position(touches)?;
    let last = segments.iter().rposition(touches)?;
    let len = |a: usize, b: usize| segments[b].end_cs - segments[a].start_cs + 2 * SLICE_PAD_CS;
    if len(first, last) > SLICE_MAX_CS {
        return None;
    }
    let (mut a, mut b) = (first, last);
    loop {
        let grew_left = a > 0 && len(a - 1, b) <= SLICE_MAX_CS;
        if grew_left {
            a -= 1;
        }
        let grew_right = b + 1 < segments.len() && len(a, b + 1) <= SLICE_MAX_CS;
        if grew_right {
            b += 1;
        }
        if !grew_left && !grew_right {
            break;
        }
    }
    Some(a..b + 1)
}

/// Longest run of tokens looked for as the unit of a loop.
const LOOP_MAX_UNIT: usize = 8;

/// How many times in a row a unit of `len` tokens makes a loop: a single token four times
/// (嘴嘴嘴嘴; 对对对 is speech), a longer unit three times (你可连接电话 ×3).
fn loop_repeats(len: usize) -> usize {
    if len == 1 {
        4
    } else {
        3
    }
}

/// The tokens that would close a loop if written next after the text tokens `seq`: for
/// each unit length, the token `len` back when the last `repeats × len − 1` tokens already
/// repeat with that period. What the repetition guard forbids.
fn loop_closers(seq: &[i32]) -> Vec<i32> {
    let n = seq.len();
    let mut out = Vec::new();
    for len in 1..=LOOP_MAX_UNIT {
        let need = loop_repeats(len) * len - 1;
        if n < need || n < len {
            continue;
        }
        let tail = &seq[n - need..];
        if (0..need - len).all(|i| tail[i] == tail[i + len]) {
            let t = seq[n - len];
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

/// Where the text tokens `seq` first hold a loop (see [`loop_repeats`]): the range of the
/// repeated stretch, from the first copy of the unit to the end of the last.
fn find_loop(seq: &[i32]) -> Option<Range<usize>> {
    let n = seq.len();
    for start in 0..n {
        for len in 1..=LOOP_MAX_UNIT {
            let need = loop_repeats(len) * len;
            if start + need > n {
                break;
            }
            let mut end = start + len;
            while end + len <= n && seq[end..end + len] == seq[start..start + len] {
                end += len;
            }
            if end - start >= need {
                return Some(start..end);
            }
        }
    }
    None
}

/// Routes whisper.cpp and ggml logging into the `log` crate so nothing is written over
/// the TUI. whisper-rs makes repeated calls harmless.
pub fn route_logging() {
    whisper_rs::install_logging_hooks();
}

fn path_str(p: &Path) -> Option<&str> {
    p.to_str()
}

impl WhisperTranscriber {
    /// Loads the model (and VAD) once; every later call reuses them and one decoder state.
    pub fn new(cfg: WhisperConfig) -> Result<Self, TranscribeError> {
        route_logging();
        if !cfg.model.is_file() {
            return Err(TranscribeError::ModelMissing {
                path: cfg.model.clone(),
            });
        }
        let load_err = || TranscribeError::ModelLoad {
            path: cfg.model.clone(),
        };
        let mut cparams = WhisperContextParameters::default();
        cparams.use_gpu(false);
        let ctx =
            WhisperContext::new_with_params(path_str(&cfg.model).ok_or_else(load_err)?, cparams)
                .map_err(|_| load_err())?;
        let state = ctx.create_state().map_err(|_| load_err())?;
        let vad = match &cfg.vad_model {
            None => None,
            Some(p) => {
                if !p.is_file() {
                    return Err(TranscribeError::VadMissing { path: p.clone() });
                }
                let mut vp = WhisperVadContextParams::new();
                vp.set_n_threads(cfg.vad_threads.max(1) as i32);
                vp.set_use_gpu(false);
                let s = path_str(p).ok_or_else(|| TranscribeError::VadLoad { path: p.clone() })?;
                Some(
                    WhisperVadContext::new(s, vp)
                        .map_err(|_| TranscribeError::VadLoad { path: p.clone() })?,
                )
            }
        };
        Ok(Self {
            ctx,
            state,
            vad,
            cfg,
            last: None,
            decoded: None,
            meter: CpuMeter::new(),
        })
    }

    pub fn config(&self) -> &WhisperConfig {
        &self.cfg
    }

    pub fn set_audio_ctx(&mut self, audio_ctx: AudioContext) {
        self.cfg.audio_ctx = audio_ctx;
    }

    /// How later [`Transcriber::score_readings`] calls decode; the last free decode is
    /// kept, so the same readings can be scored again with another setting.
    pub fn set_score_config(&mut self, score: ScoreConfig) {
        self.cfg.score = score;
    }

    /// Speech stretches according to the VAD, in samples; without a VAD model, the
    /// energy detector's stretches stand in.
    fn vad_regions(&mut self, samples: &[f32]) -> Result<Vec<Range<usize>>, TranscribeError> {
        let Some(vad) = self.vad.as_mut() else {
            return Ok(facts::voiced_regions(samples, &self.cfg.voicing));
        };
        let mut p = WhisperVadParams::new();
        p.set_threshold(self.cfg.vad_threshold);
        // Short: a lone, quick 喂 is 200–300 ms and must reach the gate, which measures
        // it by its voiced frames (clicks and breaths stay out there).
        p.set_min_speech_duration(100);
        p.set_min_silence_duration(100);
        // Our own padding is applied by the gate, after the energy check.
        p.set_speech_pad(0);
        let segs = vad
            .segments_from_samples(p, samples)
            .map_err(|e| TranscribeError::Vad {
                detail: e.to_string(),
            })?;
        // Timestamps are in centiseconds.
        Ok(segs
            .map(|s| {
                let a = (s.start.max(0.0) as usize) * RATE / 100;
                let b = (s.end.max(0.0) as usize) * RATE / 100;
                a.min(samples.len())..b.min(samples.len())
            })
            .filter(|r| !r.is_empty())
            .collect())
    }
}

impl WhisperTranscriber {
    /// The segments whisper.cpp finished (every window it completed), as the product's
    /// segments, and every text token the model wrote for the scorer (segments dropped as
    /// hallucinations included, marked invisible).
    fn finished_segments(
        &self,
        plan: &SpeechPlan,
    ) -> (Vec<Segment>, Vec<FreeToken>, Vec<SegmentSpan>) {
        let eot = self.ctx.token_eot();
        let mut segments = Vec::new();
        let mut spans = Vec::new();
        let mut free = Vec::new();
        for seg in self.state.as_iter() {
            let (s0, s1) = (seg.start_timestamp(), seg.end_timestamp());
            let mut raw = Vec::new();
            let first_free = free.len();
            for i in 0..seg.n_tokens() {
                let Some(tok) = seg.get_token(i) else {
                    continue;
                };
                // Special tokens (timestamps, language, task, end) are ids from EOT up.
                if tok.token_id() >= eot {
                    continue;
                }
                free.push(FreeToken {
                    id: tok.token_id(),
                    bytes: tok.to_bytes().map(<[u8]>::to_vec).unwrap_or_default(),
                    visible: true,
                });
                let data = tok.token_data();
                let (t0, t1) = if data.t0 >= 0 && data.t1 >= data.t0 {
                    (data.t0.clamp(s0, s1), data.t1.clamp(s0, s1))
                } else {
                    (s0, s1)
                };
                raw.push(RawToken {
                    bytes: tok.to_bytes().map(<[u8]>::to_vec).unwrap_or_default(),
                    start_ms: plan.map.to_original_ms(t0),
                    end_ms: plan.map.to_original_ms(t1),
                    p: tok.token_probability(),
                });
            }
            spans.push(SegmentSpan {
                tokens: first_free..free.len(),
                start_cs: s0,
                end_cs: s1,
            });
            match segment_of(plan, &raw, s0, s1) {
                Some(s) => segments.push(s),
                None => {
                    for t in &mut free[first_free..] {
                        t.visible = false;
                    }
                }
            }
        }
        (segments, free, spans)
    }

    /// The window whisper.cpp was decoding when it was stopped, from the sequence the last
    /// decoder step saw: its text tokens as one segment, timed by the timestamp tokens
    /// between them (20 ms each, from `window_cs`, where the finished segments ended).
    /// Also returns how far the text reaches, in centiseconds of the speech buffer.
    fn partial_segment(
        &self,
        plan: &SpeechPlan,
        seq: &[whisper_rs::WhisperTokenData],
        window_cs: Option<i64>,
    ) -> (Option<Segment>, Vec<FreeToken>, Option<i64>) {
        let eot = self.ctx.token_eot();
        let beg = self.ctx.token_beg();
        let base = window_cs.unwrap_or(0);
        let mut at = base;
        let mut raw = Vec::new();
        let mut free = Vec::new();
        let mut reach = window_cs;
        for t in seq {
            if t.id >= beg {
                at = base + 2 * i64::from(t.id - beg);
                reach = Some(reach.map_or(at, |r| r.max(at)));
                continue;
            }
            if t.id >= eot {
                continue;
            }
            let bytes = self
                .ctx
                .token_to_bytes(t.id)
                .map(<[u8]>::to_vec)
                .unwrap_or_default();
            free.push(FreeToken {
                id: t.id,
                bytes: bytes.clone(),
                visible: true,
            });
            raw.push(RawToken {
                bytes,
                start_ms: plan.map.to_original_ms(at),
                end_ms: plan.map.to_original_ms(at),
                p: t.p,
            });
        }
        if raw.is_empty() {
            return (None, free, reach);
        }
        let end = reach.unwrap_or(at).max(at);
        let seg = segment_of(plan, &raw, base, end);
        if seg.is_none() {
            for t in &mut free {
                t.visible = false;
            }
        }
        (seg, free, reach)
    }
}

/// One decoded segment as the product keeps it; `None` when it is empty or a known
/// hallucination (subtitle credits and the like).
fn segment_of(plan: &SpeechPlan, raw: &[RawToken], s0: i64, s1: i64) -> Option<Segment> {
    let tokens = text::merge_tokens(raw);
    let seg_text: String = tokens.iter().map(|t| t.text.as_str()).collect();
    let seg_text = seg_text.trim().to_string();
    if seg_text.is_empty() || text::is_known_hallucination(&seg_text) {
        if !seg_text.is_empty() {
            log::debug!("dropped a known Whisper hallucination: {seg_text}");
        }
        return None;
    }
    Some(Segment {
        start_ms: plan.map.to_original_ms(s0),
        end_ms: plan.map.to_original_ms(s1),
        text: seg_text,
        tokens,
    })
}

/// Shared with whisper.cpp's callbacks during one decode; lives on the stack of
/// [`WhisperTranscriber::transcribe_or_cancel`] for exactly as long as `full()` runs.
struct Budget<'a> {
    steps: AtomicU32,
    max_steps: u32,
    /// Past it the decoder stops; past `hard_deadline` anything stops.
    deadline: Instant,
    hard_deadline: Instant,
    cancel: &'a AtomicBool,
    /// Why the decode was stopped: one of the `STOP_*` values.
    stopped: AtomicU8,
    /// Encoder runs (30 s windows) so far.
    windows: AtomicU32,
    /// The token sequence of the window being decoded, as of the last step: what is
    /// returned if the decode is stopped before the window is finished.
    in_flight: Mutex<Vec<whisper_rs::WhisperTokenData>>,
    /// The end-of-text token and the vocabulary's size when the decoder is held back from
    /// closing a loop (see [`loop_closers`]): the text tokens are those below the first.
    guard: Option<(i32, usize)>,
    /// Times the guard forbade the token the model ranked first.
    held_back: AtomicU32,
}

const STOP_NONE: u8 = 0;
const STOP_STEPS: u8 = 1;
const STOP_TIME: u8 = 2;
const STOP_CANCEL: u8 = 3;

impl Budget<'_> {
    fn stop(&self, why: u8) -> bool {
        let _ = self
            .stopped
            .compare_exchange(STOP_NONE, why, Ordering::Relaxed, Ordering::Relaxed);
        true
    }
}

/// Called by whisper.cpp before each encoder run: counts the windows.
unsafe extern "C" fn count_window(
    _ctx: *mut whisper_rs::WhisperSysContext,
    _state: *mut whisper_rs::WhisperSysState,
    user_data: *mut c_void,
) -> bool {
    // SAFETY: as for `count_step`.
    let budget = unsafe { &*(user_data as *const Budget) };
    budget.windows.fetch_add(1, Ordering::Relaxed);
    budget.in_flight.lock().map(|mut v| v.clear()).ok();
    // A request cancelled while the previous window was decoded need not encode another.
    !budget.cancel.load(Ordering::Relaxed)
}

/// Called once per decoder step with the logits and the sequence so far: counts the step,
/// keeps the sequence, and with the guard on forbids the tokens that would close a loop.
unsafe extern "C" fn count_step(
    _ctx: *mut whisper_rs::WhisperSysContext,
    _state: *mut whisper_rs::WhisperSysState,
    tokens: *const whisper_rs::WhisperTokenData,
    n_tokens: std::os::raw::c_int,
    logits: *mut f32,
    user_data: *mut c_void,
) {
    // SAFETY: user_data is the &Budget set in `decode_pass`, alive for the whole decode;
    // `tokens` points at `n_tokens` token records and `logits` at the vocabulary's logits,
    // both owned by whisper.cpp for this call.
    let budget = unsafe { &*(user_data as *const Budget) };
    budget.steps.fetch_add(1, Ordering::Relaxed);
    let Ok(n) = usize::try_from(n_tokens) else {
        return;
    };
    let seq = if tokens.is_null() {
        &[][..]
    } else {
        unsafe { std::slice::from_raw_parts(tokens, n) }
    };
    if let Ok(mut v) = budget.in_flight.lock() {
        v.clear();
        v.extend_from_slice(seq);
    }
    let (Some((eot, n_vocab)), false) = (budget.guard, logits.is_null()) else {
        return;
    };
    let logits = unsafe { std::slice::from_raw_parts_mut(logits, n_vocab) };
    let text: Vec<i32> = seq.iter().map(|t| t.id).filter(|&id| id < eot).collect();
    let closers = loop_closers(&text);
    if closers.is_empty() {
        return;
    }
    let top = logits
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i);
    for t in closers {
        if let Some(l) = usize::try_from(t).ok().and_then(|t| logits.get_mut(t)) {
            if top == usize::try_from(t).ok() {
                budget.held_back.fetch_add(1, Ordering::Relaxed);
            }
            *l = f32::NEG_INFINITY;
        }
    }
}

/// Polled by whisper.cpp after the encoder and after every decoder step: true stops it.
unsafe extern "C" fn should_abort(user_data: *mut c_void) -> bool {
    // SAFETY: as for `count_step`.
    let budget = unsafe { &*(user_data as *const Budget) };
    if budget.cancel.load(Ordering::Relaxed) {
        return budget.stop(STOP_CANCEL);
    }
    let steps = budget.steps.load(Ordering::Relaxed);
    if steps > budget.max_steps {
        return budget.stop(STOP_STEPS);
    }
    let now = Instant::now();
    // The time limit stops the decoder, so something is always returned; only an encoder
    // still running at the hard deadline is stopped with nothing decoded.
    if now > budget.deadline && steps > 0 || now > budget.hard_deadline {
        return budget.stop(STOP_TIME);
    }
    false
}

/// What every decoding pass over one clip shares.
struct PassSetup<'a> {
    plan: &'a SpeechPlan,
    threads: usize,
    audio_ctx: i32,
    clip_ms: u64,
    cancel: &'a Cancel,
    deadline: Instant,
    hard_deadline: Instant,
    limit: Duration,
}

/// One run of the decoder over the speech: what it wrote and why it stopped.
struct Pass {
    segments: Vec<Segment>,
    free: Vec<FreeToken>,
    spans: Vec<SegmentSpan>,
    cut_off: Option<CutOff>,
    windows: u32,
}

impl Pass {
    fn text(&self) -> String {
        text::join_segments(self.segments.iter().map(|s| s.text.as_str()))
    }

    /// The text tokens of the segments kept in the transcript.
    fn visible_ids(&self) -> Vec<i32> {
        self.free
            .iter()
            .filter(|t| t.visible)
            .map(|t| t.id)
            .collect()
    }
}

/// More characters than this per second of speech, plus [`RUNAWAY_CHARS_SLACK`], is more
/// than anyone says: a decode that wrote them ran away. Mandarin runs at 4–7 syllables a
/// second, 8–9 when hurried; the model answers spoken at 1.3× are about 6.
const RUNAWAY_CHARS_PER_SECOND: f32 = 10.0;
const RUNAWAY_CHARS_SLACK: usize = 4;

/// Which pass's text a clip keeps after its first decode ran away (`why`): the guarded
/// second pass, marked, unless the clock stopped it or it wrote nothing (then the first,
/// marked as it was or as a runaway).
fn choose_after_runaway(first: Pass, second: Pass, why: String, clip_ms: u64) -> Pass {
    let first_text = first.text();
    let runaway = |heard_until_ms| CutOff {
        reason: CutReason::Runaway {
            why: why.clone(),
            first: first_text.chars().take(RUNAWAY_FIRST_CHARS).collect(),
        },
        heard_until_ms,
        clip_ms,
    };
    let timed_out = matches!(
        second.cut_off,
        Some(CutOff {
            reason: CutReason::TimeLimit { .. },
            ..
        })
    );
    if timed_out || (second.text().is_empty() && !first_text.is_empty()) {
        let cut_off = first.cut_off.clone().or_else(|| Some(runaway(clip_ms)));
        return Pass { cut_off, ..first };
    }
    let cut_off = match second.cut_off.clone() {
        Some(c) => Some(c),
        None => Some(runaway(clip_ms)),
    };
    Pass { cut_off, ..second }
}

/// The first decode's text in a runaway note is cut to this many characters.
const RUNAWAY_FIRST_CHARS: usize = 24;

impl WhisperTranscriber {
    /// Why the decode `pass` of `speech_ms` of speech is not to be trusted as it stands:
    /// stopped by the step bound, a loop in its text (see [`find_loop`]), or more text than
    /// the speech can hold. None for a decode that ended by itself.
    fn ran_away(&self, pass: &Pass, speech_ms: u64) -> Option<String> {
        if let Some(CutOff {
            reason: CutReason::StepLimit { steps, limit },
            ..
        }) = &pass.cut_off
        {
            return Some(format!("{steps} decoder steps, over the bound of {limit}"));
        }
        if pass.cut_off.is_some() {
            return None;
        }
        let ids = pass.visible_ids();
        if let Some(r) = find_loop(&ids) {
            let unit: Vec<u8> = ids[r.clone()]
                .iter()
                .take(LOOP_MAX_UNIT)
                .flat_map(|&id| {
                    self.ctx
                        .token_to_bytes(id)
                        .map(<[u8]>::to_vec)
                        .unwrap_or_default()
                })
                .collect();
            return Some(format!(
                "a loop of {} tokens from {:?}",
                r.len(),
                String::from_utf8_lossy(&unit)
            ));
        }
        let chars = pass.text().chars().filter(|c| c.is_alphanumeric()).count();
        let most =
            (RUNAWAY_CHARS_PER_SECOND * speech_ms as f32 / 1000.0) as usize + RUNAWAY_CHARS_SLACK;
        (chars > most).then(|| {
            format!(
                "{chars} characters from {:.1} s of speech (at most {most})",
                speech_ms as f32 / 1000.0
            )
        })
    }

    /// Runs the decoder once over the speech of `run`, bounded by its steps and clock;
    /// `guard` holds it back from closing a loop (see [`loop_closers`]). Adds its steps and
    /// time to `info`.
    fn decode_pass(
        &mut self,
        run: &PassSetup,
        guard: bool,
        info: &mut RunInfo,
    ) -> Result<Pass, TranscribeError> {
        let plan = run.plan;
        let speech_s = plan.speech_ms as f32 / 1000.0;
        let budget = Budget {
            steps: AtomicU32::new(0),
            max_steps: (self.cfg.max_steps_per_second * speech_s).ceil() as u32
                + self.cfg.step_slack,
            deadline: run.deadline,
            hard_deadline: run.hard_deadline,
            cancel: run.cancel.flag(),
            stopped: AtomicU8::new(STOP_NONE),
            windows: AtomicU32::new(0),
            in_flight: Mutex::new(Vec::new()),
            guard: guard.then(|| {
                (
                    self.ctx.token_eot(),
                    usize::try_from(self.ctx.n_vocab()).unwrap_or(0),
                )
            }),
            held_back: AtomicU32::new(0),
        };

        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_n_threads(run.threads as i32);
        params.set_language(Some("zh"));
        params.set_translate(false);
        params.set_no_context(true);
        params.set_token_timestamps(true);
        params.set_temperature(0.0);
        params.set_temperature_inc(0.0);
        params.set_suppress_blank(true);
        params.set_suppress_nst(true);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        params.set_audio_ctx(run.audio_ctx);
        if let Some(prompt) = &self.cfg.initial_prompt {
            params.set_initial_prompt(prompt);
        }
        let budget_ptr = &budget as *const Budget as *mut c_void;
        // SAFETY: the callbacks only read `budget` (its interior mutability included)
        // through this pointer, and `budget` outlives `full()`, the only place whisper.cpp
        // calls them.
        unsafe {
            params.set_filter_logits_callback(Some(count_step));
            params.set_filter_logits_callback_user_data(budget_ptr);
            params.set_abort_callback(Some(should_abort));
            params.set_abort_callback_user_data(budget_ptr);
            params.set_start_encoder_callback(Some(count_window));
            params.set_start_encoder_callback_user_data(budget_ptr);
        }

        let t_dec = Instant::now();
        let result = self.state.full(params, &plan.audio);
        info.decode_ms += t_dec.elapsed().as_millis() as u64;
        let steps = budget.steps.load(Ordering::Relaxed);
        info.decoder_steps += steps;
        let held_back = budget.held_back.load(Ordering::Relaxed);
        if held_back > 0 {
            log::debug!("the repetition guard held the decoder back {held_back} times");
        }
        let cut_reason = match budget.stopped.load(Ordering::Relaxed) {
            STOP_CANCEL => return Err(TranscribeError::Cancelled),
            STOP_STEPS => Some(CutReason::StepLimit {
                steps,
                limit: budget.max_steps,
            }),
            STOP_TIME => Some(CutReason::TimeLimit {
                limit_ms: run.limit.as_millis() as u64,
            }),
            _ => None,
        };
        if cut_reason.is_none() && run.cancel.is_cancelled() {
            // Stopped between windows by the encoder callback.
            return Err(TranscribeError::Cancelled);
        }
        if cut_reason.is_none() {
            result.map_err(|e| TranscribeError::Engine {
                detail: e.to_string(),
            })?;
        }

        let (mut segments, mut free, spans) = self.finished_segments(plan);
        let mut cut_off = None;
        if let Some(reason) = cut_reason {
            let in_flight = budget
                .in_flight
                .lock()
                .map(|v| v.clone())
                .unwrap_or_default();
            let done_cs = self.state.as_iter().map(|s| s.end_timestamp()).max();
            let (seg, toks, until_cs) = self.partial_segment(plan, &in_flight, done_cs);
            free.extend(toks);
            segments.extend(seg);
            let heard_until_ms = until_cs.map_or(0, |cs| plan.map.to_original_ms(cs));
            cut_off = Some(CutOff {
                reason,
                heard_until_ms: heard_until_ms.min(run.clip_ms),
                clip_ms: run.clip_ms,
            });
        }
        Ok(Pass {
            segments,
            free,
            spans,
            cut_off,
            windows: budget.windows.load(Ordering::Relaxed),
        })
    }
}

impl Transcriber for WhisperTranscriber {
    fn transcribe(&mut self, samples: &[f32]) -> Result<Transcript, TranscribeError> {
        self.transcribe_or_cancel(samples, &Cancel::new())
    }

    fn transcribe_or_cancel(
        &mut self,
        samples: &[f32],
        cancel: &Cancel,
    ) -> Result<Transcript, TranscribeError> {
        let mut info = RunInfo::default();
        self.last = None;
        self.decoded = None;
        if samples.is_empty() {
            self.last = Some(info);
            return Ok(Transcript::default());
        }
        let started = Instant::now();
        // Measured before the VAD, so our own VAD run is not mistaken for someone else's.
        info.others_busy = self.meter.others_busy();
        info.threads = threads::choose(
            self.cfg.threads,
            threads::available_cpus(),
            info.others_busy,
        );

        let t_vad = Instant::now();
        let vad = self.vad_regions(samples)?;
        let energy = facts::voiced_regions(samples, &self.cfg.voicing);
        info.vad_ms = t_vad.elapsed().as_millis() as u64;
        let Some(plan) = gate::plan(samples, &vad, &energy, &self.cfg.gate) else {
            self.last = Some(info);
            return Ok(Transcript::default());
        };
        if cancel.is_cancelled() {
            self.last = Some(info);
            return Err(TranscribeError::Cancelled);
        }
        info.speech_ms = plan.speech_ms;
        info.heard_ms = plan
            .kept
            .iter()
            .map(|r| ((r.start * 1000 / RATE) as u64, (r.end * 1000 / RATE) as u64))
            .collect();

        let speech_s = plan.speech_ms as f32 / 1000.0;
        let limit = self.cfg.time_base + self.cfg.time_per_speech_second.mul_f32(speech_s);
        let clip_ms = (samples.len() * 1000 / RATE) as u64;
        let run = PassSetup {
            plan: &plan,
            threads: info.threads,
            audio_ctx: self.cfg.audio_ctx.frames_for(plan.audio.len()),
            clip_ms,
            cancel,
            deadline: started + limit,
            hard_deadline: started + limit * 2,
            limit,
        };
        info.audio_ctx = run.audio_ctx;
        let first = self.decode_pass(&run, false, &mut info);
        self.last = Some(info.clone());
        let first = first?;
        // A decode that ran away is heard again, held back from repeating itself; either
        // way its text is marked as untrustworthy (see `CutReason::Runaway`).
        let pass = match self.ran_away(&first, plan.speech_ms) {
            None => first,
            Some(why) => {
                log::debug!("decode ran away ({why}): {:?}", first.text());
                let second = self.decode_pass(&run, true, &mut info);
                self.last = Some(info.clone());
                choose_after_runaway(first, second?, why, clip_ms)
            }
        };
        let text = pass.text();
        let keeps_tokens = pass
            .cut_off
            .as_ref()
            .is_none_or(|c| matches!(c.reason, CutReason::Runaway { .. }));
        if !text.is_empty() && keeps_tokens {
            self.decoded = Some(Decoded {
                tokens: pass.free,
                text: text.clone(),
                audio: plan.audio,
                windows: pass.windows,
                segments: pass.spans,
            });
        }
        Ok(Transcript {
            text,
            segments: pass.segments,
            cut_off: pass.cut_off,
        })
    }

    fn idle(&mut self) {
        self.meter.sample();
    }

    fn last_run(&self) -> Option<&RunInfo> {
        self.last.as_ref()
    }

    fn score_readings(&mut self, readings: &[Reading]) -> verify::Scored {
        let Some(dec) = self.decoded.as_ref() else {
            return Err(ScoreError::NothingHeard);
        };
        let ctx = &self.ctx;
        let tokens_of = |s: &str| ctx.tokenize(s, s.len() + 8).unwrap_or_default();
        let edits: Vec<Result<Option<verify::TokenEdit>, ScoreError>> = readings
            .iter()
            .map(|r| verify::plan_edit(&dec.tokens, &dec.text, &r.text, &tokens_of))
            .collect();

        // Readings are scored in groups sharing one encoding: the whole reply when it fits
        // one window, else slices of whole segments around each change.
        let long = dec.audio.len() > 30 * RATE;
        let secs = dec.audio.len() as f32 / RATE as f32;
        let mut groups: Vec<(Option<Range<usize>>, Vec<usize>)> = Vec::new();
        let mut results: Vec<Option<Result<ReadingScore, ScoreError>>> = vec![None; readings.len()];
        for (i, edit) in edits.iter().enumerate() {
            match edit {
                Err(e) => results[i] = Some(Err(e.clone())),
                Ok(None) => results[i] = Some(Ok(ReadingScore::same_as_heard(&readings[i]))),
                Ok(Some(edit)) => {
                    let key = if long {
                        match slice_for(&dec.segments, edit.start..edit.end) {
                            Some(segs) => Some(segs),
                            None => {
                                results[i] = Some(Err(ScoreError::TooLong { secs }));
                                continue;
                            }
                        }
                    } else {
                        None
                    };
                    match groups.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, members)) => members.push(i),
                        None => groups.push((key, vec![i])),
                    }
                }
            }
        }
        for (segs, members) in groups {
            let scored = self.score_group(segs, &members, readings, &edits)?;
            for (i, r) in members.into_iter().zip(scored) {
                results[i] = Some(r);
            }
        }
        Ok(results
            .into_iter()
            .map(|r| {
                r.unwrap_or(Err(ScoreError::Engine {
                    detail: "a reading was left unscored".into(),
                }))
            })
            .collect())
    }
}

impl WhisperTranscriber {
    /// Scores readings `members` (indices into `readings` and `edits`) on one encoding:
    /// the whole reply (`segs` None: the encoding `full()` left, or the whole clip
    /// encoded again after several windows), or the audio of segments `segs` of a long
    /// one, where the free tokens of those segments stand for what the model wrote.
    fn score_group(
        &mut self,
        segs: Option<Range<usize>>,
        members: &[usize],
        readings: &[Reading],
        edits: &[Result<Option<verify::TokenEdit>, ScoreError>],
    ) -> Result<Vec<Result<ReadingScore, ScoreError>>, ScoreError> {
        let engine = |e: whisper_rs::WhisperError| ScoreError::Engine {
            detail: e.to_string(),
        };
        let cfg = self.cfg.score;
        let threads = cfg.threads.max(1);
        let dec = self.decoded.as_ref().ok_or(ScoreError::NothingHeard)?;
        let ctx = &self.ctx;

        // The forced sequence: the prompt of a decode without timestamps, the model's
        // own text tokens, the end. Both sides use it, so the prompt's choice cancels.
        let zh = whisper_rs::get_lang_id("zh").ok_or_else(|| ScoreError::Engine {
            detail: "the model has no Chinese language token".into(),
        })?;
        let prompt = [
            ctx.token_sot(),
            ctx.token_lang(zh),
            ctx.token_transcribe(),
            ctx.token_not(),
        ];
        let p = prompt.len();
        let eot = ctx.token_eot();
        let (tok_range, audio) = match &segs {
            None => (0..dec.tokens.len(), None),
            Some(r) => {
                let (a, b) = (&dec.segments[r.start], &dec.segments[r.end - 1]);
                let from = ((a.start_cs - SLICE_PAD_CS).max(0) as usize) * RATE / 100;
                let to = (((b.end_cs + SLICE_PAD_CS) as usize) * RATE / 100).min(dec.audio.len());
                (
                    a.tokens.start..b.tokens.end,
                    Some(dec.audio[from.min(to)..to].to_vec()),
                )
            }
        };
        let free_body: Vec<i32> = dec.tokens[tok_range.clone()]
            .iter()
            .map(|t| t.id)
            .chain(std::iter::once(eot))
            .collect();
        let n_ctx = ctx.n_text_ctx().max(0) as usize;

        // Each reading as a body of tokens, and the stretch where it is compared.
        let mut plans: Vec<Result<Option<Plan>, ScoreError>> = Vec::with_capacity(members.len());
        for &i in members {
            let reading = &readings[i];
            let Ok(Some(edit)) = &edits[i] else {
                plans.push(Ok(None));
                continue;
            };
            let plan = ctx
                .tokenize(&edit.middle, edit.middle.len() + 8)
                .map_err(|e| ScoreError::Unmappable {
                    reading: reading.text.clone(),
                    detail: format!("the tokenizer refused it: {e}"),
                })
                .and_then(|middle| {
                    let (start, end) = (edit.start - tok_range.start, edit.end - tok_range.start);
                    let mut alt = free_body[..start].to_vec();
                    alt.extend(middle);
                    alt.extend_from_slice(&free_body[end..]);
                    if p + alt.len().max(free_body.len()) >= n_ctx {
                        return Err(ScoreError::Unmappable {
                            reading: reading.text.clone(),
                            detail: format!("longer than the decoder's {n_ctx} tokens"),
                        });
                    }
                    Ok(Plan::new(
                        &free_body,
                        alt,
                        edit.scored_text.clone(),
                        cfg.tail_tokens,
                    ))
                });
            plans.push(plan);
        }

        let mut wanted: Vec<usize> = plans
            .iter()
            .filter_map(|p| p.as_ref().ok().and_then(Option::as_ref))
            .flat_map(|pl| std::iter::once(pl.diverge).chain(pl.diverge..pl.free_end))
            .map(|k| k + p)
            .collect();
        wanted.sort_unstable();
        wanted.dedup();

        if !wanted.is_empty() {
            match audio {
                Some(audio) => {
                    // A slice of a long reply: encode it alone.
                    self.state.pcm_to_mel(&audio, threads).map_err(engine)?;
                    self.state.encode(0, threads).map_err(engine)?;
                    if let Some(d) = self.decoded.as_mut() {
                        d.windows = 0;
                    }
                }
                None if dec.windows != 1 => {
                    // The state holds another encoding: encode the whole clip again (it
                    // fits one window, or it is scored in slices).
                    let audio = dec.audio.clone();
                    self.state.pcm_to_mel(&audio, threads).map_err(engine)?;
                    self.state.encode(0, threads).map_err(engine)?;
                    if let Some(d) = self.decoded.as_mut() {
                        d.windows = 1;
                    }
                }
                None => {}
            }
        }

        // The free sequence, token by token where a comparison needs its probability
        // and in one call in between; each reading's first token is read off the same
        // logits as the free token it replaces.
        let seq: Vec<i32> = prompt
            .iter()
            .copied()
            .chain(free_body.iter().copied())
            .collect();
        let mut free_lp: HashMap<usize, f32> = HashMap::new();
        let mut first_lp: HashMap<usize, f32> = HashMap::new();
        let mut cur = 0usize;
        for &q in &wanted {
            if q - 1 > cur {
                self.state
                    .decode(&seq[cur..q - 1], cur, threads)
                    .map_err(engine)?;
            }
            self.state
                .decode(&seq[q - 1..q], q - 1, threads)
                .map_err(engine)?;
            cur = q;
            let lp = LogProbs::new(self.state.get_logits().map_err(engine)?);
            free_lp.insert(q - p, lp.of(seq[q]));
            for (i, pl) in plans.iter().enumerate() {
                if let Ok(Some(pl)) = pl {
                    if pl.diverge + p == q {
                        first_lp.insert(i, lp.of(pl.alt[pl.diverge]));
                    }
                }
            }
        }

        // Readings from the last divergence to the first, so that each finds the free
        // tokens before its divergence still in the decoder's cache.
        let mut order: Vec<usize> = (0..plans.len()).collect();
        order.sort_by_key(|&i| match &plans[i] {
            Ok(Some(pl)) => std::cmp::Reverse(pl.diverge),
            _ => std::cmp::Reverse(0),
        });
        let mut alt_lps: HashMap<usize, Vec<f32>> = HashMap::new();
        for i in order {
            let Ok(Some(pl)) = &plans[i] else { continue };
            let mut lps = vec![first_lp[&i]];
            for k in pl.diverge + 1..pl.alt_end {
                self.state
                    .decode(&pl.alt[k - 1..k], p + k - 1, threads)
                    .map_err(engine)?;
                let lp = LogProbs::new(self.state.get_logits().map_err(engine)?);
                lps.push(lp.of(pl.alt[k]));
            }
            alt_lps.insert(i, lps);
        }

        Ok(plans
            .into_iter()
            .enumerate()
            .map(|(k, plan)| {
                let reading = &readings[members[k]];
                let Some(pl) = plan? else {
                    return Ok(ReadingScore::same_as_heard(reading));
                };
                let token_logprobs = alt_lps.remove(&k).unwrap_or_default();
                let free_token_logprobs: Vec<f32> =
                    (pl.diverge..pl.free_end).map(|j| free_lp[&j]).collect();
                let logprob: f32 = token_logprobs.iter().sum();
                let free_logprob: f32 = free_token_logprobs.iter().sum();
                let scored_text = match &segs {
                    // The reading in the model's script, not the slice's.
                    Some(_) => match &edits[members[k]] {
                        Ok(Some(e)) => e.scored_text.clone(),
                        _ => pl.scored_text,
                    },
                    None => pl.scored_text,
                };
                Ok(ReadingScore {
                    text: reading.text.clone(),
                    scored_text,
                    logprob,
                    token_logprobs,
                    free_logprob,
                    free_token_logprobs,
                    margin: logprob - free_logprob,
                })
            })
            .collect())
    }
}

/// One reading laid over the free body: where it departs from it and where the
/// comparison stops on each side (body indices, end exclusive).
struct Plan {
    alt: Vec<i32>,
    diverge: usize,
    free_end: usize,
    alt_end: usize,
    scored_text: String,
}

impl Plan {
    /// `None` when the reading tokenizes exactly like the free body.
    fn new(free: &[i32], alt: Vec<i32>, scored_text: String, tail: Option<usize>) -> Option<Plan> {
        let diverge = free.iter().zip(&alt).take_while(|(a, b)| a == b).count();
        let room = free.len().min(alt.len()) - diverge;
        let common_tail = free
            .iter()
            .rev()
            .zip(alt.iter().rev())
            .take(room)
            .take_while(|(a, b)| a == b)
            .count();
        if diverge == free.len() && diverge == alt.len() {
            return None;
        }
        let keep = tail.map_or(common_tail, |k| k.min(common_tail));
        let free_end = free.len() - common_tail + keep;
        let alt_end = alt.len() - common_tail + keep;
        Some(Plan {
            // A reading that only deletes tokens still compares the token after them.
            free_end: free_end.max(diverge + 1).min(free.len()),
            alt_end: alt_end.max(diverge + 1).min(alt.len()),
            alt,
            diverge,
            scored_text,
        })
    }
}

/// Log-softmax over one row of logits, computed once and read per token.
struct LogProbs<'a> {
    logits: &'a [f32],
    log_norm: f32,
}

impl<'a> LogProbs<'a> {
    fn new(logits: &'a [f32]) -> Self {
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f64 = logits.iter().map(|&l| f64::from(l - max).exp()).sum();
        LogProbs {
            logits,
            log_norm: max + sum.ln() as f32,
        }
    }

    fn of(&self, token: i32) -> f32 {
        usize::try_from(token)
            .ok()
            .and_then(|t| self.logits.get(t))
            .map_or(f32::NEG_INFINITY, |&l| l - self.log_norm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitted_context_grows_with_audio_and_falls_back_to_full() {
        let f = AudioContext::FITTED_DEFAULT;
        assert_eq!(f.frames_for(RATE * 5), 50 * 5 + 128);
        assert_eq!(f.frames_for(RATE * 5 + 1), 50 * 6 + 128);
        assert_eq!(f.frames_for(RATE * 28), 0);
        assert_eq!(AudioContext::Full.frames_for(RATE), 0);
        assert_eq!("fitted".parse::<AudioContext>(), Ok(f));
        assert_eq!(
            "fitted+200".parse::<AudioContext>(),
            Ok(AudioContext::Fitted {
                per_second: 50,
                extra: 200
            })
        );
        assert!("half".parse::<AudioContext>().is_err());
        assert!("fitted+x".parse::<AudioContext>().is_err());
    }

    #[test]
    fn a_long_reply_is_scored_on_whole_segments_around_the_change() {
        // Six 8 s segments of 3 tokens each.
        let segs: Vec<SegmentSpan> = (0..6)
            .map(|i| SegmentSpan {
                tokens: 3 * i..3 * i + 3,
                start_cs: 800 * i as i64,
                end_cs: 800 * i as i64 + 800,
            })
            .collect();
        // A change in segment 2 takes its neighbours while the slice fits 28 s: 1..=3
        // (24 s + padding), not 4 more.
        assert_eq!(slice_for(&segs, 7..8), Some(1..4));
        // An insertion at the boundary of segments 0 and 1 touches both.
        assert_eq!(slice_for(&segs, 3..3), Some(0..3));
        // A change at the end.
        assert_eq!(slice_for(&segs, 17..18), Some(3..6));
        // A change spanning four segments (32 s) cannot be scored in one window.
        assert_eq!(slice_for(&segs, 2..12), None);
        // One segment longer than a window neither.
        let one = [SegmentSpan {
            tokens: 0..5,
            start_cs: 0,
            end_cs: 3100,
        }];
        assert_eq!(slice_for(&one, 1..2), None);
    }

    #[test]
    fn a_loop_is_a_unit_repeated_and_the_guard_forbids_closing_one() {
        // 你 嘴 嘴 嘴 嘴: one token four times.
        assert_eq!(find_loop(&[1, 2, 2, 2, 2]), Some(1..5));
        assert_eq!(find_loop(&[1, 2, 2, 2]), None, "对对对 is speech");
        // A unit of three, three times, then something else.
        assert_eq!(find_loop(&[9, 1, 2, 3, 1, 2, 3, 1, 2, 3, 7]), Some(1..10));
        assert_eq!(
            find_loop(&[1, 2, 3, 1, 2, 3, 4]),
            None,
            "好的好的 twice is speech"
        );
        assert_eq!(find_loop(&[]), None);
        // The guard: the token that would make either loop.
        assert_eq!(loop_closers(&[1, 2, 2, 2]), vec![2]);
        assert_eq!(loop_closers(&[1, 2, 2]), Vec::<i32>::new());
        assert_eq!(loop_closers(&[1, 2, 3, 1, 2, 3, 1, 2]), vec![3]);
        assert_eq!(loop_closers(&[1, 2, 3, 1, 2, 3, 1]), Vec::<i32>::new());
        assert_eq!(loop_closers(&[]), Vec::<i32>::new());
    }

    fn pass(text: &str, cut: Option<CutReason>) -> Pass {
        Pass {
            segments: if text.is_empty() {
                vec![]
            } else {
                vec![Segment {
                    start_ms: 0,
                    end_ms: 1000,
                    text: text.into(),
                    tokens: vec![],
                }]
            },
            free: vec![],
            spans: vec![],
            cut_off: cut.map(|reason| CutOff {
                reason,
                heard_until_ms: 500,
                clip_ms: 2000,
            }),
            windows: 1,
        }
    }

    #[test]
    fn after_a_runaway_the_guarded_decode_is_kept_and_marked_unless_it_failed() {
        let steps = || CutReason::StepLimit {
            steps: 36,
            limit: 35,
        };
        let time = || CutReason::TimeLimit { limit_ms: 10_000 };
        // The second decode finished: its text, marked as a runaway over the whole clip.
        let p = choose_after_runaway(
            pass("你嘴嘴嘴嘴", None),
            pass("你嘴哗", None),
            "loop".into(),
            2000,
        );
        assert_eq!(p.text(), "你嘴哗");
        let cut = p.cut_off.unwrap();
        assert_eq!(cut.heard_until_ms, 2000);
        assert_eq!(
            cut.reason,
            CutReason::Runaway {
                why: "loop".into(),
                first: "你嘴嘴嘴嘴".into()
            }
        );
        // Stopped by the step bound again: that cut stands.
        let p = choose_after_runaway(
            pass("", Some(steps())),
            pass("你,你", Some(steps())),
            "x".into(),
            2000,
        );
        assert_eq!(
            (p.text().as_str(), p.cut_off.unwrap().reason),
            ("你,你", steps())
        );
        // The clock stopped the second, or it wrote nothing: the first, marked.
        let p = choose_after_runaway(
            pass("你嘴嘴嘴嘴", None),
            pass("你", Some(time())),
            "x".into(),
            2000,
        );
        assert_eq!(p.text(), "你嘴嘴嘴嘴");
        assert!(matches!(
            p.cut_off.unwrap().reason,
            CutReason::Runaway { .. }
        ));
        let p = choose_after_runaway(
            pass("你,你", Some(steps())),
            pass("", None),
            "x".into(),
            2000,
        );
        assert_eq!(
            (p.text().as_str(), p.cut_off.unwrap().reason),
            ("你,你", steps())
        );
    }

    #[test]
    fn a_missing_model_is_a_clear_error_not_a_crash() {
        let cfg = WhisperConfig::new("/nonexistent/ggml-base.bin".into(), None);
        let err = WhisperTranscriber::new(cfg).err().unwrap();
        assert!(matches!(err, TranscribeError::ModelMissing { .. }));
        assert!(err.to_string().contains("ringcoach models fetch"));
    }

    #[test]
    fn a_file_that_is_not_a_model_fails_to_load_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ggml-base.bin");
        std::fs::write(&p, b"not a model at all").unwrap();
        let err = WhisperTranscriber::new(WhisperConfig::new(p, None))
            .err()
            .unwrap();
        assert!(matches!(err, TranscribeError::ModelLoad { .. }), "{err}");
    }

    #[test]
    fn defaults_never_carry_a_prompt_and_choose_threads_per_clip() {
        let cfg = WhisperConfig::new("m.bin".into(), None);
        assert_eq!(cfg.initial_prompt, None);
        assert_eq!(cfg.threads, Threads::Auto);
    }
}
