//! `ringcoach` / `ringcoach practice`: the practice screens. Everything that can fail
//! (config, scenarios, model, audio input/output) is checked here, before the terminal is
//! taken over, so a problem is one plain line on the console.

use std::path::PathBuf;
use std::process::ExitCode;

use super::flags::{DataDirFlag, LangFlags, ModelFlags, OrgFlag, PromptsFlag};
use crate::audio::choice::OutputChoice;
use crate::practice::{self, Options};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// Play this WAV as the microphone, in real time (repeat it for multi-turn calls: one
    /// file per turn, the last one repeats). For demos, tests and machines with no sound card.
    #[arg(long, value_name = "FILE.wav")]
    pub input: Vec<PathBuf>,
    /// Microphone to use (a name from `ringcoach devices`); default: config, then the system default.
    #[arg(long, value_name = "NAME")]
    pub input_device: Option<String>,
    /// Speaker for the ring: "default", a device name, or "null" for silence.
    #[arg(long, value_name = "DEVICE")]
    pub output: Option<String>,
    #[command(flatten)]
    pub lang: LangFlags,
    #[command(flatten)]
    pub org: OrgFlag,
    /// Your name, saved with every attempt (default: config, then $USER).
    #[arg(long)]
    pub trainee: Option<String>,
    /// Start on this call situation.
    #[arg(long, value_name = "ID")]
    pub scenario: Option<String>,
    #[command(flatten)]
    pub models: ModelFlags,
    #[command(flatten)]
    pub prompts: PromptsFlag,
    #[command(flatten)]
    pub data_dir: DataDirFlag,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = args.lang.config()?;
    if let Some(t) = &args.trainee {
        config.trainee = Some(t.clone());
    }
    let catalog = args.prompts.load()?;
    let org = args.org.resolve(config.org.as_deref(), &catalog)?;
    let (model, vad_model) = args.models.resolve_or_fetch(config.model.path.as_deref())?;
    let output: OutputChoice = args
        .output
        .clone()
        .unwrap_or_else(|| config.audio.output.clone())
        .parse()
        .unwrap_or(OutputChoice::Null);
    let input_device = args
        .input_device
        .clone()
        .or_else(|| Some(config.audio.input.clone()))
        .filter(|d| d != "default");
    let opts = Options {
        config,
        inputs: args.input.clone(),
        input_device,
        output,
        org,
        model,
        vad_model: Some(vad_model),
        scenario: args.scenario.clone(),
    };
    let store = args.data_dir.open()?;
    practice::run(opts, catalog, store)?;
    Ok(ExitCode::SUCCESS)
}
