//! whisper.cpp's legacy ggml file format, both directions: the writing primitives the
//! converters use, and a cheap inspection that checks a file (magic, hyper-parameters, every
//! tensor header and that every tensor's bytes are present) without loading any weights.
//!
//! Layout (all little-endian i32 unless noted): magic `0x67676d6c`; for Whisper 11
//! hyper-parameters, the mel filter bank (n_mel, n_fft, f32 × n_mel·n_fft), the vocabulary
//! (count, then length + bytes per token); for Silero VAD a type string, version and layer
//! sizes. Then tensors: n_dims, name length, type, dims (innermost first — the reverse of
//! numpy's order), name, raw data.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, Write};
use std::path::Path;

use super::ModelError;

pub const GGML_MAGIC: u32 = 0x6767_6d6c;

/// The two tensor types the converters write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorType {
    F32 = 0,
    F16 = 1,
}

pub fn write_i32<W: Write>(w: &mut W, v: i32) -> io::Result<()> {
    w.write_all(&v.to_le_bytes())
}

/// ggml's dimension order for a numpy-ordered shape: reversed.
pub fn ggml_dims(shape: &[usize]) -> Vec<i32> {
    shape.iter().rev().map(|&d| d as i32).collect()
}

/// A tensor header; `shape` is in numpy order (outermost first) and is written reversed.
pub fn write_tensor_header<W: Write>(
    w: &mut W,
    name: &str,
    shape: &[usize],
    ttype: TensorType,
) -> io::Result<()> {
    write_i32(w, shape.len() as i32)?;
    write_i32(w, name.len() as i32)?;
    write_i32(w, ttype as i32)?;
    for d in ggml_dims(shape) {
        write_i32(w, d)?;
    }
    w.write_all(name.as_bytes())
}

/// Bytes per block and elements per block of a ggml tensor type, for the types whisper.cpp
/// models are published in (f32, f16, bf16 and the quantisations).
fn type_layout(t: i32) -> Option<(u64, u64)> {
    Some(match t {
        0 => (4, 1),
        1 => (2, 1),
        2 => (18, 32),
        3 => (20, 32),
        6 => (22, 32),
        7 => (24, 32),
        8 => (34, 32),
        9 => (36, 32),
        10 => (84, 256),
        11 => (110, 256),
        12 => (144, 256),
        13 => (176, 256),
        14 => (210, 256),
        15 => (292, 256),
        30 => (2, 1),
        _ => return None,
    })
}

/// Whisper's hyper-parameters, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct WhisperHparams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
    pub ftype: i32,
}

impl WhisperHparams {
    pub fn to_array(&self) -> [i32; 11] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
            self.ftype,
        ]
    }

    fn from_array(a: [i32; 11]) -> Self {
        WhisperHparams {
            n_vocab: a[0],
            n_audio_ctx: a[1],
            n_audio_state: a[2],
            n_audio_head: a[3],
            n_audio_layer: a[4],
            n_text_ctx: a[5],
            n_text_state: a[6],
            n_text_head: a[7],
            n_text_layer: a[8],
            n_mels: a[9],
            ftype: a[10],
        }
    }

    /// whisper.cpp's own name for the size, from the encoder depth.
    pub fn size_name(&self) -> &'static str {
        match self.n_audio_layer {
            4 => "tiny",
            6 => "base",
            12 => "small",
            24 => "medium",
            32 => "large",
            _ => "unknown size",
        }
    }

    /// Multilingual models have 51865+ tokens; English-only ones 51864.
    pub fn multilingual(&self) -> bool {
        self.n_vocab >= 51865
    }

    /// How many tensors whisper.cpp expects for these dimensions.
    pub fn expected_tensors(&self) -> usize {
        11 + 15 * self.n_audio_layer as usize + 24 * self.n_text_layer as usize
    }

    fn implausible(&self) -> Option<String> {
        let h = self;
        let in_range = |v: i32, lo: i32, hi: i32| (lo..=hi).contains(&v);
        if !in_range(h.n_vocab, 1, 1_000_000) {
            return Some(format!("n_vocab {} is implausible", h.n_vocab));
        }
        for (name, v, hi) in [
            ("n_audio_ctx", h.n_audio_ctx, 100_000),
            ("n_audio_state", h.n_audio_state, 100_000),
            ("n_text_ctx", h.n_text_ctx, 100_000),
            ("n_text_state", h.n_text_state, 100_000),
            ("n_audio_layer", h.n_audio_layer, 256),
            ("n_text_layer", h.n_text_layer, 256),
            ("n_audio_head", h.n_audio_head, 1024),
            ("n_text_head", h.n_text_head, 1024),
            ("n_mels", h.n_mels, 1024),
        ] {
            if !in_range(v, 1, hi) {
                return Some(format!("{name} {v} is implausible"));
            }
        }
        if h.n_audio_state != h.n_text_state {
            return Some(format!(
                "n_audio_state {} differs from n_text_state {}",
                h.n_audio_state, h.n_text_state
            ));
        }
        if h.n_audio_state % h.n_audio_head != 0 || h.n_text_state % h.n_text_head != 0 {
            return Some("the state size is not a multiple of the head count".into());
        }
        // ftype % 1000 is the weight type (0 f32, 1 f16, 2+ quantised); the thousands are the
        // quantisation version.
        if !(0..=40).contains(&(h.ftype % 1000)) || h.ftype < 0 {
            return Some(format!("ftype {} is unknown", h.ftype));
        }
        None
    }
}

