//! `ringcoach` / `ringcoach practice`: the practice screens. Everything that can fail
//! (config, scenarios, model, audio input/output) is checked here, before the terminal is
//! taken over, so a problem is one plain line on the console.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::audio::choice::OutputChoice;
use crate::config::{Config, Lang};
use crate::grading::Org;
use crate::models::{self, ModelKind};
use crate::practice::{self, Options};
use crate::scenario::Catalog;
use crate::store::Store;

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
    /// Interface language.
    #[arg(long, value_enum)]
    pub lang: Option<LangArg>,
    /// The organisation you answer for (default: config, then the org profile).
    #[arg(long)]
    pub org: Option<String>,
    /// Your name, saved with every attempt (default: config, then $USER).
    #[arg(long)]
    pub trainee: Option<String>,
    /// Start on this call situation.
    #[arg(long, value_name = "ID")]
    pub scenario: Option<String>,
    /// A whisper.cpp ggml model file (default: config, $RINGCOACH_MODEL, then the fetched base model).
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// A ggml Silero VAD model (default: $RINGCOACH_VAD_MODEL, then the fetched one).
    #[arg(long, value_name = "PATH")]
    pub vad_model: Option<PathBuf>,
    /// Extra call situations: a directory of scenario files (adds to or overrides the built-in ones).
    #[arg(long, value_name = "DIR")]
    pub prompts: Option<PathBuf>,
    /// Config file (default: ~/.config/ringcoach/config.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LangArg {
    Zh,
    En,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(l) = args.lang {
        config.lang = match l {
            LangArg::Zh => Lang::Zh,
            LangArg::En => Lang::En,
        };
    }
    if let Some(t) = &args.trainee {
        config.trainee = Some(t.clone());
    }
    let prompts = args
        .prompts
        .clone()
        .or_else(|| std::env::var_os(crate::scenario::PROMPTS_ENV).map(PathBuf::from));
    let catalog = Catalog::load(prompts.as_deref())?;
    for p in &catalog.problems {
        eprintln!("ringcoach: warning: skipped {p}");
    }
    let org = Org::resolve(args.org.as_deref().or(config.org.as_deref()), &catalog.org)?;
    let model = args.model.clone().or_else(|| config.model.path.clone());
    let (model, vad_model) = resolve_models(model, args.vad_model.clone())?;
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
        vad_model,
        scenario: args.scenario.clone(),
    };
    let data_dir = crate::store::default_data_dir()?;
    let store = Store::open(&data_dir)?;
    super::store::report_recovery(&store);
    practice::run(opts, catalog, store)?;
    Ok(ExitCode::SUCCESS)
}

/// The models to load. On first use the default models are fetched and converted (with
/// progress on the console) before the practice screen opens; a path the user named is
/// never replaced, its problem is reported instead.
fn resolve_models(
    model: Option<PathBuf>,
    vad: Option<PathBuf>,
) -> anyhow::Result<(PathBuf, Option<PathBuf>)> {
    let mut progress = super::models::StderrProgress::new();
    let whisper = models::resolve_or_fetch(ModelKind::Whisper, model.as_deref(), &mut |p| {
        progress.show(p)
    })?;
    let vad = models::resolve_or_fetch(ModelKind::SileroVad, vad.as_deref(), &mut |p| {
        progress.show(p)
    })?;
    progress.done();
    Ok((whisper, Some(vad)))
}
