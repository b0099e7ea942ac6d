//! `ringcoach` / `ringcoach practice`: the practice screens. Everything that can fail
//! (config, scenarios, model, audio input/output) is checked here, before the terminal is
//! taken over, so a problem is one plain line on the console.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::flags::{DataDirFlag, LangFlags, ModelFlags, OrgFlag, PromptsFlag};
use crate::audio::choice::OutputChoice;
use crate::config::Config;
use crate::exam::sitting::{Candidate, SuiteSnapshot};
use crate::practice::sitting::ExamPlan;
use crate::practice::{self, MicCheckPlan, Options};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// Play this WAV as the microphone, in real time (repeat it for multi-turn calls: one
    /// file per turn, the last one repeats). For demos, tests and machines with no sound card.
    #[arg(long, value_name = "FILE.wav")]
    pub input: Vec<PathBuf>,
    #[command(flatten)]
    pub screen: ScreenFlags,
    #[command(flatten)]
    pub org: OrgFlag,
    /// Your name, saved with every attempt (default: config, then $USER).
    #[arg(long)]
    pub trainee: Option<String>,
    /// Start on this call situation.
    #[arg(long, value_name = "ID")]
    pub scenario: Option<String>,
    /// Check the microphone before the first call, even one that passed before (with
    /// --input, the first file plays as the microphone for it).
    #[arg(long, conflicts_with = "no_mic_check")]
    pub check_mic: bool,
    /// Do not check a new microphone before the first call (`m` still checks it); also
    /// `[audio] mic_check = false` in the config. Runs with --input never check unless asked.
    #[arg(long)]
    pub no_mic_check: bool,
    #[command(flatten)]
    pub models: ModelFlags,
    #[command(flatten)]
    pub prompts: PromptsFlag,
    #[command(flatten)]
    pub data_dir: DataDirFlag,
}

/// The flags of both screens, practice and exam, in the place both show them (after
/// `--input`, whose help differs): the microphone, the speaker, the language and config.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ScreenFlags {
    /// Microphone to use (a name from `ringcoach devices`); default: config, then the system default.
    #[arg(long, value_name = "NAME")]
    pub input_device: Option<String>,
    /// Speaker for the ring: "default", a device name, or "null" for silence.
    #[arg(long, value_name = "DEVICE")]
    pub output: Option<String>,
    #[command(flatten)]
    pub lang: LangFlags,
}

impl ScreenFlags {
    /// The speaker (flag, else config, else silence) and the microphone (flag, else config;
    /// "default" is the system's).
    fn audio(&self, config: &Config) -> (OutputChoice, Option<String>) {
        let output: OutputChoice = self
            .output
            .clone()
            .unwrap_or_else(|| config.audio.output.clone())
            .parse()
            .unwrap_or(OutputChoice::Null);
        let input_device = self
            .input_device
            .clone()
            .or_else(|| Some(config.audio.input.clone()))
            .filter(|d| d != "default");
        (output, input_device)
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = args.screen.lang.config()?;
    if let Some(t) = &args.trainee {
        config.trainee = Some(t.clone());
    }
    let catalog = args.prompts.load()?;
    let org = args.org.resolve(config.org.as_deref(), &catalog)?;
    let (model, vad_model) = args.models.resolve_or_fetch(config.model.path.as_deref())?;
    let (output, input_device) = args.screen.audio(&config);
    let store = args.data_dir.open()?;
    let uploads = start_uploads(&config, &store)?;
    let mic_check = MicCheckPlan::choose(
        args.check_mic,
        args.no_mic_check,
        !args.input.is_empty(),
        config.audio.mic_check,
    );
    let opts = Options {
        mic_check,
        config,
        inputs: args.input.clone(),
        input_device,
        output,
        org,
        model,
        vad_model: Some(vad_model),
        scenario: args.scenario.clone(),
        exam: None,
        uploads,
    };
    practice::run(opts, catalog, store)?;
    Ok(ExitCode::SUCCESS)
}

/// In a training room (a shared store configured), the desk's uploader, on its own thread:
/// the settings are checked now, the server is not waited for.
pub(super) fn start_uploads(
    config: &Config,
    store: &crate::store::Store,
) -> anyhow::Result<Option<crate::db::SyncWorker>> {
    let Some(settings) = super::db::configured(&config.database)? else {
        return Ok(None);
    };
    let opts = crate::db::SyncOptions::from_config(&config.database)?;
    let worker = crate::db::SyncWorker::start(store.root(), settings, opts)?;
    Ok(Some(worker))
}

/// On leaving a screen: one last upload pass for what was just decided or saved (bounded;
/// while the server is away the worker only recounts), then what still waits, on stderr.
pub(super) fn finish_uploads(w: crate::db::SyncWorker) {
    let advice = "`ringcoach store sync` sends it, or the next practice";
    match w.finish(std::time::Duration::from_secs(15)) {
        None => {
            eprintln!("ringcoach: an upload was still running and was left for later: {advice}")
        }
        Some(r) if r.waiting > 0 || r.decisions_waiting > 0 => {
            let why = r
                .offline
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            eprintln!(
                "ringcoach: {} attempt(s) and the decisions on {} attempt(s) wait to upload{why}: {advice}",
                r.waiting, r.decisions_waiting
            )
        }
        Some(_) => {}
    }
}

/// `ringcoach exam --suite ID --candidate NAME`: the exam screen.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ExamArgs {
    /// The certification suite (see `ringcoach suites`).
    #[arg(long, value_name = "ID")]
    pub suite: Option<String>,
    /// The candidate's name, as the certificate shows it.
    #[arg(long, value_name = "NAME")]
    pub candidate: Option<String>,
    /// The candidate's employee id, if the certificate should carry one.
    #[arg(long, value_name = "ID")]
    pub employee_id: Option<String>,
    /// Play these WAVs as the microphone, one per turn of every call in order (the last one
    /// repeats). For demos, tests and machines with no sound card.
    #[arg(long, value_name = "FILE.wav")]
    pub input: Vec<PathBuf>,
    #[command(flatten)]
    pub screen: ScreenFlags,
    #[command(flatten)]
    pub models: ModelFlags,
    #[command(flatten)]
    pub prompts: PromptsFlag,
    #[command(flatten)]
    pub data_dir: DataDirFlag,
}