/// What a ggml file turned out to be.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum GgmlKind {
    Whisper {
        hparams: WhisperHparams,
        /// Tokens stored in the file (whisper.cpp adds the special ones).
        n_text_tokens: usize,
    },
    SileroVad {
        model_type: String,
        version: String,
    },
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GgmlInfo {
    pub kind: GgmlKind,
    pub n_tensors: usize,
    pub file_size: u64,
    /// False when a tensor type this checker does not know stopped the walk early (the
    /// headers before it were still checked).
    pub all_tensors_checked: bool,
}

impl GgmlInfo {
    /// One line for people: "Whisper base (multilingual), f16, 245 tensors, 148.0 MB".
    pub fn describe(&self) -> String {
        let mb = self.file_size as f64 / 1e6;
        match &self.kind {
            GgmlKind::Whisper { hparams, .. } => format!(
                "Whisper {} ({}), {}, {} tensors, {mb:.1} MB",
                hparams.size_name(),
                if hparams.multilingual() {
                    "multilingual"
                } else {
                    "English-only"
                },
                match hparams.ftype % 1000 {
                    0 => "f32",
                    1 => "f16",
                    7 => "q8_0",
                    8 => "q5_0",
                    9 => "q5_1",
                    _ => "quantised",
                },
                self.n_tensors
            ),
            GgmlKind::SileroVad {
                model_type,
                version,
            } => format!(
                "Silero VAD {model_type} v{version}, {} tensors, {mb:.1} MB",
                self.n_tensors
            ),
        }
    }
}

/// Why a file failed inspection; mod.rs turns this into a [`ModelError`] with the fix.
#[derive(Debug)]
pub enum Problem {
    Missing,
    Io(io::Error),
    NotGgml(String),
    Truncated(String),
    Corrupt(String),
}

struct Reader {
    r: BufReader<File>,
    pos: u64,
    size: u64,
}

impl Reader {
    fn i32(&mut self, what: &str) -> Result<i32, Problem> {
        let mut b = [0u8; 4];
        self.bytes(&mut b, what)?;
        Ok(i32::from_le_bytes(b))
    }
    fn bytes(&mut self, buf: &mut [u8], what: &str) -> Result<(), Problem> {
        if self.pos + buf.len() as u64 > self.size {
            return Err(Problem::Truncated(format!(
                "it ends at {} bytes, inside {what}",
                self.size
            )));
        }
        self.r.read_exact(buf).map_err(Problem::Io)?;
        self.pos += buf.len() as u64;
        Ok(())
    }
    fn skip(&mut self, n: u64, what: &str) -> Result<(), Problem> {
        if self.pos + n > self.size {
            return Err(Problem::Truncated(format!(
                "it ends at {:.1} MB, inside {what}, which needs {:.1} MB",
                self.size as f64 / 1e6,
                (self.pos + n) as f64 / 1e6
            )));
        }
        self.r.seek_relative(n as i64).map_err(Problem::Io)?;
        self.pos += n;
        Ok(())
    }
}

