//! CTranslate2 Whisper model directory → whisper.cpp ggml file.
//!
//! The mapping (CTranslate2 fuses what whisper.cpp keeps apart, and stores no mel filters):
//! self-attention `linear_0` is Q‖K‖V stacked by rows and is split in three, the key without
//! a bias; cross-attention `linear_1` is K‖V, split in two; conv biases become [n, 1] f32;
//! positional embeddings, biases and layer norms are f32, the matrices f16; the output
//! projection is tied to the token embedding (an alias in CTranslate2, absent in ggml); the
//! vocabulary is written as raw bytes; the mel filters are computed ([`super::mel`]).
//! Hyper-parameters come from tensor shapes and the `num_heads` scalars, not config.json
//! (which holds only decoding defaults).

use std::fs;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::atomic::AtomicFile;
use super::ct2::{Ct2Model, DType, Variable};
use super::ggml::{write_i32, write_tensor_header, TensorType, WhisperHparams, GGML_MAGIC};
use super::half::f32_to_f16;
use super::{mel, vocab, ModelError, Progress};

/// A CTranslate2 Whisper model, read from its directory.
pub struct Ct2Input {
    pub dir: PathBuf,
    pub model: Ct2Model,
    /// Every token of the vocabulary file, byte-level BPE strings, in id order.
    pub tokens: Vec<String>,
}

/// What a conversion wrote.
#[derive(Debug, Clone)]
pub struct Converted {
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
    pub n_tensors: usize,
}

fn bad(path: &Path, why: impl Into<String>) -> ModelError {
    ModelError::BadInput {
        path: path.to_path_buf(),
        why: why.into(),
    }
}

/// `model.bin`, or its parts `model.bin.part1`, `.part2`, … joined in order (PyPI limits
/// file sizes, so the wheels split it).
fn read_model_bin(dir: &Path) -> Result<Vec<u8>, ModelError> {
    let whole = dir.join("model.bin");
    if whole.is_file() {
        return fs::read(&whole).map_err(|e| bad(&whole, e.to_string()));
    }
    let mut data = Vec::new();
    let mut n = 0;
    loop {
        let part = dir.join(format!("model.bin.part{}", n + 1));
        if !part.is_file() {
            break;
        }
        let mut f = fs::File::open(&part).map_err(|e| bad(&part, e.to_string()))?;
        std::io::Read::read_to_end(&mut f, &mut data).map_err(|e| bad(&part, e.to_string()))?;
        n += 1;
    }
    if n == 0 {
        return Err(bad(
            dir,
            "it has neither model.bin nor model.bin.part1: is it a CTranslate2 model directory?",
        ));
    }
    if n == 1 {
        return Err(bad(
            dir,
            "it has model.bin.part1 but no model.bin.part2: copy the second part beside the first",
        ));
    }
    Ok(data)
}

fn read_tokens(dir: &Path) -> Result<Vec<String>, ModelError> {
    let txt = dir.join("vocabulary.txt");
    if txt.is_file() {
        let text = fs::read_to_string(&txt).map_err(|e| bad(&txt, e.to_string()))?;
        return Ok(vocab::split_vocabulary_txt(&text)
            .into_iter()
            .map(String::from)
            .collect());
    }
    let json = dir.join("vocabulary.json");
    if json.is_file() {
        let text = fs::read_to_string(&json).map_err(|e| bad(&json, e.to_string()))?;
        return serde_json::from_str::<Vec<String>>(&text)
            .map_err(|e| bad(&json, format!("expected a JSON list of token strings: {e}")));
    }
    Err(bad(
        dir,
        "it has neither vocabulary.txt nor vocabulary.json",
    ))
}

/// Read a CTranslate2 model directory (model.bin or its parts, vocabulary.txt/.json).
pub fn load_ct2_dir(dir: &Path) -> Result<Ct2Input, ModelError> {
    if !dir.is_dir() {
        return Err(bad(dir, "no such directory"));
    }
    let tokens = read_tokens(dir)?;
    let data = read_model_bin(dir)?;
    let label = if dir.join("model.bin").is_file() {
        "model.bin"
    } else {
        "model.bin (joined from its parts)"
    };
    let model = Ct2Model::parse(data).map_err(|why| bad(dir, format!("{label}: {why}")))?;
    if model.spec != "WhisperSpec" {
        return Err(bad(
            dir,
            format!("it holds a {} model, not a Whisper model", model.spec),
        ));
    }
    Ok(Ct2Input {
        dir: dir.to_path_buf(),
        model,
        tokens,
    })
}

