//! Reading CTranslate2's `model.bin` (binary format version 6, as written by
//! `ctranslate2/specs/model_spec.py`): a header (version, spec name, spec revision), the
//! variables (name, shape, dtype, raw little-endian bytes) and aliases (name → name).
//! Pure: bytes in, typed variables out; the caller owns files and error context.

use std::collections::BTreeMap;
use std::ops::Range;

use super::half::{bf16_to_f32, f16_to_f32};

/// The only binary version this reader understands.
pub const BINARY_VERSION: u32 = 6;

/// CTranslate2's dtype ids, in the order of its `_dtype_to_type_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    BF16,
}

impl DType {
    fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0 => DType::F32,
            1 => DType::I8,
            2 => DType::I16,
            3 => DType::I32,
            4 => DType::F16,
            5 => DType::BF16,
            _ => return None,
        })
    }

    pub fn size(self) -> usize {
        match self {
            DType::I8 => 1,
            DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::F32 | DType::I32 => 4,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
        }
    }
}

/// One variable: where its bytes are in the model buffer.
#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    /// Outermost dimension first, as in numpy.
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub bytes: Range<usize>,
}

impl Variable {
    pub fn elements(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A parsed `model.bin`; keeps the whole file in memory (≈145 MB for base) and hands out
/// slices of it.
pub struct Ct2Model {
    pub spec: String,
    pub revision: u32,
    data: Vec<u8>,
    variables: BTreeMap<String, Variable>,
    aliases: BTreeMap<String, String>,
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(format!(
                "the file ends at byte {} while reading {what} ({n} more bytes needed at {}): it is truncated",
                self.buf.len(),
                self.pos
            )),
        }
    }
    fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, String> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// u16 length including a trailing NUL, the bytes, the NUL.
    fn string(&mut self, what: &str) -> Result<String, String> {
        let n = self.u16(what)? as usize;
        if n == 0 {
            return Err(format!("{what} has length 0 (it must include its NUL)"));
        }
        let b = self.take(n, what)?;
        if b[n - 1] != 0 {
            return Err(format!("{what} is not NUL-terminated"));
        }
        String::from_utf8(b[..n - 1].to_vec()).map_err(|_| format!("{what} is not UTF-8"))
    }
}

impl Ct2Model {
    /// Parse a complete `model.bin`. Errors are one sentence saying what is wrong.
    pub fn parse(data: Vec<u8>) -> Result<Self, String> {
        let mut c = Cursor { buf: &data, pos: 0 };
        let version = c.u32("the binary version")?;
        if version != BINARY_VERSION {
            return Err(format!(
                "CTranslate2 binary version {version} is not supported (only {BINARY_VERSION}): re-export the model with a current CTranslate2"
            ));
        }
        let spec = c.string("the spec name")?;
        let revision = c.u32("the spec revision")?;
        let n = c.u32("the variable count")?;
        let mut variables = BTreeMap::new();
        for i in 0..n {
            let name = c.string(&format!("the name of variable {i}"))?;
            let rank = c.u8(&format!("the rank of {name}"))?;
            let mut shape = Vec::with_capacity(rank as usize);
            for _ in 0..rank {
                shape.push(c.u32(&format!("the shape of {name}"))? as usize);
            }
            let id = c.u8(&format!("the dtype of {name}"))?;
            let dtype =
                DType::from_id(id).ok_or_else(|| format!("{name} has unknown dtype id {id}"))?;
            let nbytes = c.u32(&format!("the size of {name}"))? as usize;
            let elements: usize = shape.iter().product();
            if elements * dtype.size() != nbytes {
                return Err(format!(
                    "{name}: shape {shape:?} of {} needs {} bytes but {nbytes} are recorded",
                    dtype.name(),
                    elements * dtype.size()
                ));
            }
            let start = c.pos;
            c.take(nbytes, &format!("the data of {name}"))?;
            variables.insert(
                name.clone(),
                Variable {
                    name,
                    shape,
                    dtype,
                    bytes: start..start + nbytes,
                },
            );
        }
        let mut aliases = BTreeMap::new();
        let n_alias = c.u32("the alias count")?;
        for i in 0..n_alias {
            let alias = c.string(&format!("alias {i}"))?;
            let target = c.string(&format!("the target of alias {alias}"))?;
            aliases.insert(alias, target);
        }
        if c.pos != data.len() {
            return Err(format!(
                "{} unexpected bytes after the last alias: this is not a single model.bin (wrong parts joined?)",
                data.len() - c.pos
            ));
        }
        Ok(Ct2Model {
            spec,
            revision,
            data,
            variables,
            aliases,
        })
    }

    /// A variable by name, following aliases.
    pub fn get(&self, name: &str) -> Option<&Variable> {
        let name = self.aliases.get(name).map(String::as_str).unwrap_or(name);
        self.variables.get(name)
    }

