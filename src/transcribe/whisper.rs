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

use std::ffi::c_void;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
    WhisperVadContext, WhisperVadContextParams, WhisperVadParams,
};

use super::gate::{self, GateConfig};
use super::text::{self, RawToken};
use super::{Segment, TranscribeError, Transcriber, Transcript};
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
    /// CPU threads for Whisper and the VAD; defaults to the cores that exist (the VAD's own
    /// default of 4 takes minutes per clip on 2 cores).
    pub threads: usize,
    /// Threads for the Silero VAD. One: its graphs are so small (one LSTM step per 32 ms)
    /// that ggml's spinning thread barriers cost more than a second thread gains, and on a
    /// busy 2-core machine they turn 30 ms into 30 s.
    pub vad_threads: usize,
    pub audio_ctx: AudioContext,
    /// Decoder steps allowed per second of speech, plus `step_slack`: Mandarin runs at 4–7
    /// syllables a second and a character is 1–3 tokens, so 15/s only stops real loops.
    pub max_steps_per_second: f32,
    pub step_slack: u32,
    /// Wall-clock limit per clip: `time_base + time_per_speech_second × seconds`.
    pub time_base: Duration,
    pub time_per_speech_second: Duration,
    pub vad_threshold: f32,
    pub gate: GateConfig,
    pub voicing: VoicingConfig,
    /// Never etiquette phrases: Whisper repeats the prompt on silence and noise.
    pub initial_prompt: Option<String>,
}

impl WhisperConfig {
    pub fn new(model: PathBuf, vad_model: Option<PathBuf>) -> Self {
        Self {
            model,
            vad_model,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
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
        }
    }
}

/// What happened inside the last call, for the CLI, the bench and diagnostics.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct RunInfo {
    /// Speech stretches Whisper heard, in ms of the original clip (padded).
    pub heard_ms: Vec<(u64, u64)>,
    pub speech_ms: u64,
    pub vad_ms: u64,
    pub decode_ms: u64,
    pub decoder_steps: u32,
    pub audio_ctx: i32,
}