/// One ggml tensor to write: a range of elements of one CTranslate2 variable.
struct Planned<'a> {
    name: String,
    shape: Vec<usize>,
    ttype: TensorType,
    var: &'a Variable,
    elems: Range<usize>,
}

impl Planned<'_> {
    fn bytes(&self) -> u64 {
        let per = match self.ttype {
            TensorType::F32 => 4,
            TensorType::F16 => 2,
        };
        (self.elems.len() * per) as u64
    }
}

struct Planner<'a> {
    m: &'a Ct2Model,
    out: Vec<Planned<'a>>,
}

impl<'a> Planner<'a> {
    fn var(&self, name: &str) -> Result<&'a Variable, String> {
        self.m.require(name)
    }

    /// The whole variable; matrices f16, vectors f32.
    fn whole(&mut self, to: &str, from: &str) -> Result<(), String> {
        let v = self.var(from)?;
        let ttype = if v.shape.len() >= 2 {
            TensorType::F16
        } else {
            TensorType::F32
        };
        self.push(to, v.shape.clone(), ttype, v, 0..v.elements());
        Ok(())
    }

    fn whole_as(
        &mut self,
        to: &str,
        from: &str,
        shape: Vec<usize>,
        t: TensorType,
    ) -> Result<(), String> {
        let v = self.var(from)?;
        if shape.iter().product::<usize>() != v.elements() {
            return Err(format!(
                "{from} has shape {:?}, expected {shape:?}",
                v.shape
            ));
        }
        self.push(to, shape, t, v, 0..v.elements());
        Ok(())
    }

    fn push(
        &mut self,
        name: &str,
        shape: Vec<usize>,
        ttype: TensorType,
        var: &'a Variable,
        elems: Range<usize>,
    ) {
        self.out.push(Planned {
            name: name.to_string(),
            shape,
            ttype,
            var,
            elems,
        });
    }

    /// A linear layer: `prefix/weight` [out, in] and `prefix/bias` [out].
    fn linear(&mut self, to: &str, from: &str, d_in: usize, d_out: usize) -> Result<(), String> {
        let w = self.var(&format!("{from}/weight"))?;
        if w.shape != [d_out, d_in] {
            return Err(format!(
                "{from}/weight has shape {:?}, expected [{d_out}, {d_in}]",
                w.shape
            ));
        }
        self.whole(&format!("{to}.weight"), &format!("{from}/weight"))?;
        self.whole(&format!("{to}.bias"), &format!("{from}/bias"))
    }

    fn layer_norm(&mut self, to: &str, from: &str) -> Result<(), String> {
        self.whole(&format!("{to}.weight"), &format!("{from}/gamma"))?;
        self.whole(&format!("{to}.bias"), &format!("{from}/beta"))
    }

    /// Split a fused projection [k·d, d] into its k parts; `names[i]` gets rows i·d..(i+1)·d.
    /// A part named with `bias = false` (the key) must have a zero bias slice in CTranslate2,
    /// since whisper.cpp has nowhere to put it.
    fn split(&mut self, from: &str, d: usize, parts: &[(&str, bool)]) -> Result<(), String> {
        let k = parts.len();
        let w = self.var(&format!("{from}/weight"))?;
        let b = self.var(&format!("{from}/bias"))?;
        if w.shape != [k * d, d] || b.shape != [k * d] {
            return Err(format!(
                "{from} has weight {:?} and bias {:?}, expected [{}, {d}] and [{}] (fused)",
                w.shape,
                b.shape,
                k * d,
                k * d
            ));
        }
        for (i, &(name, has_bias)) in parts.iter().enumerate() {
            self.push(
                &format!("{name}.weight"),
                vec![d, d],
                TensorType::F16,
                w,
                i * d * d..(i + 1) * d * d,
            );
            if has_bias {
                self.push(
                    &format!("{name}.bias"),
                    vec![d],
                    TensorType::F32,
                    b,
                    i * d..(i + 1) * d,
                );
            } else {
                let slice = self.m.f32_range(b, i * d..(i + 1) * d)?;
                if let Some(x) = slice.iter().find(|x| **x != 0.0) {
                    return Err(format!(
                        "{from}/bias has a non-zero value ({x}) in the {name} part; whisper.cpp has no bias there, so the conversion would be wrong"
                    ));
                }
            }
        }
        Ok(())
    }
}

