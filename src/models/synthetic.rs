//! A tiny synthetic CTranslate2 Whisper model, for tests (unit and integration): the
//! smallest model that exercises every conversion rule — fused QKV and KV, conv biases,
//! positional embeddings, tied projection, byte-level vocabulary.

use super::ct2::{write_model_bin, DType};
use super::half::f32_to_f16;

/// Its vocabulary: 4 text tokens (one empty, like Whisper's 50256), then the specials.
pub const TINY_TOKENS: [&str; 7] = [
    "a",
    "Ġb",
    "æĤ¨",
    "",
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|en|>",
];

fn f16s(vals: &[f32]) -> Vec<u8> {
    vals.iter()
        .flat_map(|v| f32_to_f16(*v).to_le_bytes())
        .collect()
}

/// A complete but tiny CTranslate2 Whisper `model.bin`: width 2, one layer each side, 7
/// embeddings. Every element is distinct (variable k, element j holds k·16 + j) so a wrong
/// slice shows, except the fused biases: `[10, 11, key_bias, key_bias, 14, 15]` for
/// self-attention and `[key_bias, 0, 22, 23]` for cross-attention K‖V.
pub fn tiny_whisper(key_bias: f32) -> Vec<u8> {
    let d = 2;
    let mut vars: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let mut add = |name: &str, shape: Vec<usize>| {
        let n: usize = shape.iter().product();
        // Distinct values so a wrong slice shows: element j of var k is k*16 + j (exact in f16).
        let k = vars.len() as f32;
        let vals: Vec<f32> = (0..n).map(|j| k * 16.0 + j as f32).collect();
        vars.push((name.to_string(), shape, f16s(&vals)));
    };
    add("encoder/conv1/weight", vec![d, 3, 3]);
    add("encoder/conv1/bias", vec![d]);
    add("encoder/conv2/weight", vec![d, d, 3]);
    add("encoder/conv2/bias", vec![d]);
    add("encoder/position_encodings/encodings", vec![5, d]);
    add("decoder/position_encodings/encodings", vec![4, d]);
    add("decoder/embeddings/weight", vec![7, d]);
    for side in ["encoder", "decoder"] {
        let l = format!("{side}/layer_0");
        add(
            &format!("{l}/self_attention/linear_0/weight"),
            vec![3 * d, d],
        );
        add(&format!("{l}/self_attention/linear_0/bias"), vec![3 * d]);
        add(&format!("{l}/self_attention/linear_1/weight"), vec![d, d]);
        add(&format!("{l}/self_attention/linear_1/bias"), vec![d]);
        add(&format!("{l}/self_attention/layer_norm/gamma"), vec![d]);
        add(&format!("{l}/self_attention/layer_norm/beta"), vec![d]);
        add(&format!("{l}/ffn/linear_0/weight"), vec![4 * d, d]);
        add(&format!("{l}/ffn/linear_0/bias"), vec![4 * d]);
        add(&format!("{l}/ffn/linear_1/weight"), vec![d, 4 * d]);
        add(&format!("{l}/ffn/linear_1/bias"), vec![d]);
        add(&format!("{l}/ffn/layer_norm/gamma"), vec![d]);
        add(&format!("{l}/ffn/layer_norm/beta"), vec![d]);
        add(&format!("{side}/layer_norm/gamma"), vec![d]);
        add(&format!("{side}/layer_norm/beta"), vec![d]);
    }
    let l = "decoder/layer_0/attention";
    add(&format!("{l}/linear_0/weight"), vec![d, d]);
    add(&format!("{l}/linear_0/bias"), vec![d]);
    add(&format!("{l}/linear_1/weight"), vec![2 * d, d]);
    add(&format!("{l}/linear_1/bias"), vec![2 * d]);
    add(&format!("{l}/linear_2/weight"), vec![d, d]);
    add(&format!("{l}/linear_2/bias"), vec![d]);
    add(&format!("{l}/layer_norm/gamma"), vec![d]);
    add(&format!("{l}/layer_norm/beta"), vec![d]);
    // Key-bias slices: CTranslate2 stores zeros there.
    for (name, _, data) in vars.iter_mut() {
        if name.ends_with("self_attention/linear_0/bias") {
            let v = [10.0, 11.0, key_bias, key_bias, 14.0, 15.0];
            *data = f16s(&v);
        }
        if name.ends_with("attention/linear_1/bias") && !name.contains("self") {
            *data = f16s(&[key_bias, 0.0, 22.0, 23.0]);
        }
    }
    let mut refs: Vec<(&str, &[usize], DType, &[u8])> = vars
        .iter()
        .map(|(n, s, b)| (n.as_str(), s.as_slice(), DType::F16, b.as_slice()))
        .collect();
    let heads = 1i16.to_le_bytes();
    refs.push(("encoder/num_heads", &[], DType::I16, &heads));
    refs.push(("decoder/num_heads", &[], DType::I16, &heads));
    write_model_bin(
        "WhisperSpec",
        3,
        &refs,
        &[("decoder/projection/weight", "decoder/embeddings/weight")],
    )
}
