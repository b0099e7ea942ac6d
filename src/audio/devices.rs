//! Audio devices through cpal: listing input/output devices (default marked), choosing one
//! by name or id, and the error type shared by capture and playback. Only `audio::devices`,
//! `audio::capture` and `audio::playback` import cpal.
//!
//! Enumerating ALSA devices (and, without a sound card, even asking for the default) makes
//! alsa-lib print probing noise on stderr; every cpal call here runs inside
//! [`quiet::without_stderr`], and [`list`] enumerates beyond the defaults only when asked.

use std::fmt;
use std::path::PathBuf;

use cpal::traits::{DeviceTrait, HostTrait};
use serde::Serialize;

use crate::audio::quiet;
use crate::audio::wav::WavError;

/// Everything that can go wrong opening or running an audio device or a file-as-microphone.
#[derive(Debug, thiserror::Error)]
pub enum AudioIoError {
    #[error(
        "no audio input device found: use `--input FILE.wav` to play a WAV file as the microphone"
    )]
    NoInputDevice,
    #[error("no audio output device found: use `--output null` to run silently")]
    NoOutputDevice,
    #[error("no {direction} device matches \"{wanted}\" (available: {available}): run `ringcoach devices` to list them")]
    DeviceNotFound {
        direction: Direction,
        wanted: String,
        available: String,
    },
    #[error("could not {what} on {direction} device \"{device}\": {cause}; check that it is not in use, choose another (`ringcoach devices`), or use --input FILE.wav / --output null")]
    Backend {
        what: &'static str,
        direction: Direction,
        device: String,
        // Not `source`: the text is already in the message, and anyhow's one-line chain
        // would print it twice.
        cause: cpal::Error,
    },
    #[error("{direction} device \"{device}\" offers sample format {format}, which ringcoach cannot convert: choose another device (`ringcoach devices`)")]
    UnsupportedFormat {
        direction: Direction,
        device: String,
        format: String,
    },
    #[error("input device \"{device}\" delivered no audio within {waited_ms} ms: check that the microphone is connected and not muted, or use --input FILE.wav")]
    Silent { device: String, waited_ms: u64 },
    #[error("cannot read WAV file {path}: {reason}: give a PCM WAV (8/16/24/32-bit integer or 32-bit float)")]
    BadWav { path: PathBuf, reason: String },
    #[error("WAV file {path} holds no audio (0 samples): record or compose a non-empty file")]
    EmptyWav { path: PathBuf },
    #[error(transparent)]
    Wav(WavError),
    #[error("could not start the audio thread: {0}")]
    Thread(std::io::Error),
}

/// A WAV file that cannot be played or used as the microphone: the reader's finding, said the
/// way the audio commands say it.
impl From<WavError> for AudioIoError {
    fn from(e: WavError) -> Self {
        let (path, reason) = match e {
            WavError::Empty { path } => return AudioIoError::EmptyWav { path },
            WavError::Open { path, err } => (path, crate::input::describe_io(&err)),
            WavError::NotWav { path, detail } => (path, format!("not a WAV file ({detail})")),
            WavError::Unsupported { path, detail } => {
                (path, format!("unsupported sample format ({detail})"))
            }
            WavError::Truncated {
                path,
                expected,
                got,
            } => (
                path,
                format!(
                    "truncated: the header promises {expected} samples but only {got} are there"
                ),
            ),
            // Not a format problem: the reader's own message says what to do.
            e @ (WavError::TooLong { .. }
            | WavError::Write { .. }
            | WavError::NotAFile { .. }
            | WavError::Damaged { .. }) => return AudioIoError::Wav(e),
        };
        AudioIoError::BadWav { path, reason }
    }
}

impl AudioIoError {
    /// A backend failure on a device. When the system default (`wanted_default`) turns out
    /// not to exist — no sound card, no sound server — say that plainly, with the way out,
    /// instead of relaying ALSA's wording.
    pub fn backend(
        what: &'static str,
        direction: Direction,
        device: &str,
        wanted_default: bool,
        cause: cpal::Error,
    ) -> Self {
        let absent = matches!(
            cause.kind(),
            cpal::ErrorKind::DeviceNotAvailable | cpal::ErrorKind::HostUnavailable
        );
        match (absent && wanted_default, direction) {
            (true, Direction::Input) => AudioIoError::NoInputDevice,
            (true, Direction::Output) => AudioIoError::NoOutputDevice,
            (false, _) => AudioIoError::Backend {
                what,
                direction,
                device: device.to_string(),
                cause,
            },
        }
    }
}