fn count_layers(m: &Ct2Model, side: &str) -> usize {
    // Not by prefix: `encoder/layer_norm` also starts with `encoder/layer_`.
    (0..)
        .take_while(|i| {
            m.get(&format!("{side}/layer_{i}/self_attention/linear_0/weight"))
                .is_some()
        })
        .count()
}

/// Hyper-parameters and the tensor plan for a parsed model.
fn plan(m: &Ct2Model) -> Result<(WhisperHparams, Vec<Planned<'_>>), String> {
    let enc_pos = m.require("encoder/position_encodings/encodings")?;
    let dec_pos = m.require("decoder/position_encodings/encodings")?;
    let emb = m.require("decoder/embeddings/weight")?;
    let conv1 = m.require("encoder/conv1/weight")?;
    if enc_pos.shape.len() != 2
        || dec_pos.shape.len() != 2
        || emb.shape.len() != 2
        || conv1.shape.len() != 3
    {
        return Err("unexpected ranks for the embeddings or conv1".into());
    }
    let d = enc_pos.shape[1];
    let hp = WhisperHparams {
        n_vocab: emb.shape[0] as i32,
        n_audio_ctx: enc_pos.shape[0] as i32,
        n_audio_state: d as i32,
        n_audio_head: m.int_scalar("encoder/num_heads")? as i32,
        n_audio_layer: count_layers(m, "encoder") as i32,
        n_text_ctx: dec_pos.shape[0] as i32,
        n_text_state: dec_pos.shape[1] as i32,
        n_text_head: m.int_scalar("decoder/num_heads")? as i32,
        n_text_layer: count_layers(m, "decoder") as i32,
        n_mels: conv1.shape[1] as i32,
        ftype: 1,
    };
    if dec_pos.shape[1] != d || emb.shape[1] != d {
        return Err(format!(
            "encoder width {d} differs from decoder width {} / embedding width {}",
            dec_pos.shape[1], emb.shape[1]
        ));
    }
    if hp.n_audio_layer == 0 || hp.n_text_layer == 0 {
        return Err("no encoder or decoder layers found".into());
    }
    if let Some(target) = m.aliases().get("decoder/projection/weight") {
        if target != "decoder/embeddings/weight" {
            return Err(format!(
                "the output projection is an alias of {target}; whisper.cpp ties it to the token embedding"
            ));
        }
    } else if m.get("decoder/projection/weight").is_some() {
        return Err("the output projection is not tied to the token embedding; whisper.cpp cannot represent that".into());
    }

    let mut p = Planner { m, out: Vec::new() };
    p.whole_as(
        "encoder.positional_embedding",
        "encoder/position_encodings/encodings",
        enc_pos.shape.clone(),
        TensorType::F32,
    )?;
    for c in ["conv1", "conv2"] {
        p.whole(
            &format!("encoder.{c}.weight"),
            &format!("encoder/{c}/weight"),
        )?;
        p.whole_as(
            &format!("encoder.{c}.bias"),
            &format!("encoder/{c}/bias"),
            vec![d, 1],
            TensorType::F32,
        )?;
    }
    for i in 0..hp.n_audio_layer {
        let (to, from) = (format!("encoder.blocks.{i}"), format!("encoder/layer_{i}"));
        self_attention(&mut p, &to, &from, d)?;
        ffn(&mut p, &to, &from, d)?;
    }
    p.layer_norm("encoder.ln_post", "encoder/layer_norm")?;

    p.whole_as(
        "decoder.positional_embedding",
        "decoder/position_encodings/encodings",
        dec_pos.shape.clone(),
        TensorType::F32,
    )?;
    p.whole(
        "decoder.token_embedding.weight",
        "decoder/embeddings/weight",
    )?;
    for i in 0..hp.n_text_layer {
        let (to, from) = (format!("decoder.blocks.{i}"), format!("decoder/layer_{i}"));
        self_attention(&mut p, &to, &from, d)?;
        p.linear(
            &format!("{to}.cross_attn.query"),
            &format!("{from}/attention/linear_0"),
            d,
            d,
        )?;
        p.split(
            &format!("{from}/attention/linear_1"),
            d,
            &[
                (&format!("{to}.cross_attn.key"), false),
                (&format!("{to}.cross_attn.value"), true),
            ],
        )?;
        p.linear(
            &format!("{to}.cross_attn.out"),
            &format!("{from}/attention/linear_2"),
            d,
            d,
        )?;
        p.layer_norm(
            &format!("{to}.cross_attn_ln"),
            &format!("{from}/attention/layer_norm"),
        )?;
        ffn(&mut p, &to, &from, d)?;
    }
    p.layer_norm("decoder.ln", "decoder/layer_norm")?;
    Ok((hp, p.out))
}

