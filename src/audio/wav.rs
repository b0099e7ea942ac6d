//! WAV files in and out: the one reader. Reading accepts whatever a user has (8/16/24/32-bit
//! integer or 32-bit float, any channel count, any sample rate) and yields mono f32 at the
//! source rate; [`read_wav_16k`] then takes it to 16 kHz with [`crate::audio::resample`].
//! `grade`, `transcribe` and the file-as-microphone all read through it, so a file reaches
//! Whisper as the same samples whichever command it was given to. Writing produces the one
//! format the rest of the product stores: 16 kHz, mono, 16-bit PCM, written atomically.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::audio::resample;

/// Longest input accepted unless the caller says otherwise: a phone reply is seconds long,
/// and ten minutes of audio is already ~38 MB of f32 at 16 kHz.
pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(10 * 60);

/// Mono samples in -1.0..=1.0 at the file's own sample rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Pcm {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
    /// How the file stored them, for messages and reports.
    pub format: WavFormat,
}

impl Pcm {
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.samples.len() as f64 / f64::from(self.sample_rate))
    }

    /// The same audio at 16 kHz mono, as Whisper and the signal measurements want it.
    pub fn to_16k(&self) -> Result<Vec<f32>, resample::ResampleError> {
        resample::to_16k_mono(&self.samples, self.sample_rate)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavFormat {
    pub channels: u16,
    pub bits_per_sample: u16,
    pub float: bool,
    pub sample_rate: u32,
}

impl std::fmt::Display for WavFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.float { "float" } else { "int" };
        write!(
            f,
            "{} Hz, {} ch, {}-bit {kind}",
            self.sample_rate, self.channels, self.bits_per_sample
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WavError {
    // The cause is named `err`, not `source`: the CLI prints an error's whole chain, and a
    // `source` would put the OS's words on the line twice.
    #[error(
        "cannot open {path}: {}; check the path and that the file is readable",
        crate::input::describe_io(err)
    )]
    Open { path: PathBuf, err: std::io::Error },
    #[error("{path} is {kind}, not a WAV file: give the path of a saved recording")]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error("{path} is empty (no audio samples): record again or pick another file")]
    Empty { path: PathBuf },
    #[error(
        "{path} is not a WAV file ({detail}); convert it, e.g. `ffmpeg -i IN -ar 16000 -ac 1 OUT.wav`"
    )]
    NotWav { path: PathBuf, detail: String },
    #[error(
        "{path} uses an unsupported sample format ({detail}); convert it to 16-bit PCM, e.g. `ffmpeg -i IN -ar 16000 -ac 1 OUT.wav`"
    )]
    Unsupported { path: PathBuf, detail: String },
    #[error(
        "{path} is truncated: the header promises {expected} samples but only {got} are there; the recording was cut off, record again"
    )]
    Truncated {
        path: PathBuf,
        expected: u64,
        got: u64,
    },
    #[error("{path} is {}, over the {} limit: trim it, or raise the limit", duration_words(*seconds, *limit_seconds).0, duration_words(*seconds, *limit_seconds).1)]
    TooLong {
        path: PathBuf,
        seconds: f64,
        limit_seconds: f64,
    },
    #[error("{path} is damaged: {detail}; export or record it again")]
    Damaged { path: PathBuf, detail: String },
    #[error("cannot write {path}: {detail}; check the folder exists and has free space")]
    Write { path: PathBuf, detail: String },
}

/// A length and a limit in words precise enough to differ: "10 min 0.5 s" against "10 min",
/// never "10.0 min long, over the 10.0 min limit".
pub fn duration_words(seconds: f64, limit_seconds: f64) -> (String, String) {
    fn words(s: f64, decimals: usize) -> String {
        let whole_min = (s / 60.0).floor();
        let rest = s - whole_min * 60.0;
        let rest = format!("{rest:.decimals$}");
        let zero = rest.trim_start_matches(['0', '.']).is_empty();
        match (whole_min as u64, zero) {
            (0, _) => format!("{rest} s"),
            (m, true) => format!("{m} min"),
            (m, false) => format!("{m} min {rest} s"),
        }
    }
    for decimals in 0..=3 {
        let (a, b) = (words(seconds, decimals), words(limit_seconds, decimals));
        if a != b {
            return (a, b);
        }
    }
    (format!("{seconds} s"), format!("{limit_seconds} s"))
}

