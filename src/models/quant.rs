//! ggml Whisper file (f16) → the same model with quantised weight matrices, as whisper.cpp's
//! own `quantize` tool writes it: every 2-D `*.weight` tensor (attention, MLP, the token
//! embedding) becomes q8_0, q5_0 or q5_1 blocks of 32 values; conv kernels stay f16,
//! positional embeddings, biases and layer norms stay f32; `ftype` says the weight type plus
//! the quantisation version (2) × 1000. The rounding is ggml's reference code
//! (`quantize_row_*_ref`), so the same input gives the same bytes on every machine and the
//! manifest can pin the result's SHA-256.
//!
//! Why: on a CPU, whisper.cpp multiplies q8_0 weights with int8 dot products and reads half
//! the memory, which is where most of the encoder's and decoder's time goes.

use std::io::Write;
use std::path::Path;

use super::atomic::AtomicFile;
use super::convert::Converted;
use super::ggml::{write_i32, GGML_MAGIC};
use super::half::{f16_to_f32, f32_to_f16};
use super::{ModelError, Progress};

/// ggml's quantisation version, stored in `ftype`'s thousands.
const QNT_VERSION: i32 = 2;
const QK: usize = 32;

/// A quantisation whisper.cpp can load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Quant {
    /// 8 bits per weight and one f16 scale per 32: close to f16, half its size.
    Q8_0,
    /// 5 bits per weight, one scale per 32.
    Q5_0,
    /// 5 bits per weight, a scale and a minimum per 32.
    Q5_1,
}

impl Quant {
    pub fn name(self) -> &'static str {
        match self {
            Quant::Q8_0 => "q8_0",
            Quant::Q5_0 => "q5_0",
            Quant::Q5_1 => "q5_1",
        }
    }

    /// The ggml tensor type.
    pub fn ggml_type(self) -> i32 {
        match self {
            Quant::Q5_0 => 6,
            Quant::Q5_1 => 7,
            Quant::Q8_0 => 8,
        }
    }

    /// The file's `ftype` (ggml's `GGML_FTYPE_MOSTLY_*`, with the quantisation version).
    pub fn ftype(self) -> i32 {
        let mostly = match self {
            Quant::Q8_0 => 7,
            Quant::Q5_0 => 8,
            Quant::Q5_1 => 9,
        };
        mostly + QNT_VERSION * 1000
    }

    fn block_bytes(self) -> usize {
        match self {
            Quant::Q8_0 => 34,
            Quant::Q5_0 => 22,
            Quant::Q5_1 => 24,
        }
    }

    /// Quantises `x` (a multiple of 32 values) into ggml blocks appended to `out`.
    pub fn quantize(self, x: &[f32], out: &mut Vec<u8>) {
        debug_assert_eq!(x.len() % QK, 0);
        out.reserve(x.len() / QK * self.block_bytes());
        for b in x.chunks_exact(QK) {
            match self {
                Quant::Q8_0 => q8_0(b, out),
                Quant::Q5_0 => q5_0(b, out),
                Quant::Q5_1 => q5_1(b, out),
            }
        }
    }
}

impl std::str::FromStr for Quant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "q8_0" => Ok(Quant::Q8_0),
            "q5_0" => Ok(Quant::Q5_0),
            "q5_1" => Ok(Quant::Q5_1),
            _ => Err(format!(
                "unknown quantisation {s:?}: use q8_0, q5_0 or q5_1"
            )),
        }
    }
}

/// C's `roundf`: halves away from zero (so is Rust's `round`).
fn q8_0(x: &[f32], out: &mut Vec<u8>) {
    let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    out.extend_from_slice(&f32_to_f16(d).to_le_bytes());
    out.extend(x.iter().map(|v| ((v * id).round() as i8) as u8));
}

fn q5_0(x: &[f32], out: &mut Vec<u8>) {
    // The value of largest magnitude, with its sign.
    let (mut amax, mut max) = (0.0f32, 0.0f32);
    for &v in x {
        if amax < v.abs() {
            amax = v.abs();
            max = v;
        }
    }
    let d = max / -16.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let q = |v: f32| -> u8 { ((v * id + 16.5) as i8).min(31) as u8 };
    pack5(x, f32_to_f16(d), None, q, out);
}