fn self_attention(p: &mut Planner, to: &str, from: &str, d: usize) -> Result<(), String> {
    p.split(
        &format!("{from}/self_attention/linear_0"),
        d,
        &[
            (&format!("{to}.attn.query"), true),
            (&format!("{to}.attn.key"), false),
            (&format!("{to}.attn.value"), true),
        ],
    )?;
    p.linear(
        &format!("{to}.attn.out"),
        &format!("{from}/self_attention/linear_1"),
        d,
        d,
    )?;
    p.layer_norm(
        &format!("{to}.attn_ln"),
        &format!("{from}/self_attention/layer_norm"),
    )
}

fn ffn(p: &mut Planner, to: &str, from: &str, d: usize) -> Result<(), String> {
    let w = p.var(&format!("{from}/ffn/linear_0/weight"))?;
    let hidden = w.shape.first().copied().unwrap_or(0);
    p.linear(
        &format!("{to}.mlp.0"),
        &format!("{from}/ffn/linear_0"),
        d,
        hidden,
    )?;
    p.linear(
        &format!("{to}.mlp.2"),
        &format!("{from}/ffn/linear_1"),
        hidden,
        d,
    )?;
    p.layer_norm(&format!("{to}.mlp_ln"), &format!("{from}/ffn/layer_norm"))
}

fn write_tensor<W: Write>(w: &mut W, m: &Ct2Model, t: &Planned) -> Result<(), String> {
    write_tensor_header(w, &t.name, &t.shape, t.ttype).map_err(|e| e.to_string())?;
    let io = |e: std::io::Error| e.to_string();
    match (t.ttype, t.var.dtype) {
        (TensorType::F16, DType::F16) => {
            // Already the right width: copy the bytes.
            w.write_all(&m.raw(t.var)[t.elems.start * 2..t.elems.end * 2])
                .map_err(io)?;
        }
        (TensorType::F16, _) => {
            let vals = m.f32_range(t.var, t.elems.clone())?;
            let bytes: Vec<u8> = vals
                .iter()
                .flat_map(|v| f32_to_f16(*v).to_le_bytes())
                .collect();
            w.write_all(&bytes).map_err(io)?;
        }
        (TensorType::F32, _) => {
            let vals = m.f32_range(t.var, t.elems.clone())?;
            let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
            w.write_all(&bytes).map_err(io)?;
        }
    }
    Ok(())
}