/// Sample rates a recording can have (telephone 8 kHz is common; 1 kHz and 768 kHz are
/// the extremes any recorder writes). Outside them the file is not a recording.
pub const SAMPLE_RATES: std::ops::RangeInclusive<u32> = 1_000..=768_000;

/// Float samples this far past full scale are not audio: a damaged or foreign file.
/// Up to it, a float file's overs (editors allow some headroom) are clipped to full scale.
pub const FLOAT_DAMAGE_LIMIT: f32 = 2.0;

/// Reads a WAV file of any common format into mono f32 at its own rate, refusing files
/// longer than [`DEFAULT_MAX_DURATION`].
pub fn read_wav(path: &Path) -> Result<Pcm, WavError> {
    read_wav_limited(path, DEFAULT_MAX_DURATION)
}

/// [`read_wav`] with a caller-chosen length limit. The limit is checked against the header
/// before any sample is decoded, so an hour-long file costs nothing to refuse. Only a
/// regular file is read: a FIFO or a device is refused without blocking.
pub fn read_wav_limited(path: &Path, max_duration: Duration) -> Result<Pcm, WavError> {
    let (file, file_len) = crate::input::open_regular(path).map_err(|e| match e {
        crate::input::InputError::NotRegular { path, kind } => WavError::NotAFile { path, kind },
        crate::input::InputError::Open { path, err }
        | crate::input::InputError::Read { path, err } => WavError::Open { path, err },
        crate::input::InputError::TooBig { path, .. } => WavError::Empty { path },
    })?;
    read_wav_from(BufReader::new(file), file_len, path, max_duration)
}

/// Decodes WAV bytes from any reader (a file, or memory: the fuzz target). `file_len` is
/// the number of bytes the reader holds (0 means empty); `path` only names it in errors.
pub fn read_wav_from<R: std::io::Read>(
    reader: R,
    file_len: u64,
    path: &Path,
    max_duration: Duration,
) -> Result<Pcm, WavError> {
    if file_len == 0 {
        return Err(WavError::Empty {
            path: path.to_owned(),
        });
    }
    let reader = hound::WavReader::new(reader).map_err(|e| classify_header_error(path, e))?;
    let spec = reader.spec();
    let format = WavFormat {
        channels: spec.channels,
        bits_per_sample: spec.bits_per_sample,
        float: spec.sample_format == hound::SampleFormat::Float,
        sample_rate: spec.sample_rate,
    };
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err(WavError::NotWav {
            path: path.to_owned(),
            detail: format!("header says {format}"),
        });
    }
    if !SAMPLE_RATES.contains(&spec.sample_rate) {
        return Err(WavError::Unsupported {
            path: path.to_owned(),
            detail: format!(
                "a sample rate of {} Hz; recordings are {}–{} Hz",
                spec.sample_rate,
                SAMPLE_RATES.start(),
                SAMPLE_RATES.end()
            ),
        });
    }
    let frames = u64::from(reader.duration());
    if frames == 0 {
        return Err(WavError::Empty {
            path: path.to_owned(),
        });
    }
    let seconds = frames as f64 / f64::from(spec.sample_rate);
    if seconds > max_duration.as_secs_f64() {
        return Err(WavError::TooLong {
            path: path.to_owned(),
            seconds,
            limit_seconds: max_duration.as_secs_f64(),
        });
    }
    // The header's sample count is a promise, not a fact: never reserve more than the
    // bytes there are could hold.
    let expected = u64::from(reader.len());
    let bytes_per_sample = u64::from(spec.bits_per_sample.div_ceil(8).max(1));
    let room = expected.min(file_len / bytes_per_sample + 1);
    let interleaved = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => {
            let mut v = collect(path, expected, room, reader.into_samples::<f32>())?;
            clean_floats(path, &mut v)?;
            v
        }
        (hound::SampleFormat::Int, bits @ (8 | 16 | 24 | 32)) => {
            // Full scale of a signed `bits`-bit integer; hound already recentres 8-bit
            // unsigned data around zero.
            let scale = 1.0 / (1u64 << (bits - 1)) as f64;
            let ints = collect(path, expected, room, reader.into_samples::<i32>())?;
            ints.into_iter()
                .map(|s| (s as f64 * scale) as f32)
                .collect()
        }
        _ => {
            return Err(WavError::Unsupported {
                path: path.to_owned(),
                detail: format.to_string(),
            })
        }
    };
    let samples = downmix(&interleaved, usize::from(spec.channels));
    Ok(Pcm {
        samples,
        sample_rate: spec.sample_rate,
        format,
    })
}

