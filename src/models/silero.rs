//! Silero VAD `silero_vad_16k.safetensors` (from the PyPI `silero-vad` wheel) → the ggml
//! file whisper.cpp's VAD (`whisper_vad_init_from_file_with_params`) loads.
//!
//! The header is whisper.cpp's: the type string "silero-16k", the Silero version, window 512
//! and context 64 samples, then per encoder layer (in, out, kernel), the LSTM sizes and the
//! final conv sizes. Tensors use whisper.cpp's PyTorch names; the conv weights and the STFT
//! basis are f16, everything else f32 — the loader checks sizes, so a wrong width fails.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use super::atomic::AtomicFile;
use super::convert::Converted;
use super::ggml::{write_i32, write_tensor_header, TensorType, GGML_MAGIC};
use super::half::{bf16_to_f32, f16_to_f32, f32_to_f16};
use super::{ModelError, Progress};

/// Samples per VAD window at 16 kHz and the context carried between windows.
const WINDOW: i32 = 512;
const CONTEXT: i32 = 64;
const MODEL_TYPE: &str = "silero-16k";

/// One safetensors tensor.
#[derive(Debug, Clone)]
pub struct StTensor {
    pub dtype: String,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

impl StTensor {
    pub fn to_f32(&self) -> Result<Vec<f32>, String> {
        let b = &self.data;
        Ok(match self.dtype.as_str() {
            "F32" => b
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            "F16" => b
                .chunks_exact(2)
                .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
            "BF16" => b
                .chunks_exact(2)
                .map(|c| bf16_to_f32(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
            other => return Err(format!("dtype {other} is not a float type")),
        })
    }
}

#[derive(serde::Deserialize)]
struct StEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

/// Parse a safetensors file: u64 header length, JSON header, data.
pub fn parse_safetensors(bytes: &[u8]) -> Result<BTreeMap<String, StTensor>, String> {
    if bytes.len() < 8 {
        return Err("the file is shorter than a safetensors header".into());
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    if n > bytes.len() - 8 || n > 100 << 20 {
        return Err(format!(
            "the header claims {n} bytes but the file has {}: truncated or not safetensors",
            bytes.len()
        ));
    }
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n])
            .map_err(|e| format!("the header is not JSON: {e}"))?;
    let data = &bytes[8 + n..];
    let mut out = BTreeMap::new();
    for (name, v) in header {
        if name == "__metadata__" {
            continue;
        }
        let e: StEntry = serde_json::from_value(v).map_err(|e| format!("tensor {name}: {e}"))?;
        let [s, t] = e.data_offsets;
        if s > t || t > data.len() {
            return Err(format!(
                "tensor {name} lies at bytes {s}..{t} but the data has {}: the file is truncated",
                data.len()
            ));
        }
        let width = match e.dtype.as_str() {
            "F32" => 4,
            "F16" | "BF16" => 2,
            other => {
                return Err(format!(
                    "tensor {name} has dtype {other}; only float tensors are expected"
                ))
            }
        };
        if e.shape.iter().product::<usize>() * width != t - s {
            return Err(format!(
                "tensor {name}: shape {:?} does not match its {} bytes",
                e.shape,
                t - s
            ));
        }
        out.insert(
            name,
            StTensor {
                dtype: e.dtype,
                shape: e.shape,
                data: data[s..t].to_vec(),
            },
        );
    }
    Ok(out)
}

/// Source names to try for each whisper.cpp tensor: the names in `silero_vad_16k.safetensors`
/// first, then the PyTorch JIT names (with and without `_model.`).
fn source_names(target: &str) -> Vec<String> {
    let bare = target.trim_start_matches("_model.");
    let st = match bare {
        "stft.forward_basis_buffer" => "stft_conv.weight".to_string(),
        "decoder.rnn.weight_ih" => "lstm_cell.weight_ih".into(),
        "decoder.rnn.weight_hh" => "lstm_cell.weight_hh".into(),
        "decoder.rnn.bias_ih" => "lstm_cell.bias_ih".into(),
        "decoder.rnn.bias_hh" => "lstm_cell.bias_hh".into(),
        "decoder.decoder.2.weight" => "final_conv.weight".into(),
        "decoder.decoder.2.bias" => "final_conv.bias".into(),
        other => match other
            .strip_prefix("encoder.")
            .and_then(|r| r.split_once(".reparam_conv."))
        {
            Some((i, what)) => format!("conv{}.{what}", i.parse::<usize>().unwrap_or(0) + 1),
            None => other.to_string(),
        },
    };
    vec![st, target.to_string(), bare.to_string()]
}

/// Convert parsed tensors; `version` is Silero's "major.minor.patch" (whisper.cpp only logs it).
pub fn convert_tensors(
    tensors: &BTreeMap<String, StTensor>,
    version: &str,
    out: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<Converted, ModelError> {
    let bad = |why: String| ModelError::BadInput {
        path: out.to_path_buf(),
        why: format!("the Silero VAD weights: {why}"),
    };
    let get = |target: &str| -> Result<&StTensor, ModelError> {
        source_names(target)
            .iter()
            .find_map(|n| tensors.get(n))
            .ok_or_else(|| {
                bad(format!(
                    "no tensor for {target} (looked for {:?})",
                    source_names(target)
                ))
            })
    };
    let ver: Vec<i32> = version.split('.').map(|p| p.parse().unwrap_or(0)).collect();
    if ver.len() != 3 {
        return Err(bad(format!("version {version:?} is not major.minor.patch")));
    }

    let mut plan: Vec<(String, Vec<usize>, TensorType, &StTensor)> = Vec::new();
    let mut layers = Vec::new();
    for i in 0..4 {
        let w = get(&format!("_model.encoder.{i}.reparam_conv.weight"))?;
        let b = get(&format!("_model.encoder.{i}.reparam_conv.bias"))?;
        if w.shape.len() != 3 || b.shape != [w.shape[0]] {
            return Err(bad(format!(
                "encoder {i} has weight {:?} and bias {:?}",
                w.shape, b.shape
            )));
        }
        layers.push([w.shape[1] as i32, w.shape[0] as i32, w.shape[2] as i32]);
        plan.push((
            format!("_model.encoder.{i}.reparam_conv.weight"),
            w.shape.clone(),
            TensorType::F16,
            w,
        ));
        plan.push((
            format!("_model.encoder.{i}.reparam_conv.bias"),
            b.shape.clone(),
            TensorType::F32,
            b,
        ));
    }
    let ih = get("_model.decoder.rnn.weight_ih")?;
    let hh = get("_model.decoder.rnn.weight_hh")?;
    if ih.shape.len() != 2 || hh.shape.len() != 2 || ih.shape[0] != 4 * hh.shape[1] {
        return Err(bad(format!(
            "LSTM weights {:?} and {:?} are not an LSTM cell",
            ih.shape, hh.shape
        )));
    }
    for n in ["weight_ih", "weight_hh", "bias_ih", "bias_hh"] {
        let t = get(&format!("_model.decoder.rnn.{n}"))?;
        plan.push((
            format!("_model.decoder.rnn.{n}"),
            t.shape.clone(),
            TensorType::F32,
            t,
        ));
    }
    let fw = get("_model.decoder.decoder.2.weight")?;
    let fb = get("_model.decoder.decoder.2.bias")?;
    let final_in = fw.shape.iter().product::<usize>();
    // The 1×1 conv weight [1, 128, 1] is stored squeezed, as whisper.cpp's converter does.
    plan.push((
        "_model.decoder.decoder.2.weight".into(),
        vec![final_in],
        TensorType::F16,
        fw,
    ));
    plan.push((
        "_model.decoder.decoder.2.bias".into(),
        vec![fb.shape.iter().product()],
        TensorType::F32,
        fb,
    ));
    let stft = get("_model.stft.forward_basis_buffer")?;
    if stft.shape.len() != 3 {
        return Err(bad(format!(
            "the STFT basis has shape {:?}, expected 3 dimensions",
            stft.shape
        )));
    }
    plan.push((
        "_model.stft.forward_basis_buffer".into(),
        stft.shape.clone(),
        TensorType::F16,
        stft,
    ));

    let werr = |e: std::io::Error| ModelError::Write {
        path: out.to_path_buf(),
        source: e,
    };
    let mut f = AtomicFile::create(out).map_err(werr)?;
    let mut h = Vec::new();
    h.extend_from_slice(&GGML_MAGIC.to_le_bytes());
    write_i32(&mut h, MODEL_TYPE.len() as i32).map_err(werr)?;
    h.extend_from_slice(MODEL_TYPE.as_bytes());
    for v in &ver {
        write_i32(&mut h, *v).map_err(werr)?;
    }
    for v in [WINDOW, CONTEXT, layers.len() as i32] {
        write_i32(&mut h, v).map_err(werr)?;
    }
    for l in &layers {
        for v in l {
            write_i32(&mut h, *v).map_err(werr)?;
        }
    }
    for v in [
        ih.shape[1] as i32,
        hh.shape[1] as i32,
        final_in as i32,
        fw.shape[0] as i32,
    ] {
        write_i32(&mut h, v).map_err(werr)?;
    }
    f.write_all(&h).map_err(werr)?;
    let total = plan.len() as u64;
    for (i, (name, shape, ttype, t)) in plan.iter().enumerate() {
        write_tensor_header(&mut f, name, shape, *ttype).map_err(werr)?;
        let vals = t.to_f32().map_err(|e| bad(format!("{name}: {e}")))?;
        let bytes: Vec<u8> = match ttype {
            TensorType::F32 => vals.iter().flat_map(|v| v.to_le_bytes()).collect(),
            TensorType::F16 => vals
                .iter()
                .flat_map(|v| f32_to_f16(*v).to_le_bytes())
                .collect(),
        };
        f.write_all(&bytes).map_err(werr)?;
        progress(Progress::Step {
            what: "converting Silero VAD",
            done: i as u64 + 1,
            total,
        });
    }
    let (sha256, size) = f.commit().map_err(werr)?;
    Ok(Converted {
        path: out.to_path_buf(),
        sha256,
        size,
        n_tensors: plan.len(),
    })
}

/// `ringcoach models convert-silero IN.safetensors OUT.bin`.
pub fn convert_safetensors_file(
    input: &Path,
    version: &str,
    out: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<Converted, ModelError> {
    let bytes = fs::read(input).map_err(|e| ModelError::BadInput {
        path: input.to_path_buf(),
        why: e.to_string(),
    })?;
    let tensors = parse_safetensors(&bytes).map_err(|why| ModelError::BadInput {
        path: input.to_path_buf(),
        why,
    })?;
    convert_tensors(&tensors, version, out, progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safetensors_names_map_to_whisper_cpp_names() {
        assert_eq!(
            source_names("_model.encoder.0.reparam_conv.weight")[0],
            "conv1.weight"
        );
        assert_eq!(
            source_names("_model.encoder.3.reparam_conv.bias")[0],
            "conv4.bias"
        );
        assert_eq!(
            source_names("_model.stft.forward_basis_buffer")[0],
            "stft_conv.weight"
        );
        assert_eq!(
            source_names("_model.decoder.decoder.2.bias")[0],
            "final_conv.bias"
        );
    }

    #[test]
    fn truncated_safetensors_is_refused() {
        let header = br#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
        let mut file = (header.len() as u64).to_le_bytes().to_vec();
        file.extend_from_slice(header);
        file.extend_from_slice(&[0; 8]);
        assert_eq!(parse_safetensors(&file).unwrap()["a"].shape, vec![2]);
        let err = parse_safetensors(&file[..file.len() - 1]).unwrap_err();
        assert!(err.contains("truncated"), "{err}");
        assert!(parse_safetensors(&file[..4]).is_err());
    }

    /// A safetensors file with the names and ranks of `silero_vad_16k.safetensors` but
    /// small sizes.
    fn small_safetensors() -> Vec<u8> {
        let shapes: Vec<(&str, Vec<usize>)> = vec![
            ("stft_conv.weight", vec![10, 1, 8]),
            ("conv1.weight", vec![6, 5, 3]),
            ("conv1.bias", vec![6]),
            ("conv2.weight", vec![4, 6, 3]),
            ("conv2.bias", vec![4]),
            ("conv3.weight", vec![4, 4, 3]),
            ("conv3.bias", vec![4]),
            ("conv4.weight", vec![6, 4, 3]),
            ("conv4.bias", vec![6]),
            ("lstm_cell.weight_ih", vec![24, 6]),
            ("lstm_cell.weight_hh", vec![24, 6]),
            ("lstm_cell.bias_ih", vec![24]),
            ("lstm_cell.bias_hh", vec![24]),
            ("final_conv.weight", vec![1, 6, 1]),
            ("final_conv.bias", vec![1]),
        ];
        let mut header = serde_json::Map::new();
        let mut data = Vec::new();
        for (name, shape) in &shapes {
            let n: usize = shape.iter().product();
            let start = data.len();
            for j in 0..n {
                data.extend_from_slice(&(0.5 + j as f32).to_le_bytes());
            }
            header.insert(
                name.to_string(),
                serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [start, data.len()]}),
            );
        }
        let h = serde_json::to_vec(&header).unwrap();
        let mut out = (h.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(&h);
        out.extend_from_slice(&data);
        out
    }

    fn i32s(b: &[u8]) -> Vec<i32> {
        b.chunks(4)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    }

    #[test]
    fn writes_whisper_cpp_header_types_and_reversed_dims() {
        let tensors = parse_safetensors(&small_safetensors()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("vad.bin");
        let c = convert_tensors(&tensors, "6.2.3", &out, &mut |_| {}).unwrap();
        assert_eq!(c.n_tensors, 15);
        let b = fs::read(&out).unwrap();
        assert_eq!(&b[..4], &GGML_MAGIC.to_le_bytes());
        assert_eq!(i32s(&b[4..8]), vec![10]);
        assert_eq!(&b[8..18], b"silero-16k");
        let h = i32s(&b[18..18 + 4 * 22]);
        assert_eq!(&h[..6], &[6, 2, 3, 512, 64, 4]); // version, window, context, layers
        assert_eq!(&h[6..18], &[5, 6, 3, 6, 4, 3, 4, 4, 3, 4, 6, 3]); // (in, out, k) × 4
        assert_eq!(&h[18..22], &[6, 6, 6, 1]); // LSTM in, hidden; final conv in, out
                                               // First tensor: encoder 0's weight, f16, dims reversed [3, 5, 6].
        let t = &b[18 + 4 * 22..];
        let head = i32s(&t[..24]);
        assert_eq!(head, vec![3, 36, 1, 3, 5, 6]);
        assert_eq!(&t[24..60], b"_model.encoder.0.reparam_conv.weight");
        assert_eq!(u16::from_le_bytes([t[60], t[61]]), f32_to_f16(0.5));
        let info = crate::models::ggml::inspect(&out).unwrap();
        assert_eq!(info.n_tensors, 15);
        assert!(matches!(
            info.kind,
            crate::models::ggml::GgmlKind::SileroVad { .. }
        ));
    }

    #[test]
    fn missing_tensor_is_named() {
        let mut tensors = parse_safetensors(&small_safetensors()).unwrap();
        tensors.remove("lstm_cell.weight_hh");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("vad.bin");
        let err = convert_tensors(&tensors, "6.2.3", &out, &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(err.contains("weight_hh"), "{err}");
        assert!(!out.exists());
    }
}
