//! `models/manifest.toml`, compiled in: which models exist, their file names in the cache,
//! the wheels they come from (tried in order) — or the model they are quantised from on
//! this machine — and the SHA-256 and size of the file ringcoach writes.

use serde::Deserialize;

use super::quant::Quant;

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
    /// Wheels to download and convert (none for a model quantised from another).
    #[serde(rename = "source", default)]
    pub sources: Vec<Source>,
    /// Made here from another model of the manifest instead of downloaded.
    pub quantize: Option<Derived>,
}

/// A model written by quantising another one of the manifest (no download).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Derived {
    /// The id of the f16 model it is made from; listed before it.
    pub from: String,
    #[serde(rename = "type")]
    pub quant: Quant,
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

    pub fn by_id(&self, id: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.id == id)
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
            match &model.quantize {
                None => assert!(
                    !model.sources.is_empty() && model.sources.iter().all(|s| !s.wheels.is_empty()),
                    "{}: downloaded from wheels",
                    model.id
                ),
                Some(d) => {
                    assert!(
                        model.sources.is_empty(),
                        "{}: made, not downloaded",
                        model.id
                    );
                    let pos = |id: &str| m.models.iter().position(|x| x.id == id);
                    let base = pos(&d.from).expect("quantised from a listed model");
                    assert!(
                        base < pos(&model.id).unwrap(),
                        "{}: after its base",
                        model.id
                    );
                    assert!(m.models[base].quantize.is_none());
                    assert_eq!(m.models[base].kind, model.kind);
                }
            }
        }
    }
}
