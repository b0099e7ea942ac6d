//! A WAV file, heard end to end: read (any format) → 16 kHz mono → signal facts →
//! transcript → the answers to the readings the caller asks about it (see [`super::verify`]).
//! What `ringcoach transcribe` and `ringcoach grade FILE.wav` share.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::verify::{self, Asked, Reading};
use super::{TranscribeError, Transcriber, Transcript};
use crate::audio::facts::{self, AudioFacts};
use crate::audio::wav::{self, WavError, WavFormat};

/// Everything heard in one file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Heard {
    pub transcript: Transcript,
    /// True when nothing was heard: the grader must say "no speech heard", not score.
    pub no_speech: bool,
    pub facts: AudioFacts,
    /// Characters spoken per minute of voiced time (Han characters, letters, digits).
    pub chars_per_minute: Option<f32>,
    #[serde(serialize_with = "format_string")]
    pub format: WavFormat,
    /// The readings asked about the transcript and the model's answers.
    #[serde(skip)]
    pub readings: Vec<Asked>,
}

fn format_string<S: serde::Serializer>(f: &WavFormat, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&f.to_string())
}

#[derive(Debug, thiserror::Error)]
pub enum HearError {
    #[error(transparent)]
    Wav(#[from] WavError),
    #[error(transparent)]
    Transcribe(#[from] TranscribeError),
}

/// Characters that count towards speech rate: not punctuation, not spaces.
pub fn spoken_chars(text: &str) -> usize {
    text.chars().filter(|c| c.is_alphanumeric()).count()
}

/// Reads, measures and transcribes one WAV file.
pub fn hear_file<T: Transcriber + ?Sized>(
    transcriber: &mut T,
    path: &Path,
    max_duration: Duration,
) -> Result<Heard, HearError> {
    hear_file_asking(transcriber, path, max_duration, &|_| Vec::new())
}

/// Reads, measures and transcribes one WAV file, and has the transcriber score the
/// readings `ask` wants of the transcript while it still holds the audio.
pub fn hear_file_asking<T: Transcriber + ?Sized>(
    transcriber: &mut T,
    path: &Path,
    max_duration: Duration,
    ask: &dyn Fn(&Transcript) -> Vec<Reading>,
) -> Result<Heard, HearError> {
    let (samples, format) = wav::read_wav_16k_with_format(path, max_duration)?;
    Ok(hear_samples_asking(transcriber, &samples, format, ask)?)
}

/// Measures and transcribes 16 kHz mono samples (from a file or the microphone).
pub fn hear_samples<T: Transcriber + ?Sized>(
    transcriber: &mut T,
    samples_16k: &[f32],
    format: WavFormat,
) -> Result<Heard, TranscribeError> {
    hear_samples_asking(transcriber, samples_16k, format, &|_| Vec::new())
}

/// [`hear_samples`], then the readings `ask` wants of the transcript, scored at once.
pub fn hear_samples_asking<T: Transcriber + ?Sized>(
    transcriber: &mut T,
    samples_16k: &[f32],
    format: WavFormat,
    ask: &dyn Fn(&Transcript) -> Vec<Reading>,
) -> Result<Heard, TranscribeError> {
    let facts = facts::measure(samples_16k);
    let transcript = transcriber.transcribe(samples_16k)?;
    let readings = if transcript.heard_nothing() {
        Vec::new()
    } else {
        verify::ask(transcriber, ask(&transcript))
    };
    let no_speech = transcript.heard_nothing();
    let chars_per_minute = if no_speech {
        None
    } else {
        facts.chars_per_minute(spoken_chars(&transcript.text))
    };
    Ok(Heard {
        transcript,
        no_speech,
        facts,
        chars_per_minute,
        format,
        readings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(&'static str);
    impl Transcriber for Fixed {
        fn transcribe(&mut self, _: &[f32]) -> Result<Transcript, TranscribeError> {
            Ok(Transcript {
                text: self.0.into(),
                segments: vec![],
                cut_off: None,
            })
        }
    }

    #[test]
    fn punctuation_does_not_count_as_speech() {
        assert_eq!(spoken_chars("您好,广利物业。OK 2"), 9);
    }

    #[test]
    fn a_file_is_read_resampled_measured_and_heard() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.wav");
        // 1 s of silence then 2 s of a buzz, written at 8 kHz to exercise resampling.
        let mut s = vec![0.0f32; 8000];
        s.extend((0..16_000).map(|i| (i as f32 * 0.2).sin() * 0.3));
        wav::write_wav_mono_i16(&p, &s, 8000).unwrap();
        let heard = hear_file(&mut Fixed("您好您好"), &p, Duration::from_secs(60)).unwrap();
        assert!(!heard.no_speech);
        assert_eq!(heard.facts.duration_ms, 3000);
        let first = heard.facts.first_words_ms.unwrap();
        assert!((980..=1040).contains(&first), "{first}");
        let rate = heard.chars_per_minute.unwrap();
        assert!((110.0..=130.0).contains(&rate), "{rate}");
        assert_eq!(heard.format.sample_rate, 8000);
    }

    #[test]
    fn nothing_heard_has_no_rate_and_bad_files_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.wav");
        wav::write_wav_16k(&p, &[0.0; 16_000]).unwrap();
        let heard = hear_file(&mut Fixed(""), &p, Duration::from_secs(60)).unwrap();
        assert!(heard.no_speech);
        assert_eq!(heard.chars_per_minute, None);

        std::fs::write(&p, "text").unwrap();
        let err = hear_file(&mut Fixed(""), &p, Duration::from_secs(60)).unwrap_err();
        assert!(matches!(err, HearError::Wav(WavError::NotWav { .. })));
    }
}