/// Write the ggml file for a loaded CTranslate2 model to `out`, atomically.
pub fn convert(
    input: &Ct2Input,
    out: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<Converted, ModelError> {
    let (hp, tensors) = plan(&input.model).map_err(|why| bad(&input.dir, why))?;
    let tokens = vocab::text_tokens_as_bytes(&input.tokens).map_err(|why| bad(&input.dir, why))?;
    if tokens.len() > hp.n_vocab as usize {
        return Err(bad(
            &input.dir,
            format!(
                "the vocabulary has {} text tokens but the model only {} embeddings",
                tokens.len(),
                hp.n_vocab
            ),
        ));
    }
    let filters = mel::mel_filters(hp.n_mels as usize);
    let total: u64 = tensors.iter().map(Planned::bytes).sum();

    let werr = |e: std::io::Error| ModelError::Write {
        path: out.to_path_buf(),
        source: e,
    };
    let mut f = AtomicFile::create(out).map_err(werr)?;
    let mut header = Vec::with_capacity(2 << 20);
    header.extend_from_slice(&GGML_MAGIC.to_le_bytes());
    for v in hp.to_array() {
        write_i32(&mut header, v).map_err(werr)?;
    }
    write_i32(&mut header, hp.n_mels).map_err(werr)?;
    write_i32(&mut header, (mel::N_FFT / 2 + 1) as i32).map_err(werr)?;
    for v in &filters {
        header.extend_from_slice(&v.to_le_bytes());
    }
    write_i32(&mut header, tokens.len() as i32).map_err(werr)?;
    for t in &tokens {
        write_i32(&mut header, t.len() as i32).map_err(werr)?;
        header.extend_from_slice(t);
    }
    f.write_all(&header).map_err(werr)?;

    let mut done = 0u64;
    for t in &tensors {
        write_tensor(&mut f, &input.model, t).map_err(|why| {
            // Either an I/O error on the output or a bad input tensor; name both paths.
            bad(
                &input.dir,
                format!("{why} (while writing {})", out.display()),
            )
        })?;
        done += t.bytes();
        progress(Progress::Step {
            what: "converting Whisper weights",
            done,
            total,
        });
    }
    let (sha256, size) = f.commit().map_err(werr)?;
    Ok(Converted {
        path: out.to_path_buf(),
        sha256,
        size,
        n_tensors: tensors.len(),
    })
}

/// `ringcoach models convert-ct2 DIR OUT`: load and convert.
pub fn convert_ct2_dir(
    dir: &Path,
    out: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<Converted, ModelError> {
    progress(Progress::Stage("reading the CTranslate2 model"));
    let input = load_ct2_dir(dir)?;
    convert(&input, out, progress)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::synthetic;

    fn input(key_bias: f32) -> Ct2Input {
        Ct2Input {
            dir: PathBuf::from("tiny"),
            model: Ct2Model::parse(synthetic::tiny_whisper(key_bias)).unwrap(),
            tokens: synthetic::TINY_TOKENS.map(String::from).to_vec(),
        }
    }

    #[test]
    fn plan_splits_qkv_and_drops_key_bias() {
        let inp = input(0.0);
        let (hp, t) = plan(&inp.model).unwrap();
        assert_eq!(hp.n_audio_layer, 1);
        assert_eq!(hp.n_text_layer, 1);
        assert_eq!(hp.n_vocab, 7);
        assert_eq!(hp.n_mels, 3);
        assert_eq!(t.len(), hp.expected_tensors());
        let find = |n: &str| {
            t.iter()
                .find(|x| x.name == n)
                .unwrap_or_else(|| panic!("{n}"))
        };
        let vals = |n: &str| {
            let p = find(n);
            inp.model.f32_range(p.var, p.elems.clone()).unwrap()
        };
        // linear_0 weight is [6, 2]; Q rows 0-1, K rows 2-3, V rows 4-5.
        let w = vals("encoder.blocks.0.attn.query.weight");
        let base = w[0];
        assert_eq!(w, vec![base, base + 1.0, base + 2.0, base + 3.0]);
        assert_eq!(vals("encoder.blocks.0.attn.key.weight")[0], base + 4.0);
        assert_eq!(vals("encoder.blocks.0.attn.value.weight")[0], base + 8.0);
        assert_eq!(vals("encoder.blocks.0.attn.query.bias"), vec![10.0, 11.0]);
        assert_eq!(vals("encoder.blocks.0.attn.value.bias"), vec![14.0, 15.0]);
        assert!(t.iter().all(|x| !x.name.ends_with("key.bias")));
        assert_eq!(
            vals("decoder.blocks.0.cross_attn.value.bias"),
            vec![22.0, 23.0]
        );
        let cv = vals("decoder.blocks.0.cross_attn.value.weight");
        assert_eq!(
            cv[0],
            vals("decoder.blocks.0.cross_attn.key.weight")[0] + 4.0
        );
        // Types and shapes whisper.cpp checks.
        assert_eq!(find("encoder.conv1.bias").shape, vec![2, 1]);
        assert_eq!(find("encoder.conv1.bias").ttype, TensorType::F32);
        assert_eq!(find("encoder.positional_embedding").ttype, TensorType::F32);
        assert_eq!(find("encoder.conv1.weight").ttype, TensorType::F16);
        assert_eq!(find("decoder.ln.weight").ttype, TensorType::F32);
        assert!(t.iter().all(|x| !x.name.contains("projection")));
    }

    #[test]
    fn nonzero_key_bias_is_refused() {
        let inp = input(0.5);
        let err = plan(&inp.model).err().unwrap();
        assert!(err.contains("non-zero"), "{err}");
    }

    #[test]
    fn converted_file_passes_inspection() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("tiny.bin");
        let c = convert(&input(0.0), &out, &mut |_| {}).unwrap();
        let info = crate::models::ggml::inspect(&out).unwrap();
        assert_eq!(info.n_tensors, c.n_tensors);
        assert_eq!(info.file_size, c.size);
        match info.kind {
            crate::models::ggml::GgmlKind::Whisper { n_text_tokens, .. } => {
                assert_eq!(n_text_tokens, 4)
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(crate::models::atomic::sha256_file(&out).unwrap(), c.sha256);
    }
}
