//! The microphones that passed the check, so a trainee is asked once per microphone, not
//! before every practice: `mic-checks.json` in the state dir (beside the screens' logs), one
//! entry per input device name with when it passed and what was measured. Replaced
//! atomically (a crash leaves the old record or the new one); a record that cannot be read is
//! treated as empty, so the worst a damaged file does is ask for one more check.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::audio::quality::MicCheck;
use crate::store::fsio::write_json_atomic;
use crate::store::{StoreError, Timestamp};

const FILE: &str = "mic-checks.json";

#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    /// By input device name, as the audio system names it.
    passed: BTreeMap<String, Passed>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Passed {
    /// RFC 3339.
    at: String,
    voice_dbfs: f32,
    noise_floor_dbfs: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    snr_db: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    decay_ms: Option<u32>,
}

/// The record file.
#[derive(Debug, Clone)]
pub struct MicRecord {
    path: PathBuf,
}

impl MicRecord {
    /// `$XDG_STATE_HOME/ringcoach/mic-checks.json`, in the directory of the screens' logs.
    pub fn default_location() -> MicRecord {
        MicRecord::at(crate::tui::log_path("practice").with_file_name(FILE))
    }

    pub fn at(path: impl Into<PathBuf>) -> MicRecord {
        MicRecord { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether `device` has passed a check.
    pub fn passed(&self, device: &str) -> bool {
        self.read().passed.contains_key(device)
    }

    /// Remembers that `device` passed `check`.
    pub fn remember(&self, device: &str, check: &MicCheck) -> Result<(), StoreError> {
        let mut record = self.read();
        let f = &check.facts;
        record.passed.insert(
            device.to_string(),
            Passed {
                at: Timestamp::now().to_string(),
                voice_dbfs: f.loudness_dbfs,
                noise_floor_dbfs: f.noise_floor_dbfs,
                snr_db: f.snr_db,
                decay_ms: f.decay_ms,
            },
        );
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|err| StoreError::Io {
                action: "create",
                path: dir.to_path_buf(),
                err,
            })?;
        }
        write_json_atomic(&self.path, &record, true)
    }

    fn read(&self) -> Record {
        std::fs::read(&self.path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::quality::Trouble;

    fn passed_check() -> MicCheck {
        MicCheck {
            facts: crate::audio::facts::measure(&[0.0; 1600]),
            heard: true,
            trouble: Trouble::default(),
        }
    }

    #[test]
    fn a_pass_is_remembered_per_device_and_survives_a_damaged_file() {
        let dir = tempfile::tempdir().unwrap();
        let record = MicRecord::at(dir.path().join("state/ringcoach").join(FILE));
        assert!(!record.passed("USB headset"));
        record.remember("USB headset", &passed_check()).unwrap();
        assert!(record.passed("USB headset"));
        assert!(
            !record.passed("default"),
            "another microphone is checked anew"
        );
        record.remember("default", &passed_check()).unwrap();
        assert!(record.passed("USB headset") && record.passed("default"));
        let text = std::fs::read_to_string(record.path()).unwrap();
        assert!(text.contains("\"voice_dbfs\""), "{text}");

        // Half a file (written by something else): read as no record, then replaced whole.
        std::fs::write(record.path(), &text[..text.len() / 2]).unwrap();
        assert!(!record.passed("default"));
        record.remember("default", &passed_check()).unwrap();
        assert!(record.passed("default"));
        // No temporary file is left beside it.
        let names: Vec<_> = std::fs::read_dir(record.path().parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(FILE)]);
    }
}