/// Inspect a ggml file without loading its weights.
pub fn inspect(path: &Path) -> Result<GgmlInfo, Problem> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Problem::Missing),
        Err(e) => return Err(Problem::Io(e)),
    };
    let meta = file.metadata().map_err(Problem::Io)?;
    if meta.is_dir() {
        return Err(Problem::NotGgml("it is a directory".into()));
    }
    let mut rd = Reader {
        r: BufReader::with_capacity(1 << 16, file),
        pos: 0,
        size: meta.len(),
    };
    if rd.size == 0 {
        return Err(Problem::Truncated("it is empty (0 bytes)".into()));
    }
    let mut magic = [0u8; 4];
    if rd.size < 4 {
        return Err(Problem::Truncated(format!("it has only {} bytes", rd.size)));
    }
    rd.bytes(&mut magic, "the magic")?;
    if u32::from_le_bytes(magic) != GGML_MAGIC {
        let why = match &magic {
            b"GGUF" => "it is a GGUF file; whisper.cpp needs a legacy ggml .bin".to_string(),
            b"PK\x03\x04" => "it is a zip archive (a wheel?), not a converted model".to_string(),
            _ if magic[..].iter().all(|b| b.is_ascii_graphic() || *b == b' ') => format!(
                "it starts with {:?} instead of the ggml magic",
                String::from_utf8_lossy(&magic)
            ),
            _ => format!(
                "it starts with bytes {:02x} {:02x} {:02x} {:02x} instead of the ggml magic 6c 6d 67 67",
                magic[0], magic[1], magic[2], magic[3]
            ),
        };
        return Err(Problem::NotGgml(why));
    }
    let first = rd.i32("the header")?;
    // Both headers start with a small i32 (Whisper: n_vocab; Silero: the length of its type
    // string), so look at what follows: Silero's type string starts with "silero".
    let mut peek = [0u8; 6];
    let is_vad =
        (1..64).contains(&first) && rd.bytes(&mut peek, "the header").is_ok() && &peek == b"silero";
    rd.r.seek(io::SeekFrom::Start(8)).map_err(Problem::Io)?;
    rd.pos = 8;
    let (kind, expected) = if is_vad {
        read_vad_header(&mut rd, first)?
    } else {
        read_whisper_header(&mut rd, first)?
    };
    let (n_tensors, all_checked) = walk_tensors(&mut rd)?;
    if all_checked && n_tensors < expected {
        return Err(Problem::Truncated(format!(
            "it holds {n_tensors} of the {expected} tensors expected ({:.1} MB)",
            rd.size as f64 / 1e6
        )));
    }
    if n_tensors > expected {
        return Err(Problem::Corrupt(format!(
            "it holds {n_tensors} tensors where {expected} are expected"
        )));
    }
    Ok(GgmlInfo {
        kind,
        n_tensors,
        file_size: rd.size,
        all_tensors_checked: all_checked,
    })
}

fn read_whisper_header(rd: &mut Reader, n_vocab: i32) -> Result<(GgmlKind, usize), Problem> {
    let mut a = [0i32; 11];
    a[0] = n_vocab;
    for v in a.iter_mut().skip(1) {
        *v = rd.i32("the hyper-parameters")?;
    }
    let hparams = WhisperHparams::from_array(a);
    if let Some(why) = hparams.implausible() {
        return Err(Problem::Corrupt(format!("bad hyper-parameters: {why}")));
    }
    let n_mel = rd.i32("the mel filter header")?;
    let n_fft = rd.i32("the mel filter header")?;
    if n_mel != hparams.n_mels || !(1..=4096).contains(&n_fft) {
        return Err(Problem::Corrupt(format!(
            "mel filters are {n_mel}×{n_fft} for a model with {} mels",
            hparams.n_mels
        )));
    }
    rd.skip(4 * n_mel as u64 * n_fft as u64, "the mel filters")?;
    let n_tokens = rd.i32("the vocabulary size")?;
    if !(0..=hparams.n_vocab).contains(&n_tokens) {
        return Err(Problem::Corrupt(format!(
            "the vocabulary has {n_tokens} tokens for n_vocab {}",
            hparams.n_vocab
        )));
    }
    for i in 0..n_tokens {
        let len = rd.i32("the vocabulary")?;
        if !(0..=1024).contains(&len) {
            return Err(Problem::Corrupt(format!("token {i} has length {len}")));
        }
        rd.skip(len as u64, "the vocabulary")?;
    }
    Ok((
        GgmlKind::Whisper {
            hparams,
            n_text_tokens: n_tokens as usize,
        },
        hparams.expected_tensors(),
    ))
}

