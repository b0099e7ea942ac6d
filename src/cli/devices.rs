//! `ringcoach devices [--all] [--json]`: the audio inputs and outputs cpal can open, the
//! defaults marked, so the trainee can pick one with `--input-device` / `--output-device`.
//! `--listen SECONDS` checks the microphone (or `--input FILE.wav`) with a level meter and
//! the end-of-speech detector: the trainee says a fixed line, and is told whether level,
//! noise and distance are good enough to practise, and what to change if not (the same
//! judgement the grader's `audio` finding uses). `--ring N` checks the speakers (or
//! `--output null`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::audio::choice::{InputChoice, OutputChoice};
use crate::audio::devices::{self, DeviceInfo};
use crate::audio::level::{level, DetectorConfig, SpeechDetector, SpeechEvent};
use crate::audio::quality::{MicCheck, CHECK_LINE};
use crate::audio::ring::RingCadence;
use crate::audio::ringer::Ringer;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Enumerate every device, not only the defaults.
    #[arg(long)]
    pub all: bool,
    /// Check the microphone: say the line shown, then pause; its level is shown for up to
    /// SECONDS, and at the end whether level, noise and distance are good enough to practise
    /// and what to change. Exit 1 if no speech was heard or the recording is not good enough.
    #[arg(long, value_name = "SECONDS", conflicts_with_all = ["json", "all", "ring"])]
    pub listen: Option<f32>,
    /// With --listen: play this WAV file as the microphone, in real time.
    #[arg(long, value_name = "FILE.wav", requires = "listen")]
    pub input: Option<PathBuf>,
    /// With --listen: the input device (name or id from `ringcoach devices`).
    #[arg(long, value_name = "NAME", requires = "listen")]
    pub input_device: Option<String>,
    /// Check the speakers: ring N times with the ring-back tone.
    #[arg(long, value_name = "N", conflicts_with_all = ["json", "all"])]
    pub ring: Option<u32>,
    /// With --ring: `default`, a device name or id, or `null` (silent, still timed).
    #[arg(
        long,
        value_name = "null|default|NAME",
        default_value = "default",
        requires = "ring"
    )]
    pub output: String,
    /// With --ring: tone on/off in milliseconds, to try a cadence on the speakers (practice
    /// rings with the phrase book's cadence, `[settings] ring_on_ms` / `ring_off_ms`).
    #[arg(
        long,
        value_name = "ON/OFF",
        default_value = "1000/4000",
        requires = "ring"
    )]
    pub cadence: String,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(seconds) = args.listen {
        return listen(
            seconds,
            InputChoice::from_flags(args.input, args.input_device),
        );
    }
    if let Some(rings) = args.ring {
        let cadence = parse_cadence(&args.cadence)?;
        let output: OutputChoice = args.output.parse()?;
        return ring(rings, cadence, &output);
    }
    let list = devices::list(args.all);
    let text = if args.json {
        serde_json::to_string_pretty(&list)? + "\n"
    } else {
        // Device names come from drivers and USB descriptors: shown, never obeyed.
        super::out::escape_controls(&render(&list, args.all)).into_owned()
    };
    out(&text)
}

/// Writes to stdout; `ringcoach devices | head` closing the pipe early is not an error.
fn out(text: &str) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// "1000/4000" → 1 s on, 4 s off, at the mainland tone.
pub fn parse_cadence(text: &str) -> anyhow::Result<RingCadence> {
    let bad =
        || anyhow::anyhow!("--cadence {text:?} is not ON/OFF in milliseconds: use e.g. 1000/4000");
    let (on, off) = text.split_once('/').ok_or_else(bad)?;
    let cadence = RingCadence {
        on_ms: on.trim().parse().map_err(|_| bad())?,
        off_ms: off.trim().parse().map_err(|_| bad())?,
        ..RingCadence::MAINLAND_CHINA
    };
    cadence.validate()?;
    Ok(cadence)
}

/// A text level meter: -60 dBFS … 0 dBFS over 30 cells.
pub fn meter(dbfs: f32) -> String {
    let cells = (((dbfs + 60.0) / 2.0).clamp(0.0, 30.0)) as usize;
    format!("{}{}", "#".repeat(cells), ".".repeat(30 - cells))
}

