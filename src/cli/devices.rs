//! `ringcoach devices [--all] [--json]`: the audio inputs and outputs cpal can open, the
//! defaults marked, so the trainee can pick one with `--input-device` / `--output-device`.

use std::io::Write;
use std::process::ExitCode;

use crate::audio::devices::{self, DeviceInfo};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Enumerate every device, not only the defaults (ALSA may print probing noise on stderr).
    #[arg(long)]
    pub all: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let list = devices::list(args.all);
    let text = if args.json {
        serde_json::to_string_pretty(&list)? + "\n"
    } else {
        render(&list, args.all)
    };
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        // `ringcoach devices | head` closing the pipe early is not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
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