/// Float samples must be numbers near full scale. NaN, infinities and values far beyond
/// full scale mean a damaged file (a level of +586 dBFS or "no speech" at -100 dBFS would
/// be a wrong result, not a measurement); small overs are clipped to full scale.
fn clean_floats(path: &Path, samples: &mut [f32]) -> Result<(), WavError> {
    let mut not_numbers = 0u64;
    let mut far = 0u64;
    let mut worst = 0.0f32;
    for s in samples.iter_mut() {
        if !s.is_finite() {
            not_numbers += 1;
        } else if s.abs() > FLOAT_DAMAGE_LIMIT {
            far += 1;
            worst = worst.max(s.abs());
        } else {
            *s = s.clamp(-1.0, 1.0);
        }
    }
    let total = samples.len();
    if not_numbers > 0 {
        return Err(WavError::Damaged {
            path: path.to_owned(),
            detail: format!(
                "{not_numbers} of its {total} samples are not numbers (NaN or infinite)"
            ),
        });
    }
    if far > 0 {
        return Err(WavError::Damaged {
            path: path.to_owned(),
            detail: format!(
                "{far} of its {total} samples lie far beyond full scale (up to {worst:e}; audio stays within ±1)"
            ),
        });
    }
    Ok(())
}

/// Reads a WAV file and returns it as 16 kHz mono, the form every consumer wants.
pub fn read_wav_16k(path: &Path, max_duration: Duration) -> Result<Vec<f32>, WavError> {
    read_wav_16k_with_format(path, max_duration).map(|(samples, _)| samples)
}