fn listen(seconds: f32, choice: InputChoice) -> anyhow::Result<ExitCode> {
    if !(seconds > 0.0 && seconds <= 600.0) {
        anyhow::bail!("--listen {seconds} is out of range: give 0.1 to 600 seconds");
    }
    let mut source = choice.open()?;
    let capture = source.start()?;
    println!(
        "listening to {} for up to {seconds} s; speak, then pause",
        capture.description()
    );
    println!("say, as you would on a call: {CHECK_LINE}");
    let mut det = SpeechDetector::new(DetectorConfig::default());
    let limit = Duration::from_secs_f32(seconds);
    let started = Instant::now();
    let mut window: Vec<f32> = Vec::new();
    let mut heard = 0u64;
    let mut ended = None;
    let mut first = None;
    let mut all: Vec<f32> = Vec::new();
    while started.elapsed() < limit && ended.is_none() {
        let Ok(chunk) = capture.chunks().recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        for e in det.push(&chunk.samples) {
            match e {
                SpeechEvent::Started { at_ms } => first = first.or(Some(at_ms)),
                SpeechEvent::Ended { at_ms, noticed_ms } => ended = Some((at_ms, noticed_ms)),
            }
        }
        window.extend_from_slice(&chunk.samples);
        all.extend_from_slice(&chunk.samples);
        heard += chunk.samples.len() as u64;
        // One meter line per 100 ms of audio.
        while window.len() >= 1600 {
            let l = level(&window[..1600]);
            window.drain(..1600);
            let t = (heard - window.len() as u64) as f32 / 16_000.0;
            let state = if det.is_speaking() { "speaking" } else { "" };
            println!(
                "{t:6.1} s  {}  {:6.1} dBFS  {state}",
                meter(l.rms_dbfs),
                l.rms_dbfs
            );
        }
    }
    let stats = capture.stop();
    match (first, ended) {
        (Some(f), Some((end, noticed))) => {
            println!("first words at {f} ms; speech ended at {end} ms (noticed at {noticed} ms)")
        }
        (Some(f), None) => println!("first words at {f} ms; still speaking when listening stopped"),
        _ => println!("no speech heard"),
    }
    if stats.callbacks > 0 {
        println!(
            "device: {} Hz, {} ch, {}; {} callbacks of {}–{} frames; first after {} ms; backend latency ≤ {:.1} ms; dropped {} samples, {} chunks; {} xruns",
            stats.device_rate,
            stats.device_channels,
            stats.sample_format,
            stats.callbacks,
            stats.min_callback_frames,
            stats.max_callback_frames,
            stats.first_callback_ms.unwrap_or(0),
            stats.max_reported_latency_us.unwrap_or(0) as f64 / 1000.0,
            stats.dropped_device_samples,
            stats.dropped_chunks,
            stats.xruns
        );
    }
    // The verdict is the practice screen's, from the same judgement.
    let check = MicCheck::judge(&all);
    if check.heard {
        println!("{}", check.measured().1);
    }
    if check.passed() {
        println!("good enough to practise: level, noise and distance are fine");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("not good enough to practise yet:");
        for (_, en) in check.advice() {
            println!("  - {en}");
        }
        Ok(ExitCode::from(1))
    }
}