/// Which way audio flows through a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Input,
    Output,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Input => "input",
            Direction::Output => "output",
        })
    }
}

/// One device as `ringcoach devices` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceInfo {
    pub direction: Direction,
    /// Human-readable name (cpal's description).
    pub name: String,
    /// Stable id, usable with `--input-device` / `--output-device`.
    pub id: String,
    pub is_default: bool,
    /// e.g. "2 ch, 44100 Hz, f32"; None when the device would not say.
    pub default_format: Option<String>,
    /// Why the device cannot be used, when asking for its format failed (ALSA lists a
    /// `default` device even on a machine with no sound card).
    pub problem: Option<String>,
}

impl DeviceInfo {
    pub fn usable(&self) -> bool {
        self.problem.is_none()
    }
}

/// What [`list`] found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeviceList {
    pub host: String,
    pub inputs: Vec<DeviceInfo>,
    pub outputs: Vec<DeviceInfo>,
}

/// Lists devices. With `all == false` only the default input and output are asked; with
/// `all == true` every device the host enumerates is listed too. alsa-lib's probing noise
/// is kept off stderr either way (see [`quiet`]).
pub fn list(all: bool) -> DeviceList {
    quiet::without_stderr(|| list_loud(all))
}

fn list_loud(all: bool) -> DeviceList {
    let host = cpal::default_host();
    let mut out = DeviceList {
        host: host.id().to_string(),
        ..DeviceList::default()
    };
    let default_in = host.default_input_device();
    let default_out = host.default_output_device();
    let default_in_id = default_in.as_ref().and_then(|d| d.id().ok());
    let default_out_id = default_out.as_ref().and_then(|d| d.id().ok());
    if let Some(d) = &default_in {
        out.inputs.push(info(d, Direction::Input, true));
    }
    if let Some(d) = &default_out {
        out.outputs.push(info(d, Direction::Output, true));
    }
    if all {
        if let Ok(devs) = host.input_devices() {
            for d in devs {
                if d.id().ok() != default_in_id || default_in_id.is_none() {
                    out.inputs.push(info(&d, Direction::Input, false));
                }
            }
        }
        if let Ok(devs) = host.output_devices() {
            for d in devs {
                if d.id().ok() != default_out_id || default_out_id.is_none() {
                    out.outputs.push(info(&d, Direction::Output, false));
                }
            }
        }
    }
    out
}

fn info(d: &cpal::Device, direction: Direction, is_default: bool) -> DeviceInfo {
    let cfg = match direction {
        Direction::Input => d.default_input_config(),
        Direction::Output => d.default_output_config(),
    };
    let (default_format, problem) = match cfg {
        Ok(c) => (
            Some(format!(
                "{} ch, {} Hz, {}",
                c.channels(),
                c.sample_rate(),
                c.sample_format()
            )),
            None,
        ),
        Err(e) => (None, Some(e.to_string())),
    };
    DeviceInfo {
        direction,
        name: device_name(d),
        id: d.id().map(|i| i.to_string()).unwrap_or_default(),
        is_default,
        default_format,
        problem,
    }
}

/// The name shown to people: the description's name, else the id.
pub(crate) fn device_name(d: &cpal::Device) -> String {
    d.description()
        .map(|desc| desc.name().to_string())
        .or_else(|_| d.id().map(|i| i.to_string()))
        .unwrap_or_else(|_| "(unnamed device)".to_string())
}

/// How the user named a device: `None`/"default" is the system default; otherwise an exact
/// id (as `ringcoach devices` prints it), else an exact name, else a unique case-insensitive
/// substring of a name.
pub fn find(direction: Direction, wanted: Option<&str>) -> Result<cpal::Device, AudioIoError> {
    quiet::without_stderr(|| find_loud(direction, wanted))
}

