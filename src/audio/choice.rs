//! From flags or config to a source and a sink: `--input FILE.wav` or `--input-device NAME`
//! for the microphone, `--output null|default|NAME` for the speakers. Bad choices fail here,
//! before the phone rings, with a message saying what to do.

use std::path::PathBuf;
use std::str::FromStr;

use crate::audio::capture::{AudioSource, MicOptions, MicSource};
use crate::audio::devices::{self, AudioIoError, Direction};
use crate::audio::file_source::FileSource;
use crate::audio::playback::{AudioSink, DeviceSink, NullSink};

/// Where the trainee's voice comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputChoice {
    /// A WAV file played as the microphone, in real time.
    File(PathBuf),
    /// A capture device by name or id; None = the system default.
    Device(Option<String>),
}

impl InputChoice {
    /// `--input FILE.wav` wins over `--input-device NAME`; neither means the default device.
    pub fn from_flags(input: Option<PathBuf>, device: Option<String>) -> Self {
        match input {
            Some(path) => InputChoice::File(path),
            None => InputChoice::Device(device.filter(|d| d != "default")),
        }
    }

    /// A ready-to-start source. A file is read and converted now; a named device is looked
    /// up now (the default device is opened only when the source starts).
    pub fn open(&self) -> Result<Box<dyn AudioSource>, AudioIoError> {
        match self {
            InputChoice::File(path) => Ok(Box::new(FileSource::open(path)?)),
            InputChoice::Device(name) => {
                if let Some(name) = name {
                    devices::find(Direction::Input, Some(name))?;
                }
                Ok(Box::new(MicSource::new(MicOptions {
                    device: name.clone(),
                    ..MicOptions::default()
                })))
            }
        }
    }
}

/// Where the ring and the caller's voice go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputChoice {
    /// Silent, but clocked.
    Null,
    /// A playback device by name or id; None = the system default.
    Device(Option<String>),
}

impl FromStr for OutputChoice {
    type Err = std::convert::Infallible;

    /// "null" → silent; "" or "default" → the default device; anything else names a device.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim() {
            "null" => OutputChoice::Null,
            "" | "default" => OutputChoice::Device(None),
            name => OutputChoice::Device(Some(name.to_string())),
        })
    }
}

impl OutputChoice {
    /// A sink; a named device is looked up now.
    pub fn open(&self) -> Result<Box<dyn AudioSink>, AudioIoError> {
        match self {
            OutputChoice::Null => Ok(Box::new(NullSink)),
            OutputChoice::Device(name) => {
                if let Some(name) = name {
                    devices::find(Direction::Output, Some(name))?;
                }
                Ok(Box::new(DeviceSink {
                    device: name.clone(),
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_map_to_choices() {
        assert_eq!(
            InputChoice::from_flags(Some("a.wav".into()), Some("usb".into())),
            InputChoice::File("a.wav".into())
        );
        assert_eq!(
            InputChoice::from_flags(None, Some("default".into())),
            InputChoice::Device(None)
        );
        assert_eq!(
            InputChoice::from_flags(None, Some("usb".into())),
            InputChoice::Device(Some("usb".into()))
        );
        assert_eq!("null".parse::<OutputChoice>().unwrap(), OutputChoice::Null);
        assert_eq!(
            "default".parse::<OutputChoice>().unwrap(),
            OutputChoice::Device(None)
        );
        assert_eq!(
            " hdmi ".parse::<OutputChoice>().unwrap(),
            OutputChoice::Device(Some("hdmi".into()))
        );
    }

    #[test]
    fn a_missing_input_file_fails_before_anything_starts() {
        let err = InputChoice::File("/nonexistent/answer.wav".into())
            .open()
            .err()
            .unwrap();
        assert!(err.to_string().contains("/nonexistent/answer.wav"), "{err}");
    }

    #[test]
    fn null_output_needs_no_device() {
        let sink = OutputChoice::Null.open().unwrap();
        assert_eq!(sink.describe(), "null output (silent)");
    }
}