fn ring(rings: u32, cadence: RingCadence, output: &OutputChoice) -> anyhow::Result<ExitCode> {
    if rings == 0 || rings > 20 {
        anyhow::bail!("--ring {rings} is out of range: give 1 to 20 rings");
    }
    let sink = output.open()?;
    println!(
        "ringing {rings} times on {} ({} Hz, {} ms on / {} ms off)",
        sink.describe(),
        cadence.tone_hz,
        cadence.on_ms,
        cadence.off_ms
    );
    let ringer = Ringer::start(sink.as_ref(), cadence).context("cannot ring")?;
    // The last ring's tone, not its pause, ends the check.
    let until = cadence.ring_starts_at_ms(rings) + cadence.on_ms;
    let mut shown = 0;
    loop {
        let status = ringer.status();
        if status.position.ring > shown && status.position.ring <= rings {
            shown = status.position.ring;
            println!("ring {shown} at {} ms", status.elapsed_ms);
        }
        if status.elapsed_ms >= until {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = ringer.playback_stats();
    let pickup = ringer.pick_up();
    println!(
        "stopped at {} ms after {} rings; output {} Hz, {} ch, {} callbacks of {}–{} frames, {} xruns",
        pickup.pickup_ms, pickup.rings, stats.rate, stats.channels, stats.callbacks, stats.min_callback_frames, stats.max_callback_frames, stats.xruns
    );
    Ok(ExitCode::SUCCESS)
}

/// The table as text; with no input device it says what to do instead.
pub fn render(list: &devices::DeviceList, all: bool) -> String {
    let mut out = format!("audio host: {}\n\ninputs:\n", list.host);
    section(&mut out, &list.inputs);
    if !list.inputs.iter().any(DeviceInfo::usable) {
        out.push_str(
            "  (no input device: run with `--input FILE.wav` to play a WAV file as the microphone)\n",
        );
    }
    out.push_str("\noutputs:\n");
    section(&mut out, &list.outputs);
    if !list.outputs.iter().any(DeviceInfo::usable) {
        out.push_str("  (no output device: run with `--output null` to practise silently)\n");
    }
    if !all {
        out.push_str("\n(defaults only; `ringcoach devices --all` lists every device)\n");
    }
    out
}

fn section(out: &mut String, devs: &[DeviceInfo]) {
    for d in devs {
        let mark = if d.is_default { "*" } else { " " };
        let state = match (&d.problem, &d.default_format) {
            (Some(p), _) => format!("cannot be opened: {p}"),
            (None, Some(f)) => f.clone(),
            (None, None) => "format unknown".to_string(),
        };
        out.push_str(&format!("{mark} {}  [{}]  {state}\n", d.name, d.id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::devices::{DeviceList, Direction};

    fn default_output() -> DeviceInfo {
        DeviceInfo {
            direction: Direction::Output,
            name: "Default".into(),
            id: "alsa:default".into(),
            is_default: true,
            default_format: Some("2 ch, 44100 Hz, f32".into()),
            problem: None,
        }
    }

    #[test]
    fn cadence_flag_parses_or_says_how() {
        let c = parse_cadence("400/200").unwrap();
        assert_eq!((c.on_ms, c.off_ms, c.tone_hz), (400, 200, 450.0));
        let e = parse_cadence("1s/4s").unwrap_err().to_string();
        assert!(e.contains("use e.g. 1000/4000"), "{e}");
        assert!(parse_cadence("0/4000").is_err());
    }

    #[test]
    fn meter_spans_minus_60_to_0_dbfs() {
        assert_eq!(meter(-100.0), ".".repeat(30));
        assert_eq!(meter(0.0), "#".repeat(30));
        assert_eq!(
            meter(-30.0),
            format!("{}{}", "#".repeat(15), ".".repeat(15))
        );
    }

    #[test]
    fn no_input_points_to_input_file() {
        let list = DeviceList {
            host: "ALSA".into(),
            inputs: vec![],
            outputs: vec![default_output()],
        };
        let text = render(&list, false);
        assert!(text.contains("--input FILE.wav"), "{text}");
        assert!(!text.contains("--output null"), "{text}");
        assert!(
            text.contains("* Default  [alsa:default]  2 ch, 44100 Hz, f32"),
            "{text}"
        );
    }

    #[test]
    fn a_listed_but_unopenable_default_counts_as_no_device() {
        let broken_out = DeviceInfo {
            default_format: None,
            problem: Some("device not available".into()),
            ..default_output()
        };
        let broken_in = DeviceInfo {
            direction: Direction::Input,
            ..broken_out.clone()
        };
        let list = DeviceList {
            host: "ALSA".into(),
            inputs: vec![broken_in],
            outputs: vec![broken_out],
        };
        let text = render(&list, true);
        assert!(
            text.contains("cannot be opened: device not available"),
            "{text}"
        );
        assert!(text.contains("--input FILE.wav"), "{text}");
        assert!(text.contains("--output null"), "{text}");
        assert!(!text.contains("--all"), "{text}");
    }
}