fn q5_1(x: &[f32], out: &mut Vec<u8>) {
    let min = x.iter().copied().fold(f32::MAX, f32::min);
    let max = x.iter().copied().fold(-f32::MAX, f32::max);
    let d = (max - min) / 31.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let q = |v: f32| -> u8 { ((v - min) * id + 0.5) as u8 };
    pack5(x, f32_to_f16(d), Some(f32_to_f16(min)), q, out);
}

/// A 5-bit block: scale (and minimum), the fifth bits of all 32 values, then the low four
/// bits of value j and j+16 in one byte.
fn pack5(x: &[f32], d: u16, m: Option<u16>, q: impl Fn(f32) -> u8, out: &mut Vec<u8>) {
    out.extend_from_slice(&d.to_le_bytes());
    if let Some(m) = m {
        out.extend_from_slice(&m.to_le_bytes());
    }
    let mut qh = 0u32;
    let mut qs = [0u8; QK / 2];
    for j in 0..QK / 2 {
        let (a, b) = (q(x[j]), q(x[j + QK / 2]));
        qs[j] = (a & 0x0F) | ((b & 0x0F) << 4);
        qh |= u32::from((a & 0x10) >> 4) << j;
        qh |= u32::from((b & 0x10) >> 4) << (j + QK / 2);
    }
    out.extend_from_slice(&qh.to_le_bytes());
    out.extend_from_slice(&qs);
}

/// Reads `len` bytes at `*pos`, or says where the file ended.
fn take<'a>(data: &'a [u8], pos: &mut usize, len: usize, what: &str) -> Result<&'a [u8], String> {
    let end = pos
        .checked_add(len)
        .filter(|&e| e <= data.len())
        .ok_or_else(|| format!("the file ends inside {what}"))?;
    let s = &data[*pos..end];
    *pos = end;
    Ok(s)
}