fn find_loud(direction: Direction, wanted: Option<&str>) -> Result<cpal::Device, AudioIoError> {
    let host = cpal::default_host();
    let wanted = wanted
        .map(str::trim)
        .filter(|w| !w.is_empty() && *w != "default");
    let Some(wanted) = wanted else {
        return match direction {
            Direction::Input => host
                .default_input_device()
                .ok_or(AudioIoError::NoInputDevice),
            Direction::Output => host
                .default_output_device()
                .ok_or(AudioIoError::NoOutputDevice),
        };
    };
    let devices: Vec<cpal::Device> = match direction {
        Direction::Input => host
            .input_devices()
            .map(|d| d.collect())
            .unwrap_or_default(),
        Direction::Output => host
            .output_devices()
            .map(|d| d.collect())
            .unwrap_or_default(),
    };
    let named: Vec<(String, String, cpal::Device)> = devices
        .into_iter()
        .map(|d| {
            (
                d.id().map(|i| i.to_string()).unwrap_or_default(),
                device_name(&d),
                d,
            )
        })
        .collect();
    let ids: Vec<&str> = named.iter().map(|(i, _, _)| i.as_str()).collect();
    let names: Vec<&str> = named.iter().map(|(_, n, _)| n.as_str()).collect();
    match pick(wanted, &ids, &names) {
        Some(i) => Ok(named
            .into_iter()
            .nth(i)
            .map(|(_, _, d)| d)
            .expect("index from pick")),
        None => Err(AudioIoError::DeviceNotFound {
            direction,
            wanted: wanted.to_string(),
            available: if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            },
        }),
    }
}

/// The matching rule of [`find`], pure: exact id, exact name, then a unique substring.
pub fn pick(wanted: &str, ids: &[&str], names: &[&str]) -> Option<usize> {
    if let Some(i) = ids.iter().position(|id| *id == wanted) {
        return Some(i);
    }
    if let Some(i) = names.iter().position(|n| *n == wanted) {
        return Some(i);
    }
    let lw = wanted.to_lowercase();
    let hits: Vec<usize> = names
        .iter()
        .enumerate()
        .filter(|(_, n)| n.to_lowercase().contains(&lw))
        .map(|(i, _)| i)
        .collect();
    (hits.len() == 1).then(|| hits[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pick_prefers_id_then_exact_name_then_unique_substring() {
        let ids = ["alsa:default", "alsa:hw:0,0", "alsa:pulse"];
        let names = ["Default", "HDA Intel PCH", "PulseAudio Sound Server"];
        assert_eq!(pick("alsa:pulse", &ids, &names), Some(2));
        assert_eq!(pick("Default", &ids, &names), Some(0));
        assert_eq!(pick("intel", &ids, &names), Some(1));
        // "a" is in every name: ambiguous, so no guess.
        assert_eq!(pick("a", &ids, &names), None);
        assert_eq!(pick("usb headset", &ids, &names), None);
    }

    #[test]
    fn an_absent_default_device_is_reported_plainly() {
        let gone = || cpal::Error::new(cpal::ErrorKind::DeviceNotAvailable);
        let e = AudioIoError::backend(
            "open the input stream",
            Direction::Input,
            "Default",
            true,
            gone(),
        );
        assert!(matches!(e, AudioIoError::NoInputDevice), "{e}");
        let e = AudioIoError::backend(
            "open the output stream",
            Direction::Output,
            "Default",
            true,
            gone(),
        );
        assert!(matches!(e, AudioIoError::NoOutputDevice), "{e}");
        // A device the user named is reported as that device.
        let e = AudioIoError::backend(
            "open the input stream",
            Direction::Input,
            "USB",
            false,
            gone(),
        );
        assert!(
            e.to_string()
                .starts_with("could not open the input stream on input device \"USB\""),
            "{e}"
        );
        assert!(
            std::error::Error::source(&e).is_none(),
            "cause is in the message, not repeated"
        );
    }

    #[test]
    fn errors_say_what_to_do() {
        assert!(AudioIoError::NoInputDevice
            .to_string()
            .contains("--input FILE.wav"));
        assert!(AudioIoError::NoOutputDevice
            .to_string()
            .contains("--output null"));
        let e = AudioIoError::DeviceNotFound {
            direction: Direction::Input,
            wanted: "usb".into(),
            available: "Default".into(),
        };
        assert_eq!(
            e.to_string(),
            "no input device matches \"usb\" (available: Default): run `ringcoach devices` to list them"
        );
    }
}