fn read_vad_header(rd: &mut Reader, type_len: i32) -> Result<(GgmlKind, usize), Problem> {
    let mut t = vec![0u8; type_len as usize];
    rd.bytes(&mut t, "the model type")?;
    let model_type = String::from_utf8(t)
        .ok()
        .filter(|s| s.starts_with("silero"))
        .ok_or_else(|| Problem::Corrupt("the header is neither Whisper's nor Silero's".into()))?;
    let version = [
        rd.i32("the version")?,
        rd.i32("the version")?,
        rd.i32("the version")?,
    ];
    let _window = rd.i32("the window size")?;
    let _context = rd.i32("the context size")?;
    let layers = rd.i32("the layer count")?;
    if !(1..=16).contains(&layers) {
        return Err(Problem::Corrupt(format!("{layers} encoder layers")));
    }
    for _ in 0..layers * 3 + 4 {
        rd.i32("the layer sizes")?;
    }
    Ok((
        GgmlKind::SileroVad {
            model_type,
            version: format!("{}.{}.{}", version[0], version[1], version[2]),
        },
        // STFT basis, a weight and a bias per encoder layer, 4 LSTM, 2 final.
        1 + 2 * layers as usize + 4 + 2,
    ))
}

/// Walk tensor headers to the end; returns (count, whether every type was known).
fn walk_tensors(rd: &mut Reader) -> Result<(usize, bool), Problem> {
    let mut n = 0;
    while rd.pos < rd.size {
        let n_dims = rd.i32("a tensor header")?;
        let name_len = rd.i32("a tensor header")?;
        let ttype = rd.i32("a tensor header")?;
        if !(0..=4).contains(&n_dims) || !(1..=512).contains(&name_len) {
            return Err(Problem::Corrupt(format!(
                "tensor {n} has a bad header (n_dims {n_dims}, name length {name_len})"
            )));
        }
        let mut elements: u64 = 1;
        let mut ne0 = 0;
        for i in 0..n_dims {
            let d = rd.i32("a tensor shape")?;
            if d <= 0 {
                return Err(Problem::Corrupt(format!("tensor {n} has dimension {d}")));
            }
            if i == 0 {
                ne0 = d as u64;
            }
            elements *= d as u64;
        }
        let mut name = vec![0u8; name_len as usize];
        rd.bytes(&mut name, "a tensor name")?;
        let name = String::from_utf8_lossy(&name).into_owned();
        let Some((block_bytes, block)) = type_layout(ttype) else {
            return Ok((n + 1, false));
        };
        if ne0 % block != 0 {
            return Err(Problem::Corrupt(format!(
                "tensor '{name}' has a row of {ne0}, not a multiple of its block size {block}"
            )));
        }
        rd.skip(elements / block * block_bytes, &format!("tensor '{name}'"))?;
        n += 1;
    }
    Ok((n, true))
}

/// Map an inspection problem to the user-facing error, naming the fix.
pub fn to_error(path: &Path, p: Problem, fix: &str) -> ModelError {
    let path = path.to_path_buf();
    let fix = fix.to_string();
    match p {
        Problem::Missing => ModelError::Missing { path, fix },
        Problem::Io(source) => ModelError::Io { path, source, fix },
        Problem::NotGgml(why) => ModelError::NotGgml { path, why, fix },
        Problem::Truncated(detail) => ModelError::Truncated { path, detail, fix },
        Problem::Corrupt(why) => ModelError::Corrupt { path, why, fix },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dims_are_reversed() {
        assert_eq!(ggml_dims(&[1536, 512]), vec![512, 1536]);
        assert_eq!(ggml_dims(&[512, 80, 3]), vec![3, 80, 512]);
        assert_eq!(ggml_dims(&[512, 1]), vec![1, 512]);
        assert_eq!(ggml_dims(&[7]), vec![7]);
    }

    #[test]
    fn header_bytes() {
        let mut out = Vec::new();
        write_tensor_header(&mut out, "ab", &[3, 2], TensorType::F16).unwrap();
        let ints: Vec<i32> = out[..20]
            .chunks(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(ints, vec![2, 2, 1, 2, 3]);
        assert_eq!(&out[20..], b"ab");
    }
}