fn i32_at(data: &[u8], pos: &mut usize, what: &str) -> Result<i32, String> {
    let b = take(data, pos, 4, what)?;
    Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Whether whisper.cpp makes this tensor with the model's weight type (else it stays).
fn quantised_in_whisper(name: &str, dims: &[i32]) -> bool {
    dims.len() == 2 && name.ends_with(".weight")
}

/// Writes `out`: the f16 Whisper model `input` with its weight matrices quantised.
pub fn quantize_file(
    input: &Path,
    out: &Path,
    quant: Quant,
    progress: &mut dyn FnMut(Progress),
) -> Result<Converted, ModelError> {
    let bad = |why: String| ModelError::BadInput {
        path: input.to_path_buf(),
        why,
    };
    let data = std::fs::read(input).map_err(|e| ModelError::Io {
        path: input.to_path_buf(),
        source: e,
        fix: "check the path".into(),
    })?;
    let werr = |e: std::io::Error| ModelError::Write {
        path: out.to_path_buf(),
        source: e,
    };
    let mut pos = 0usize;
    let mut f = AtomicFile::create(out).map_err(werr)?;
    let magic = i32_at(&data, &mut pos, "the magic").map_err(bad)?;
    if magic as u32 != GGML_MAGIC {
        return Err(bad("not a ggml file (wrong magic)".into()));
    }
    let mut hp = [0i32; 11];
    for v in &mut hp {
        *v = i32_at(&data, &mut pos, "the hyper-parameters").map_err(bad)?;
    }
    if hp[10] != 1 {
        return Err(bad(format!(
            "its weights are not f16 (ftype {}): quantise the f16 model",
            hp[10]
        )));
    }
    hp[10] = quant.ftype();
    let mut header = Vec::with_capacity(2 << 20);
    header.extend_from_slice(&GGML_MAGIC.to_le_bytes());
    for v in hp {
        write_i32(&mut header, v).map_err(werr)?;
    }
    // Mel filters and vocabulary, copied as they are.
    let start = pos;
    let n_mel = i32_at(&data, &mut pos, "the mel filters").map_err(bad)?;
    let n_fft = i32_at(&data, &mut pos, "the mel filters").map_err(bad)?;
    let filters = usize::try_from(n_mel)
        .ok()
        .zip(usize::try_from(n_fft).ok())
        .map(|(a, b)| a * b * 4)
        .ok_or_else(|| bad("negative mel filter size".into()))?;
    take(&data, &mut pos, filters, "the mel filters").map_err(bad)?;
    let n_vocab = i32_at(&data, &mut pos, "the vocabulary").map_err(bad)?;
    for _ in 0..n_vocab.max(0) {
        let len = i32_at(&data, &mut pos, "the vocabulary").map_err(bad)?;
        let len = usize::try_from(len).map_err(|_| bad("negative token length".into()))?;
        take(&data, &mut pos, len, "the vocabulary").map_err(bad)?;
    }
    header.extend_from_slice(&data[start..pos]);
    f.write_all(&header).map_err(werr)?;

    let mut n_tensors = 0;
    let mut block = Vec::new();
    let mut values = Vec::new();
    while pos < data.len() {
        let n_dims = i32_at(&data, &mut pos, "a tensor header").map_err(bad)?;
        let name_len = i32_at(&data, &mut pos, "a tensor header").map_err(bad)?;
        let ttype = i32_at(&data, &mut pos, "a tensor header").map_err(bad)?;
        if !(1..=4).contains(&n_dims) || !(0..=4096).contains(&name_len) {
            return Err(bad("a tensor header is damaged".into()));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            dims.push(i32_at(&data, &mut pos, "a tensor header").map_err(bad)?);
        }
        let name = take(&data, &mut pos, name_len as usize, "a tensor name").map_err(bad)?;
        let name = String::from_utf8_lossy(name).into_owned();
        let n: usize = dims
            .iter()
            .map(|&d| usize::try_from(d).ok())
            .product::<Option<usize>>()
            .ok_or_else(|| bad(format!("{name} has a negative dimension")))?;
        let width = match ttype {
            0 => 4,
            1 => 2,
            t => {
                return Err(bad(format!(
                    "{name} has type {t}; only f32/f16 tensors are expected"
                )))
            }
        };
        let raw = take(&data, &mut pos, n * width, &name).map_err(bad)?;
        let quantise = ttype == 1
            && quantised_in_whisper(&name, &dims)
            && (dims[0] as usize).is_multiple_of(QK);
        block.clear();
        write_i32(&mut block, n_dims).map_err(werr)?;
        write_i32(&mut block, name_len).map_err(werr)?;
        write_i32(&mut block, if quantise { quant.ggml_type() } else { ttype }).map_err(werr)?;
        for &d in &dims {
            write_i32(&mut block, d).map_err(werr)?;
        }
        block.extend_from_slice(name.as_bytes());
        if quantise {
            values.clear();
            values.extend(
                raw.chunks_exact(2)
                    .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]]))),
            );
            quant.quantize(&values, &mut block);
        } else if ttype == 1 && quantised_in_whisper(&name, &dims) {
            return Err(bad(format!(
                "{name}'s rows ({}) are not a multiple of {QK}: it cannot be quantised",
                dims[0]
            )));
        } else {
            block.extend_from_slice(raw);
        }
        f.write_all(&block).map_err(werr)?;
        n_tensors += 1;
        progress(Progress::Step {
            what: "quantising Whisper weights",
            done: pos as u64,
            total: data.len() as u64,
        });
    }
    let (sha256, size) = f.commit().map_err(werr)?;
    Ok(Converted {
        path: out.to_path_buf(),
        sha256,
        size,
        n_tensors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dequant_q8_0(b: &[u8]) -> Vec<f32> {
        let d = f16_to_f32(u16::from_le_bytes([b[0], b[1]]));
        b[2..34].iter().map(|&q| q as i8 as f32 * d).collect()
    }

    fn dequant_q5(b: &[u8], with_min: bool) -> Vec<f32> {
        let d = f16_to_f32(u16::from_le_bytes([b[0], b[1]]));
        let (m, off) = if with_min {
            (f16_to_f32(u16::from_le_bytes([b[2], b[3]])), 4)
        } else {
            (0.0, 2)
        };
        let qh = u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]]);
        let qs = &b[off + 4..off + 20];
        let mut out = vec![0.0; QK];
        for j in 0..QK / 2 {
            let h0 = ((qh >> j) & 1) << 4;
            let h1 = ((qh >> (j + 16)) & 1) << 4;
            let x0 = (u32::from(qs[j] & 0x0F) | h0) as i32;
            let x1 = (u32::from(qs[j] >> 4) | h1) as i32;
            if with_min {
                out[j] = x0 as f32 * d + m;
                out[j + 16] = x1 as f32 * d + m;
            } else {
                out[j] = (x0 - 16) as f32 * d;
                out[j + 16] = (x1 - 16) as f32 * d;
            }
        }
        out
    }

    fn sample() -> Vec<f32> {
        (0..QK * 4)
            .map(|i| ((i as f32 * 0.37).sin() * 0.08) + if i % 7 == 0 { -0.11 } else { 0.0 })
            .collect()
    }

    #[test]
    fn blocks_have_ggml_sizes_and_round_trip_within_their_step() {
        let x = sample();
        for (q, step) in [
            (Quant::Q8_0, 0.19 / 127.0),
            (Quant::Q5_0, 0.19 / 16.0),
            (Quant::Q5_1, 0.3 / 31.0),
        ] {
            let mut out = Vec::new();
            q.quantize(&x, &mut out);
            assert_eq!(out.len(), x.len() / QK * q.block_bytes(), "{q:?}");
            let back: Vec<f32> = out
                .chunks_exact(q.block_bytes())
                .flat_map(|b| match q {
                    Quant::Q8_0 => dequant_q8_0(b),
                    Quant::Q5_0 => dequant_q5(b, false),
                    Quant::Q5_1 => dequant_q5(b, true),
                })
                .collect();
            for (a, b) in x.iter().zip(&back) {
                assert!((a - b).abs() <= step, "{q:?}: {a} → {b}");
            }
        }
    }

    #[test]
    fn a_known_block_quantises_to_ggmls_bytes() {
        // By hand from quantize_row_q8_0_ref: amax 63.5 → d = 0.5, q = round(x / d).
        let mut x = vec![0.0f32; QK];
        x[0] = 63.5;
        x[1] = -31.75;
        x[2] = 0.25;
        let mut out = Vec::new();
        Quant::Q8_0.quantize(&x, &mut out);
        assert_eq!(u16::from_le_bytes([out[0], out[1]]), f32_to_f16(0.5));
        assert_eq!(out[2] as i8, 127);
        assert_eq!(out[3] as i8, -64, "-63.5 rounds away from zero");
        assert_eq!(out[4] as i8, 1, "0.5 rounds away from zero");
        // An all-zero block has scale 0 and zero weights, not NaN.
        let mut z = Vec::new();
        Quant::Q8_0.quantize(&[0.0; QK], &mut z);
        assert!(z.iter().all(|&b| b == 0));
        let mut z = Vec::new();
        Quant::Q5_0.quantize(&[0.0; QK], &mut z);
        assert_eq!(dequant_q5(&z, false), vec![0.0; QK]);
    }

    /// A minimal ggml Whisper-shaped file: header, one mel filter, one token, and four
    /// tensors — a matrix to quantise, a conv kernel, a positional embedding and a bias.
    fn tiny_file(ftype: i32, rows: i32) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&GGML_MAGIC.to_le_bytes());
        for v in [51865, 1500, 512, 8, 6, 448, 512, 8, 6, 80, ftype] {
            write_i32(&mut f, v).unwrap();
        }
        for v in [1, 1] {
            write_i32(&mut f, v).unwrap();
        }
        f.extend_from_slice(&0.5f32.to_le_bytes());
        write_i32(&mut f, 1).unwrap();
        write_i32(&mut f, 2).unwrap();
        f.extend_from_slice(b"hi");
        let mut tensor = |name: &str, ttype: i32, dims: &[i32]| {
            write_i32(&mut f, dims.len() as i32).unwrap();
            write_i32(&mut f, name.len() as i32).unwrap();
            write_i32(&mut f, ttype).unwrap();
            for &d in dims {
                write_i32(&mut f, d).unwrap();
            }
            f.extend_from_slice(name.as_bytes());
            let n: i32 = dims.iter().product();
            for i in 0..n {
                let v = (i as f32 * 0.01).sin();
                if ttype == 1 {
                    f.extend_from_slice(&f32_to_f16(v).to_le_bytes());
                } else {
                    f.extend_from_slice(&v.to_le_bytes());
                }
            }
        };
        tensor("decoder.token_embedding.weight", 1, &[rows, 3]);
        tensor("encoder.conv1.weight", 1, &[3, 4, 2]);
        tensor("encoder.positional_embedding", 0, &[rows, 2]);
        tensor("encoder.blocks.0.mlp.0.bias", 0, &[rows]);
        f
    }

    #[test]
    fn a_file_keeps_its_header_and_small_tensors_and_quantises_its_matrices() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("f16.bin");
        let data = tiny_file(1, 64);
        std::fs::write(&input, &data).unwrap();
        let out = dir.path().join("q8.bin");
        let c = quantize_file(&input, &out, Quant::Q8_0, &mut |_| {}).unwrap();
        assert_eq!(c.n_tensors, 4);
        let q = std::fs::read(&out).unwrap();
        assert_eq!(c.size, q.len() as u64);
        // ftype is the 11th hyper-parameter: q8_0 with the quantisation version.
        assert_eq!(i32::from_le_bytes(q[44..48].try_into().unwrap()), 2007);
        assert_eq!(&q[..44], &data[..44]);
        // The matrix shrinks from 2 bytes a value to 34 bytes per 32; the rest is copied.
        let matrix_f16 = 64 * 3 * 2;
        let matrix_q8 = 64 * 3 / 32 * 34;
        assert_eq!(q.len(), data.len() - matrix_f16 + matrix_q8);
        assert_eq!(&q[q.len() - 200..], &data[data.len() - 200..]);
        // Deterministic: the same input gives the same bytes.
        let again = dir.path().join("again.bin");
        let c2 = quantize_file(&input, &again, Quant::Q8_0, &mut |_| {}).unwrap();
        assert_eq!(c.sha256, c2.sha256);
    }

    #[test]
    fn what_cannot_be_quantised_is_refused_and_nothing_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("q.bin");
        for (data, why) in [
            (tiny_file(2007, 64), "not f16"),
            (tiny_file(1, 40), "multiple of 32"),
            (GGML_MAGIC.to_le_bytes().to_vec(), "the file ends"),
            (vec![0u8; 64], "magic"),
        ] {
            let input = dir.path().join("in.bin");
            std::fs::write(&input, &data).unwrap();
            let err = quantize_file(&input, &out, Quant::Q8_0, &mut |_| {})
                .unwrap_err()
                .to_string();
            assert!(err.contains(why), "{why}: {err}");
        }
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "in.bin")
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn names_and_ftypes_are_whisper_cpps() {
        assert_eq!("q8_0".parse(), Ok(Quant::Q8_0));
        assert!("q4_k".parse::<Quant>().is_err());
        assert_eq!(Quant::Q8_0.ftype(), 2007);
        assert_eq!(Quant::Q5_0.ftype(), 2008);
        assert_eq!(Quant::Q5_1.ggml_type(), 7);
        assert!(quantised_in_whisper(
            "decoder.token_embedding.weight",
            &[512, 51865]
        ));
        assert!(!quantised_in_whisper("encoder.conv1.weight", &[3, 80, 512]));
        assert!(!quantised_in_whisper(
            "encoder.positional_embedding",
            &[512, 1500]
        ));
        assert!(!quantised_in_whisper("encoder.ln_post.weight", &[512]));
    }
}