    /// A variable that must exist.
    pub fn require(&self, name: &str) -> Result<&Variable, String> {
        self.get(name)
            .ok_or_else(|| format!("the model has no variable {name}: is it a Whisper model?"))
    }

    pub fn variables(&self) -> impl Iterator<Item = &Variable> {
        self.variables.values()
    }

    pub fn aliases(&self) -> &BTreeMap<String, String> {
        &self.aliases
    }

    pub fn raw(&self, v: &Variable) -> &[u8] {
        &self.data[v.bytes.clone()]
    }

    /// An integer scalar (CTranslate2 stores e.g. `num_heads` as int8/int16/int32).
    pub fn int_scalar(&self, name: &str) -> Result<i64, String> {
        let v = self.require(name)?;
        if v.elements() != 1 {
            return Err(format!(
                "{name} should be a scalar but has shape {:?}",
                v.shape
            ));
        }
        let b = self.raw(v);
        Ok(match v.dtype {
            DType::I8 => b[0] as i8 as i64,
            DType::I16 => i16::from_le_bytes([b[0], b[1]]) as i64,
            DType::I32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64,
            other => {
                return Err(format!(
                    "{name} should be an integer but is {}",
                    other.name()
                ))
            }
        })
    }

    /// Elements `range` (flat, row-major) of a float variable, as f32.
    pub fn f32_range(&self, v: &Variable, range: Range<usize>) -> Result<Vec<f32>, String> {
        let size = v.dtype.size();
        let b = &self.raw(v)[range.start * size..range.end * size];
        Ok(match v.dtype {
            DType::F32 => b
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            DType::F16 => b
                .chunks_exact(2)
                .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
            DType::BF16 => b
                .chunks_exact(2)
                .map(|c| bf16_to_f32(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
            other => {
                return Err(format!(
                    "{} is {}; only float16/float32/bfloat16 models can be converted (quantised CTranslate2 models cannot)",
                    v.name,
                    other.name()
                ))
            }
        })
    }
}

/// Serialise variables the way CTranslate2 does — used by tests to build tiny models.
pub fn write_model_bin(
    spec: &str,
    revision: u32,
    vars: &[(&str, &[usize], DType, &[u8])],
    aliases: &[(&str, &str)],
) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }
    let id = |d: DType| match d {
        DType::F32 => 0u8,
        DType::I8 => 1,
        DType::I16 => 2,
        DType::I32 => 3,
        DType::F16 => 4,
        DType::BF16 => 5,
    };
    let mut out = Vec::new();
    out.extend_from_slice(&BINARY_VERSION.to_le_bytes());
    string(&mut out, spec);
    out.extend_from_slice(&revision.to_le_bytes());
    out.extend_from_slice(&(vars.len() as u32).to_le_bytes());
    for (name, shape, dtype, data) in vars {
        string(&mut out, name);
        out.push(shape.len() as u8);
        for d in *shape {
            out.extend_from_slice(&(*d as u32).to_le_bytes());
        }
        out.push(id(*dtype));
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
    }
    out.extend_from_slice(&(aliases.len() as u32).to_le_bytes());
    for (a, t) in aliases {
        string(&mut out, a);
        string(&mut out, t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Vec<u8> {
        let w: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        write_model_bin(
            "WhisperSpec",
            3,
            &[
                ("a/weight", &[2, 3], DType::F32, &w),
                ("a/heads", &[], DType::I16, &8i16.to_le_bytes()),
                ("h", &[2], DType::F16, &[0x00, 0x3c, 0x00, 0xc0]),
            ],
            &[("b/weight", "a/weight")],
        )
    }

    #[test]
    fn parses_what_it_writes() {
        let m = Ct2Model::parse(tiny()).unwrap();
        assert_eq!(m.spec, "WhisperSpec");
        assert_eq!(m.revision, 3);
        let v = m.get("b/weight").unwrap();
        assert_eq!(v.shape, vec![2, 3]);
        assert_eq!(m.f32_range(v, 3..6).unwrap(), vec![4.0, 5.0, 6.0]);
        assert_eq!(m.int_scalar("a/heads").unwrap(), 8);
        assert_eq!(
            m.f32_range(m.get("h").unwrap(), 0..2).unwrap(),
            vec![1.0, -2.0]
        );
    }

    #[test]
    fn truncated_and_overlong_files_are_refused() {
        let full = tiny();
        for cut in [0, 3, 10, full.len() / 2, full.len() - 1] {
            let err = Ct2Model::parse(full[..cut].to_vec()).err().unwrap();
            assert!(err.contains("truncated"), "cut {cut}: {err}");
        }
        let mut long = full.clone();
        long.extend_from_slice(&[0; 7]);
        assert!(Ct2Model::parse(long)
            .err()
            .unwrap()
            .contains("unexpected bytes"));
        let mut v5 = full;
        v5[0] = 5;
        assert!(Ct2Model::parse(v5).err().unwrap().contains("version 5"));
    }
}
