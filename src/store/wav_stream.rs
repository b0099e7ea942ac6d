//! A WAV file written as it is recorded, and its repair after a crash.
//!
//! Every push goes straight to the file (no user-space buffer), so a process killed with
//! SIGKILL loses none of the samples it had pushed: they are in the kernel's page cache.
//! Every `checkpoint_frames` (0.1 s at 16 kHz by default) the RIFF and data sizes are
//! rewritten and the file is `fdatasync`ed, which bounds what an OS crash or power cut can
//! lose to about one checkpoint. Between checkpoints the header understates the data; that
//! is what [`repair`] fixes from the file length on the next start.
//!
//! The layout is always the canonical 44-byte header (RIFF, 16-byte `fmt `, `data`), so
//! repair can trust fixed offsets and refuse anything else rather than guess.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fsio::io_err;
use super::StoreError;

pub(crate) const HEADER_LEN: u64 = 44;

/// How samples are stored. 16-bit PCM is what the practice desk records; f32 exists for
/// callers that keep the capture's float samples untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SampleFormat {
    I16,
    F32,
}

impl SampleFormat {
    fn bytes(self) -> u16 {
        match self {
            SampleFormat::I16 => 2,
            SampleFormat::F32 => 4,
        }
    }
    fn tag(self) -> u16 {
        match self {
            SampleFormat::I16 => 1, // WAVE_FORMAT_PCM
            SampleFormat::F32 => 3, // WAVE_FORMAT_IEEE_FLOAT
        }
    }
}

/// The audio format of an attempt (mono).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioFormat {
    pub sample_rate: u32,
    pub format: SampleFormat,
}

impl AudioFormat {
    /// 16 kHz mono 16-bit: what Whisper wants and what the desk records.
    pub const SPEECH: AudioFormat = AudioFormat {
        sample_rate: 16_000,
        format: SampleFormat::I16,
    };

    pub fn duration_ms(&self, frames: u64) -> u64 {
        if self.sample_rate == 0 {
            return 0;
        }
        frames * 1000 / u64::from(self.sample_rate)
    }
}

fn header(fmt: AudioFormat, data_bytes: u32) -> [u8; HEADER_LEN as usize] {
    let bps = fmt.format.bytes();
    let mut h = [0u8; HEADER_LEN as usize];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(36 + data_bytes).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&fmt.format.tag().to_le_bytes());
    h[22..24].copy_from_slice(&1u16.to_le_bytes());
    h[24..28].copy_from_slice(&fmt.sample_rate.to_le_bytes());
    h[28..32].copy_from_slice(&(fmt.sample_rate * u32::from(bps)).to_le_bytes());
    h[32..34].copy_from_slice(&bps.to_le_bytes());
    h[34..36].copy_from_slice(&(bps * 8).to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_bytes.to_le_bytes());
    h
}

/// Appends mono samples to a WAV file as they arrive.
#[derive(Debug)]
pub struct StreamingWav {
    file: File,
    path: PathBuf,
    fmt: AudioFormat,
    data_bytes: u64,
    since_checkpoint: u64,
    checkpoint_frames: u64,
    sync: bool,
    scratch: Vec<u8>,
}