pub fn run_exam(args: ExamArgs) -> anyhow::Result<ExitCode> {
    let suite_id = args.suite.clone().context(
        "which suite? pass --suite ID (see `ringcoach suites`), or use `exam import` / `exam list`",
    )?;
    let name = args
        .candidate
        .clone()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .context("who is sitting? pass --candidate NAME")?;
    let config = args.screen.lang.config()?;
    let catalog = args.prompts.load()?;
    let suite = catalog.suite(&suite_id)?;
    let plan = ExamPlan {
        suite: SuiteSnapshot::of(suite, &catalog),
        candidate: Candidate {
            name,
            employee_id: args.employee_id.clone(),
        },
    };
    let (model, vad_model) = args.models.resolve_or_fetch(config.model.path.as_deref())?;
    let (output, input_device) = args.screen.audio(&config);
    let org = crate::grading::Org::resolve(None, &catalog.org)?;
    let store = args.data_dir.open()?;
    let uploads = start_uploads(&config, &store)?;
    let opts = Options {
        config,
        inputs: args.input.clone(),
        input_device,
        output,
        org,
        model,
        vad_model: Some(vad_model),
        scenario: None,
        exam: Some(plan),
        uploads,
        // A sitting opens on the proctor's screen, as it always has: the proctor checks the
        // microphone there (`m`) before starting it, never the candidate mid-sitting.
        mic_check: MicCheckPlan::Never,
    };
    practice::run(opts, catalog, store)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// A screen's long flags in the order its help lists them.
    fn flags(screen: &str) -> Vec<String> {
        let mut cli = crate::cli::Cli::command();
        cli.build();
        let cmd = cli.find_subcommand(screen).unwrap();
        let mut args: Vec<(usize, String)> = cmd
            .get_arguments()
            .filter_map(|a| Some((a.get_display_order(), a.get_long()?.to_string())))
            .collect();
        args.sort();
        args.into_iter().map(|(_, long)| long).collect()
    }

    #[test]
    fn both_screens_list_the_shared_flags_where_they_always_have() {
        let shared = ["input", "input-device", "output", "lang", "config"];
        let tail = ["model", "vad-model", "prompts", "data-dir", "help"];
        let practice = flags("practice");
        assert_eq!(practice[..5], shared, "{practice:?}");
        assert_eq!(
            practice[5..10],
            ["org", "trainee", "scenario", "check-mic", "no-mic-check"],
            "{practice:?}"
        );
        assert_eq!(practice[10..], tail, "{practice:?}");
        let exam = flags("exam");
        assert_eq!(exam[..3], ["suite", "candidate", "employee-id"], "{exam:?}");
        assert_eq!(exam[3..8], shared, "{exam:?}");
        assert_eq!(exam[8..], tail, "{exam:?}");
    }
}