pub struct WhisperTranscriber {
    ctx: WhisperContext,
    state: WhisperState,
    vad: Option<WhisperVadContext>,
    cfg: WhisperConfig,
    last: Option<RunInfo>,
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
        })
    }

    pub fn config(&self) -> &WhisperConfig {
        &self.cfg
    }

    pub fn set_audio_ctx(&mut self, audio_ctx: AudioContext) {
        self.cfg.audio_ctx = audio_ctx;
    }

    /// Details of the last [`Transcriber::transcribe`] call.
    pub fn last_run(&self) -> Option<&RunInfo> {
        self.last.as_ref()
    }

    /// Speech stretches according to the VAD, in samples; without a VAD model, the
    /// energy detector's stretches stand in.
    fn vad_regions(&mut self, samples: &[f32]) -> Result<Vec<Range<usize>>, TranscribeError> {
        let Some(vad) = self.vad.as_mut() else {
            return Ok(facts::voiced_regions(samples, &self.cfg.voicing));
        };
        let mut p = WhisperVadParams::new();
        p.set_threshold(self.cfg.vad_threshold);
        p.set_min_speech_duration(250);
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

/// Shared with whisper.cpp's callbacks during one decode; lives on the stack of
/// [`Transcriber::transcribe`] for exactly as long as `full()` runs.
struct Budget {
    steps: AtomicU32,
    max_steps: u32,
    deadline: Instant,
    over_steps: AtomicBool,
    over_time: AtomicBool,
}

/// Called once per decoder step with the logits: counts the step.
unsafe extern "C" fn count_step(
    _ctx: *mut whisper_rs::WhisperSysContext,
    _state: *mut whisper_rs::WhisperSysState,
    _tokens: *const whisper_rs::WhisperTokenData,
    _n_tokens: std::os::raw::c_int,
    _logits: *mut f32,
    user_data: *mut c_void,
) {
    // SAFETY: user_data is the &Budget set in `transcribe`, alive for the whole decode.
    let budget = unsafe { &*(user_data as *const Budget) };
    budget.steps.fetch_add(1, Ordering::Relaxed);
}

/// Polled by ggml while computing graphs: true stops the decode.
unsafe extern "C" fn should_abort(user_data: *mut c_void) -> bool {
    // SAFETY: as for `count_step`.
    let budget = unsafe { &*(user_data as *const Budget) };
    if budget.steps.load(Ordering::Relaxed) > budget.max_steps {
        budget.over_steps.store(true, Ordering::Relaxed);
        return true;
    }
    if Instant::now() > budget.deadline {
        budget.over_time.store(true, Ordering::Relaxed);
        return true;
    }
    false
}

impl Transcriber for WhisperTranscriber {
    fn transcribe(&mut self, samples: &[f32]) -> Result<Transcript, TranscribeError> {
        let mut info = RunInfo::default();
        self.last = None;
        if samples.is_empty() {
            self.last = Some(info);
            return Ok(Transcript::default());
        }

        let t_vad = Instant::now();
        let vad = self.vad_regions(samples)?;
        let energy = facts::voiced_regions(samples, &self.cfg.voicing);
        info.vad_ms = t_vad.elapsed().as_millis() as u64;
        let Some(plan) = gate::plan(samples, &vad, &energy, &self.cfg.gate) else {
            self.last = Some(info);
            return Ok(Transcript::default());
        };
        info.speech_ms = plan.speech_ms;
        info.heard_ms = plan
            .kept
            .iter()
            .map(|r| ((r.start * 1000 / RATE) as u64, (r.end * 1000 / RATE) as u64))
            .collect();

        let speech_s = plan.speech_ms as f32 / 1000.0;
        let budget = Budget {
            steps: AtomicU32::new(0),
            max_steps: (self.cfg.max_steps_per_second * speech_s).ceil() as u32
                + self.cfg.step_slack,
            deadline: Instant::now()
                + self.cfg.time_base
                + self.cfg.time_per_speech_second.mul_f32(speech_s),
            over_steps: AtomicBool::new(false),
            over_time: AtomicBool::new(false),
        };
        let limit_ms = (budget.deadline - Instant::now()).as_millis() as u64;

        let audio_ctx = self.cfg.audio_ctx.frames_for(plan.audio.len());
        info.audio_ctx = audio_ctx;
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_n_threads(self.cfg.threads as i32);
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
        params.set_audio_ctx(audio_ctx);
        if let Some(prompt) = &self.cfg.initial_prompt {
            params.set_initial_prompt(prompt);
        }
        let budget_ptr = &budget as *const Budget as *mut c_void;
        // SAFETY: both callbacks only read `budget` through this pointer, and `budget`
        // outlives `full()`, the only place whisper.cpp calls them.
        unsafe {
            params.set_filter_logits_callback(Some(count_step));
            params.set_filter_logits_callback_user_data(budget_ptr);
            params.set_abort_callback(Some(should_abort));
            params.set_abort_callback_user_data(budget_ptr);
        }

        let t_dec = Instant::now();
        let result = self.state.full(params, &plan.audio);
        info.decode_ms = t_dec.elapsed().as_millis() as u64;
        info.decoder_steps = budget.steps.load(Ordering::Relaxed);
        self.last = Some(info.clone());
        if budget.over_steps.load(Ordering::Relaxed) {
            return Err(TranscribeError::RunawayDecode {
                steps: info.decoder_steps,
                limit: budget.max_steps,
                speech_ms: plan.speech_ms,
            });
        }
        if budget.over_time.load(Ordering::Relaxed) {
            return Err(TranscribeError::TimedOut { limit_ms });
        }
        result.map_err(|e| TranscribeError::Engine {
            detail: e.to_string(),
        })?;

        let eot = self.ctx.token_eot();
        let mut segments = Vec::new();
        for seg in self.state.as_iter() {
            let (s0, s1) = (seg.start_timestamp(), seg.end_timestamp());
            let mut raw = Vec::new();
            for i in 0..seg.n_tokens() {
                let Some(tok) = seg.get_token(i) else {
                    continue;
                };
                // Special tokens (timestamps, language, task, end) are ids from EOT up.
                if tok.token_id() >= eot {
                    continue;
                }
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
            let tokens = text::merge_tokens(&raw);
            let seg_text: String = tokens.iter().map(|t| t.text.as_str()).collect();
            let seg_text = seg_text.trim().to_string();
            if seg_text.is_empty() || text::is_known_hallucination(&seg_text) {
                if !seg_text.is_empty() {
                    log::debug!("dropped a known Whisper hallucination: {seg_text}");
                }
                continue;
            }
            segments.push(Segment {
                start_ms: plan.map.to_original_ms(s0),
                end_ms: plan.map.to_original_ms(s1),
                text: seg_text,
                tokens,
            });
        }
        let text = text::join_segments(segments.iter().map(|s| s.text.as_str()));
        Ok(Transcript { text, segments })
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
    fn defaults_never_carry_a_prompt_and_use_every_core() {
        let cfg = WhisperConfig::new("m.bin".into(), None);
        assert_eq!(cfg.initial_prompt, None);
        assert!(cfg.threads >= 1);
    }
}