impl StreamingWav {
    /// Creates `path` (which must not exist) with an empty, valid header, synced.
    /// `checkpoint_frames` of 0 means 0.1 s.
    pub fn create(
        path: &Path,
        fmt: AudioFormat,
        checkpoint_frames: u64,
        sync: bool,
    ) -> Result<Self, StoreError> {
        if fmt.sample_rate == 0 {
            return Err(StoreError::BadWav {
                path: path.to_path_buf(),
                reason: "sample rate 0".into(),
            });
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(io_err("create", path))?;
        file.write_all(&header(fmt, 0))
            .map_err(io_err("write", path))?;
        if sync {
            file.sync_data().map_err(io_err("sync", path))?;
        }
        let checkpoint_frames = if checkpoint_frames == 0 {
            u64::from(fmt.sample_rate) / 10
        } else {
            checkpoint_frames
        };
        Ok(StreamingWav {
            file,
            path: path.to_path_buf(),
            fmt,
            data_bytes: 0,
            since_checkpoint: 0,
            checkpoint_frames,
            sync,
            scratch: Vec::new(),
        })
    }

    pub fn format(&self) -> AudioFormat {
        self.fmt
    }

    pub fn frames(&self) -> u64 {
        self.data_bytes / u64::from(self.fmt.format.bytes())
    }

    /// Appends float samples (−1.0..=1.0; clamped when stored as 16-bit).
    pub fn push_f32(&mut self, samples: &[f32]) -> Result<(), StoreError> {
        self.scratch.clear();
        match self.fmt.format {
            SampleFormat::F32 => {
                for s in samples {
                    self.scratch.extend_from_slice(&s.to_le_bytes());
                }
            }
            SampleFormat::I16 => {
                for s in samples {
                    let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
                    self.scratch.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        self.append(samples.len() as u64)
    }

    /// Appends 16-bit samples (scaled to −1.0..1.0 when stored as float).
    pub fn push_i16(&mut self, samples: &[i16]) -> Result<(), StoreError> {
        self.scratch.clear();
        match self.fmt.format {
            SampleFormat::I16 => {
                for s in samples {
                    self.scratch.extend_from_slice(&s.to_le_bytes());
                }
            }
            SampleFormat::F32 => {
                for s in samples {
                    self.scratch
                        .extend_from_slice(&(f32::from(*s) / 32768.0).to_le_bytes());
                }
            }
        }
        self.append(samples.len() as u64)
    }

    fn append(&mut self, frames: u64) -> Result<(), StoreError> {
        let new_len = self.data_bytes + self.scratch.len() as u64;
        if HEADER_LEN + new_len > u64::from(u32::MAX) {
            return Err(StoreError::BadWav {
                path: self.path.clone(),
                reason: "recording exceeds the 4 GiB WAV limit; stop and start a new attempt"
                    .into(),
            });
        }
        self.file
            .write_all(&self.scratch)
            .map_err(io_err("write", &self.path))?;
        self.data_bytes = new_len;
        self.since_checkpoint += frames;
        if self.since_checkpoint >= self.checkpoint_frames {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Rewrites the header sizes and makes everything so far durable.
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        let h = header(self.fmt, self.data_bytes as u32);
        let p = &self.path;
        self.file
            .seek(SeekFrom::Start(4))
            .map_err(io_err("seek", p))?;
        self.file.write_all(&h[4..8]).map_err(io_err("write", p))?;
        self.file
            .seek(SeekFrom::Start(40))
            .map_err(io_err("seek", p))?;
        self.file
            .write_all(&h[40..44])
            .map_err(io_err("write", p))?;
        self.file
            .seek(SeekFrom::End(0))
            .map_err(io_err("seek", p))?;
        if self.sync {
            self.file.sync_data().map_err(io_err("sync", p))?;
        }
        self.since_checkpoint = 0;
        Ok(())
    }

    /// Final checkpoint; returns the number of frames written.
    pub fn finish(mut self) -> Result<u64, StoreError> {
        self.checkpoint()?;
        Ok(self.frames())
    }
}

/// What [`repair`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavRepair {
    pub fmt: AudioFormat,
    /// Whole frames in the file after repair.
    pub frames: u64,
    /// The header sizes were wrong (or a partial frame was cut) and have been fixed.
    pub repaired: bool,
}

/// Reads our canonical header and, if `fix`, makes its sizes agree with the file length
/// (cutting a torn trailing partial sample). Returns `Ok(None)` when the file holds no
/// header at all (killed before it was written). Anything that is not our layout is an
/// error, never silently rewritten.
pub fn repair(path: &Path, fix: bool) -> Result<Option<WavRepair>, StoreError> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(fix)
        .open(path)
        .map_err(io_err("open", path))?;
    let len = file.metadata().map_err(io_err("stat", path))?.len();
    if len < HEADER_LEN {
        return Ok(None);
    }
    let mut h = [0u8; HEADER_LEN as usize];
    file.read_exact(&mut h).map_err(io_err("read", path))?;
    let u16_at = |i: usize| u16::from_le_bytes([h[i], h[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    let bad = |reason: &str| StoreError::BadWav {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if &h[0..4] != b"RIFF" || &h[8..12] != b"WAVE" || &h[12..16] != b"fmt " || &h[36..40] != b"data"
    {
        return Err(bad(
            "not a canonical 44-byte-header WAV written by ringcoach",
        ));
    }
    let format = match (u16_at(20), u16_at(34)) {
        (1, 16) => SampleFormat::I16,
        (3, 32) => SampleFormat::F32,
        (tag, bits) => return Err(bad(&format!("unsupported format tag {tag} / {bits} bits"))),
    };
    if u32_at(16) != 16 || u16_at(22) != 1 || u32_at(24) == 0 {
        return Err(bad("unexpected fmt chunk (not mono, or no sample rate)"));
    }
    let fmt = AudioFormat {
        sample_rate: u32_at(24),
        format,
    };
    let block = u64::from(format.bytes());
    let data = ((len - HEADER_LEN) / block * block).min(u64::from(u32::MAX) - HEADER_LEN);
    let consistent =
        u32_at(40) as u64 == data && u32_at(4) as u64 == data + 36 && len == HEADER_LEN + data;
    if !consistent && fix {
        if len != HEADER_LEN + data {
            file.set_len(HEADER_LEN + data)
                .map_err(io_err("truncate", path))?;
        }
        let good = header(fmt, data as u32);
        file.seek(SeekFrom::Start(0))
            .map_err(io_err("seek", path))?;
        file.write_all(&good).map_err(io_err("write", path))?;
        file.sync_all().map_err(io_err("sync", path))?;
    }
    Ok(Some(WavRepair {
        fmt,
        frames: data / block,
        repaired: !consistent,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_i16(path: &Path) -> (hound::WavSpec, Vec<i16>) {
        let r = hound::WavReader::open(path).unwrap();
        let spec = r.spec();
        let s = r.into_samples::<i16>().map(|s| s.unwrap()).collect();
        (spec, s)
    }

    #[test]
    fn streamed_i16_reads_back_exactly_with_hound() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.wav");
        let mut w = StreamingWav::create(&p, AudioFormat::SPEECH, 0, true).unwrap();
        let samples: Vec<i16> = (0..5000)
            .map(|i| ((i * 37) % 65536 - 32768) as i16)
            .collect();
        for chunk in samples.chunks(333) {
            w.push_i16(chunk).unwrap();
        }
        assert_eq!(w.finish().unwrap(), 5000);
        let (spec, back) = read_i16(&p);
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (1, 16_000, 16)
        );
        assert_eq!(back, samples);
        assert!(!repair(&p, false).unwrap().unwrap().repaired);
    }

    #[test]
    fn streamed_f32_reads_back_with_hound() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.wav");
        let fmt = AudioFormat {
            sample_rate: 16_000,
            format: SampleFormat::F32,
        };
        let mut w = StreamingWav::create(&p, fmt, 0, false).unwrap();
        let samples: Vec<f32> = (0..2000).map(|i| (i as f32 / 100.0).sin() * 0.5).collect();
        w.push_f32(&samples).unwrap();
        w.push_i16(&[16384]).unwrap();
        w.finish().unwrap();
        let r = hound::WavReader::open(&p).unwrap();
        assert_eq!(r.spec().sample_format, hound::SampleFormat::Float);
        let back: Vec<f32> = r.into_samples::<f32>().map(|s| s.unwrap()).collect();
        assert_eq!(&back[..2000], &samples[..]);
        assert_eq!(back[2000], 0.5);
    }

    #[test]
    fn float_to_i16_clamps_instead_of_wrapping() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.wav");
        let mut w = StreamingWav::create(&p, AudioFormat::SPEECH, 0, false).unwrap();
        w.push_f32(&[2.0, -2.0, 0.5, 0.0]).unwrap();
        w.finish().unwrap();
        assert_eq!(read_i16(&p).1, [32767, -32767, 16384, 0]);
    }

    #[test]
    fn header_lags_until_checkpoint_and_repair_recovers_every_written_sample() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.wav");
        let mut w = StreamingWav::create(&p, AudioFormat::SPEECH, 1600, true).unwrap();
        w.push_i16(&[7; 1600]).unwrap(); // reaches a checkpoint
        w.push_i16(&[9; 1000]).unwrap(); // written, header not yet updated
                                         // Simulate SIGKILL: the writer vanishes without finishing.
        std::mem::forget(w);
        let before = repair(&p, false).unwrap().unwrap();
        assert!(before.repaired, "stale header must be detected");
        assert_eq!(before.frames, 2600);
        // A torn half sample at the end, as a kill inside write() could leave.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(&[1]).unwrap();
        drop(f);
        let fixed = repair(&p, true).unwrap().unwrap();
        assert_eq!((fixed.frames, fixed.repaired), (2600, true));
        let (_, back) = read_i16(&p);
        assert_eq!(back.len(), 2600);
        assert!(back[..1600].iter().all(|&s| s == 7) && back[1600..].iter().all(|&s| s == 9));
        assert!(
            !repair(&p, true).unwrap().unwrap().repaired,
            "repair is idempotent"
        );
    }

    #[test]
    fn repair_handles_float_recordings_too() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.wav");
        let fmt = AudioFormat {
            sample_rate: 48_000,
            format: SampleFormat::F32,
        };
        let mut w = StreamingWav::create(&p, fmt, 0, true).unwrap();
        let samples: Vec<f32> = (0..7000).map(|i| (i as f32 / 50.0).cos() * 0.25).collect();
        w.push_f32(&samples).unwrap(); // past the 4,800-frame checkpoint, then 2,200 more
        std::mem::forget(w);
        let r = repair(&p, true).unwrap().unwrap();
        assert_eq!((r.fmt, r.frames, r.repaired), (fmt, 7000, false));
        let mut w = StreamingWav::create(&dir.path().join("g.wav"), fmt, 0, true).unwrap();
        w.push_f32(&samples[..4000]).unwrap();
        std::mem::forget(w);
        let r = repair(&dir.path().join("g.wav"), true).unwrap().unwrap();
        assert_eq!((r.frames, r.repaired), (4000, true));
        let back: Vec<f32> = hound::WavReader::open(dir.path().join("g.wav"))
            .unwrap()
            .into_samples::<f32>()
            .map(|s| s.unwrap())
            .collect();
        assert_eq!(back, samples[..4000]);
    }

    #[test]
    fn repair_knows_empty_and_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("e.wav");
        std::fs::write(&empty, b"RIFF").unwrap();
        assert_eq!(repair(&empty, true).unwrap(), None);
        let foreign = dir.path().join("x.wav");
        std::fs::write(&foreign, [0u8; 100]).unwrap();
        let err = repair(&foreign, true).unwrap_err().to_string();
        assert!(err.contains("x.wav") && err.contains("canonical"), "{err}");
        assert_eq!(
            std::fs::read(&foreign).unwrap(),
            [0u8; 100],
            "foreign file untouched"
        );
    }

    #[test]
    fn refuses_to_overwrite_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.wav");
        std::fs::write(&p, b"keep").unwrap();
        assert!(StreamingWav::create(&p, AudioFormat::SPEECH, 0, false).is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"keep");
    }
}