/// [`read_wav_16k`], and how the file stored its samples (for reports).
pub fn read_wav_16k_with_format(
    path: &Path,
    max_duration: Duration,
) -> Result<(Vec<f32>, WavFormat), WavError> {
    let pcm = read_wav_limited(path, max_duration)?;
    let samples = pcm.to_16k().map_err(|e| WavError::Unsupported {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    Ok((samples, pcm.format))
}

fn collect<S, R>(
    path: &Path,
    expected: u64,
    room: u64,
    samples: hound::WavIntoSamples<R, S>,
) -> Result<Vec<S>, WavError>
where
    S: hound::Sample,
    R: std::io::Read,
{
    let mut out = Vec::with_capacity(room as usize);
    for s in samples {
        match s {
            Ok(v) => out.push(v),
            // hound reports a short read as an EOF error or as ErrorKind::Other with
            // "Failed to read enough bytes."; both mean the data stops before the header said.
            Err(hound::Error::IoError(e))
                if e.kind() == std::io::ErrorKind::UnexpectedEof
                    || e.to_string().contains("enough bytes") =>
            {
                return Err(WavError::Truncated {
                    path: path.to_owned(),
                    expected,
                    got: out.len() as u64,
                })
            }
            Err(e) => {
                return Err(WavError::NotWav {
                    path: path.to_owned(),
                    detail: e.to_string(),
                })
            }
        }
    }
    Ok(out)
}

fn classify_header_error(path: &Path, e: hound::Error) -> WavError {
    match e {
        hound::Error::Unsupported => WavError::Unsupported {
            path: path.to_owned(),
            detail: "hound cannot decode this WAV encoding (compressed or exotic)".into(),
        },
        hound::Error::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            WavError::NotWav {
                path: path.to_owned(),
                detail: "the header is cut short".into(),
            }
        }
        other => WavError::NotWav {
            path: path.to_owned(),
            detail: other.to_string(),
        },
    }
}

/// Averages interleaved channels into one. Averaging (not picking the left channel) keeps
/// a voice recorded on either side of a stereo headset.
pub fn downmix(interleaved: &[f32], channels: usize) -> Vec<f32> {
    if channels <= 1 {
        return interleaved.to_vec();
    }
    let inv = 1.0 / channels as f32;
    interleaved
        .chunks_exact(channels)
        .map(|frame| frame.iter().sum::<f32>() * inv)
        .collect()
}

/// Writes 16 kHz mono 16-bit PCM. The file appears complete or not at all: it is written
/// beside the target, synced, then renamed over it.
pub fn write_wav_16k(path: &Path, samples_16k: &[f32]) -> Result<(), WavError> {
    write_wav_mono_i16(path, samples_16k, resample::TARGET_RATE)
}

/// Writes mono 16-bit PCM at any rate, atomically (tests use it to make odd-rate inputs).
pub fn write_wav_mono_i16(path: &Path, samples: &[f32], sample_rate: u32) -> Result<(), WavError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let write_err = |detail: String| WavError::Write {
        path: path.to_owned(),
        detail,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| write_err("the path has no file name".into()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> Result<(), String> {
        let file = File::create(&tmp).map_err(|e| e.to_string())?;
        let mut writer =
            hound::WavWriter::new(BufWriter::new(file), spec).map_err(|e| e.to_string())?;
        for &s in samples {
            let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
            writer.write_sample(v).map_err(|e| e.to_string())?;
        }
        writer.finalize().map_err(|e| e.to_string())?;
        // hound hands back no file handle; fsync through a fresh one (same inode).
        File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, path).map_err(|e| e.to_string())?;
        Ok(())
    })();
    if let Err(detail) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(write_err(detail));
    }
    // The rename is durable only once the directory entry is synced.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_spec(path: &Path, spec: hound::WavSpec, frames: &[Vec<f64>]) {
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for frame in frames {
            for &v in frame {
                match (spec.sample_format, spec.bits_per_sample) {
                    (hound::SampleFormat::Float, _) => w.write_sample(v as f32).unwrap(),
                    (_, 8) => w.write_sample((v * 127.0).round() as i8).unwrap(),
                    (_, 16) => w.write_sample((v * 32767.0).round() as i16).unwrap(),
                    (_, 24) => w.write_sample((v * 8_388_607.0).round() as i32).unwrap(),
                    (_, 32) => w
                        .write_sample((v * 2_147_483_647.0).round() as i32)
                        .unwrap(),
                    _ => unreachable!(),
                }
            }
        }
        w.finalize().unwrap();
    }

    fn spec(channels: u16, bits: u16, float: bool, rate: u32) -> hound::WavSpec {
        hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: bits,
            sample_format: if float {
                hound::SampleFormat::Float
            } else {
                hound::SampleFormat::Int
            },
        }
    }

    #[test]
    fn every_integer_and_float_format_decodes_to_the_same_values() {
        let dir = tempfile::tempdir().unwrap();
        let values = [0.0, 0.5, -0.5, 0.25, -0.9];
        let frames: Vec<Vec<f64>> = values.iter().map(|&v| vec![v]).collect();
        for (bits, float) in [
            (8, false),
            (16, false),
            (24, false),
            (32, false),
            (32, true),
        ] {
            let p = dir.path().join(format!("f{bits}{float}.wav"));
            write_spec(&p, spec(1, bits, float, 8000), &frames);
            let pcm = read_wav(&p).unwrap();
            assert_eq!(pcm.sample_rate, 8000);
            assert_eq!(pcm.format.bits_per_sample, bits);
            let tol = if bits == 8 { 0.01 } else { 1e-4 };
            for (got, want) in pcm.samples.iter().zip(values) {
                assert!(
                    (f64::from(*got) - want).abs() < tol,
                    "{bits}-bit float={float}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn stereo_and_more_channels_are_averaged() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("st.wav");
        write_spec(
            &p,
            spec(2, 16, false, 44_100),
            &[vec![0.5, 0.0], vec![-0.5, -0.5]],
        );
        let pcm = read_wav(&p).unwrap();
        assert_eq!(pcm.samples.len(), 2);
        assert!((pcm.samples[0] - 0.25).abs() < 1e-3);
        assert!((pcm.samples[1] + 0.5).abs() < 1e-3);

        let p = dir.path().join("six.wav");
        write_spec(
            &p,
            spec(6, 24, false, 48_000),
            &[vec![0.6, 0.0, 0.0, 0.0, 0.0, 0.0]],
        );
        let pcm = read_wav(&p).unwrap();
        assert!((pcm.samples[0] - 0.1).abs() < 1e-4);
    }

    #[test]
    fn empty_files_and_files_without_samples_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("zero.wav");
        std::fs::write(&p, b"").unwrap();
        assert!(matches!(read_wav(&p), Err(WavError::Empty { .. })));

        let p = dir.path().join("nosamples.wav");
        write_spec(&p, spec(1, 16, false, 16_000), &[]);
        let err = read_wav(&p).unwrap_err();
        assert!(matches!(err, WavError::Empty { .. }), "{err}");
    }

    #[test]
    fn text_is_not_a_wav_and_missing_file_cannot_open() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("notes.wav");
        std::fs::write(&p, "您好,这不是录音").unwrap();
        let err = read_wav(&p).unwrap_err();
        assert!(matches!(err, WavError::NotWav { .. }), "{err}");
        assert!(err.to_string().contains("ffmpeg"), "{err}");

        let err = read_wav(&dir.path().join("absent.wav")).unwrap_err();
        assert!(matches!(err, WavError::Open { .. }), "{err}");
    }

    #[test]
    fn a_cut_off_file_is_truncated_not_silently_short() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cut.wav");
        let frames: Vec<Vec<f64>> = (0..1000).map(|i| vec![(i as f64 / 1000.0) - 0.5]).collect();
        write_spec(&p, spec(1, 16, false, 16_000), &frames);
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 501]).unwrap();
        let err = read_wav(&p).unwrap_err();
        match err {
            WavError::Truncated { expected, got, .. } => {
                assert_eq!(expected, 1000);
                assert!(got < 1000);
            }
            other => panic!("expected Truncated, got {other}"),
        }
    }

    #[test]
    fn over_long_input_is_refused_from_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("long.wav");
        let frames: Vec<Vec<f64>> = vec![vec![0.0]; 16_000 * 3];
        write_spec(&p, spec(1, 16, false, 16_000), &frames);
        let err = read_wav_limited(&p, Duration::from_secs(2)).unwrap_err();
        assert!(matches!(err, WavError::TooLong { .. }), "{err}");
        assert!(read_wav_limited(&p, Duration::from_secs(4)).is_ok());
    }

    #[test]
    fn unsupported_float_width_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f64.wav");
        // A 64-bit float WAV header written by hand: hound cannot decode it.
        let mut bytes = Vec::new();
        let data_len: u32 = 16;
        bytes.extend_from_slice(b"RIFF");
        bytes.extend_from_slice(&(36 + data_len).to_le_bytes());
        bytes.extend_from_slice(b"WAVEfmt ");
        bytes.extend_from_slice(&16u32.to_le_bytes());
        bytes.extend_from_slice(&3u16.to_le_bytes()); // IEEE float
        bytes.extend_from_slice(&1u16.to_le_bytes());
        bytes.extend_from_slice(&16_000u32.to_le_bytes());
        bytes.extend_from_slice(&(16_000u32 * 8).to_le_bytes());
        bytes.extend_from_slice(&8u16.to_le_bytes());
        bytes.extend_from_slice(&64u16.to_le_bytes());
        bytes.extend_from_slice(b"data");
        bytes.extend_from_slice(&data_len.to_le_bytes());
        bytes.extend_from_slice(&[0u8; 16]);
        std::fs::write(&p, bytes).unwrap();
        let err = read_wav(&p).unwrap_err();
        assert!(
            matches!(err, WavError::Unsupported { .. } | WavError::NotWav { .. }),
            "{err}"
        );
    }

    #[test]
    fn write_then_read_round_trips_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.wav");
        let samples: Vec<f32> = (0..1600).map(|i| ((i as f32) * 0.05).sin() * 0.5).collect();
        write_wav_16k(&p, &samples).unwrap();
        let pcm = read_wav(&p).unwrap();
        assert_eq!(pcm.sample_rate, 16_000);
        assert_eq!(pcm.samples.len(), samples.len());
        for (a, b) in pcm.samples.iter().zip(&samples) {
            assert!((a - b).abs() < 1e-4);
        }
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.wav")]);
    }

    #[test]
    fn nan_and_absurd_float_samples_are_a_damaged_file() {
        let dir = tempfile::tempdir().unwrap();
        let tone: Vec<f64> = (0..16_000).map(|i| (i as f64 * 0.05).sin() * 0.5).collect();
        // 1 % NaN: before, "no speech heard" at -100 dBFS.
        let p = dir.path().join("nan.wav");
        let frames: Vec<Vec<f64>> = tone
            .iter()
            .enumerate()
            .map(|(i, &v)| vec![if i % 100 == 0 { f64::NAN } else { v }])
            .collect();
        write_spec(&p, spec(1, 32, true, 16_000), &frames);
        let err = read_wav(&p).unwrap_err();
        assert!(matches!(err, WavError::Damaged { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("160 of its 16000 samples are not numbers"),
            "{err}"
        );
        // ×1e30: before, a level of +586 dBFS.
        let p = dir.path().join("huge.wav");
        let frames: Vec<Vec<f64>> = tone.iter().map(|&v| vec![v * 1e30]).collect();
        write_spec(&p, spec(1, 32, true, 16_000), &frames);
        let err = read_wav(&p).unwrap_err().to_string();
        assert!(
            err.contains("is damaged") && err.contains("far beyond full scale"),
            "{err}"
        );
        // A little headroom is clipped to full scale, not refused.
        let p = dir.path().join("over.wav");
        write_spec(&p, spec(1, 32, true, 16_000), &[vec![1.5], vec![-0.5]]);
        assert_eq!(read_wav(&p).unwrap().samples, vec![1.0, -0.5]);
    }

    #[test]
    fn special_files_are_refused_without_blocking() {
        let err = read_wav(Path::new("/dev/zero")).unwrap_err();
        assert!(matches!(err, WavError::NotAFile { .. }), "{err}");
        assert!(err.to_string().contains("character device"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("p.wav");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = read_wav(&fifo).unwrap_err().to_string();
        assert!(err.contains("named pipe"), "{err}");
    }

    #[test]
    fn an_os_error_is_said_once_and_lengths_differ_in_words() {
        let err = read_wav(Path::new("/nonexistent/a.wav")).unwrap_err();
        let line = err.to_string();
        assert_eq!(line.matches("No such file").count(), 1, "{line}");
        assert!(!line.contains("os error"), "{line}");
        assert!(std::error::Error::source(&err).is_none());
        assert_eq!(
            duration_words(600.5, 600.0),
            ("10 min 0.5 s".into(), "10 min".into())
        );
        let (a, b) = duration_words(600.04, 600.0);
        assert_ne!(a, b);
        assert_eq!(
            duration_words(750.0, 600.0),
            ("12 min 30 s".into(), "10 min".into())
        );
        assert_eq!(duration_words(3.0, 2.0), ("3 s".into(), "2 s".into()));
    }

    #[test]
    fn absurd_sample_rates_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for rate in [1, 999, 4_000_000] {
            let p = dir.path().join(format!("r{rate}.wav"));
            write_spec(&p, spec(1, 16, false, rate), &vec![vec![0.1]; 4]);
            let err = read_wav(&p).unwrap_err();
            assert!(matches!(err, WavError::Unsupported { .. }), "{rate}: {err}");
        }
    }

    #[test]
    fn writing_into_a_missing_folder_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("no/such/dir/out.wav");
        let err = write_wav_16k(&p, &[0.0; 10]).unwrap_err();
        assert!(matches!(err, WavError::Write { .. }), "{err}");
    }
}
