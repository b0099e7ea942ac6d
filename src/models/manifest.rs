//! `models/manifest.toml`, compiled in: which models exist, their file names in the cache,
//! the wheels they come from (tried in order) and the SHA-256 and size of the converted file.

use serde::Deserialize;

/// The default Whisper model's file name in the cache.
pub const WHISPER_FILE: &str = "ggml-base.bin";
/// The Silero VAD model's file name in the cache.
pub const VAD_FILE: &str = "ggml-silero-vad.bin";

const MANIFEST: &str = include_str!("../../models/manifest.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Whisper,
    SileroVad,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// pip requirement strings, downloaded together with `--no-deps`.
    pub wheels: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub id: String,
    pub kind: Kind,
    pub file: String,
    #[serde(default)]
    pub default: bool,
    pub description: String,
    /// Size in bytes of the converted file.
    pub size: u64,
    /// SHA-256 (hex) of the converted file.
    pub sha256: String,
    #[serde(rename = "source")]
    pub sources: Vec<Source>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(rename = "model")]
    pub models: Vec<Model>,
}

impl Manifest {
    /// The manifest built into this binary.
    pub fn builtin() -> Manifest {
        // The file is part of the source tree and checked by a unit test, so a parse
        // failure here is a build defect, not a user error.
        toml::from_str(MANIFEST).expect("models/manifest.toml is valid (see its unit test)")
    }

    pub fn by_file(&self, file: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.file == file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_manifest_is_consistent() {
        let m = Manifest::builtin();
        let w = m
            .by_file(WHISPER_FILE)
            .expect("the default Whisper model is listed");
        assert_eq!(w.kind, Kind::Whisper);
        assert!(w.default);
        let v = m.by_file(VAD_FILE).expect("the VAD model is listed");
        assert_eq!(v.kind, Kind::SileroVad);
        for model in &m.models {
            assert_eq!(
                model.sha256.len(),
                64,
                "{}: sha256 is 64 hex digits",
                model.id
            );
            assert!(model
                .sha256
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
            assert!(model.size > 0);
            assert!(
                !model.sources.is_empty() && model.sources.iter().all(|s| !s.wheels.is_empty())
            );
        }
    }
}
