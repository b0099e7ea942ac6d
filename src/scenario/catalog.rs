//! Where scenarios come from: the built-in `prompts/*.toml`, compiled into the binary (so an
//! installed `ringcoach` works from any directory), and an optional directory that adds
//! scenarios or overrides them by id (and may replace the phrase book and the organisation).
//! A malformed file becomes a [`Problem`] and is skipped; it never takes the others down.
//! [`read_files`] reads files for `scenarios check`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::suite::{parse_suite, Suite, SUITES_DIR};
use super::{
    line_col, parse_org, parse_phrasebook, parse_scenario, problem_at, OrgProfile, Phrasebook,
    Problem, Scenario, ORG_FILE, PHRASEBOOK_FILE, PROMPTS_ENV,
};

const BUILTIN_PHRASEBOOK: &str = include_str!("../../prompts/phrases.toml");
const BUILTIN_ORG: &str = include_str!("../../prompts/org.toml");
const BUILTIN_SCENARIOS: &[(&str, &str)] = &[
    (
        "prompts/answer-call.toml",
        include_str!("../../prompts/answer-call.toml"),
    ),
    (
        "prompts/outgoing-call.toml",
        include_str!("../../prompts/outgoing-call.toml"),
    ),
    (
        "prompts/complaint-call.toml",
        include_str!("../../prompts/complaint-call.toml"),
    ),
    (
        "prompts/repair-request.toml",
        include_str!("../../prompts/repair-request.toml"),
    ),
    (
        "prompts/fee-enquiry.toml",
        include_str!("../../prompts/fee-enquiry.toml"),
    ),
    (
        "prompts/fee-reminder.toml",
        include_str!("../../prompts/fee-reminder.toml"),
    ),
    (
        "prompts/absent-colleague.toml",
        include_str!("../../prompts/absent-colleague.toml"),
    ),
    (
        "prompts/transfer-call.toml",
        include_str!("../../prompts/transfer-call.toml"),
    ),
    (
        "prompts/cannot-hear.toml",
        include_str!("../../prompts/cannot-hear.toml"),
    ),
    (
        "prompts/silent-call.toml",
        include_str!("../../prompts/silent-call.toml"),
    ),
    (
        "prompts/dialect-caller.toml",
        include_str!("../../prompts/dialect-caller.toml"),
    ),
    (
        "prompts/angry-caller.toml",
        include_str!("../../prompts/angry-caller.toml"),
    ),
    (
        "prompts/end-call.toml",
        include_str!("../../prompts/end-call.toml"),
    ),
];

const BUILTIN_SUITES: &[(&str, &str)] = &[(
    "prompts/suites/property-hotline.toml",
    include_str!("../../prompts/suites/property-hotline.toml"),
)];

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    // Causes are `err`, not `source`: the CLI prints an error's chain, and a `source`
    // would put the OS's words on the line twice.
    #[error("cannot read prompts directory {path}: {} (check the path given with --prompts or {PROMPTS_ENV})", crate::input::describe_io(err))]
    ReadDir { path: PathBuf, err: std::io::Error },
    #[error(
        "cannot read scenario file {path}: {} (check the path and its permissions)",
        crate::input::describe_io(err)
    )]
    ReadFile { path: PathBuf, err: std::io::Error },
    #[error("unknown scenario `{id}`: valid ids are {valid} (see `ringcoach scenarios`)")]
    UnknownScenario { id: String, valid: String },
    #[error("unknown suite `{id}`: valid ids are {valid} (see `ringcoach suites`)")]
    UnknownSuite { id: String, valid: String },
    #[error(
        "the built-in {file} is invalid: {problem} (this is a bug in ringcoach; please report it)"
    )]
    BrokenBuiltin { file: String, problem: String },
}

/// Scenarios, phrase book and organisation profile, with the problems found loading them.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// In id order.
    pub scenarios: Vec<Scenario>,
    pub phrasebook: Phrasebook,
    pub org: OrgProfile,
    /// Certification suites, in id order; each names only scenarios of this catalog.
    pub suites: Vec<Suite>,
    /// Malformed files that were skipped.
    pub problems: Vec<Problem>,
}

impl Catalog {
    /// The built-in catalog only.
    pub fn builtin() -> Result<Catalog, ScenarioError> {
        Catalog::load(None)
    }

    /// The built-in catalog plus `dir`'s files, which override by id (and may replace
    /// `phrases.toml` and `org.toml`). Malformed files are recorded in `problems` and skipped.
    pub fn load(dir: Option<&Path>) -> Result<Catalog, ScenarioError> {
        let mut problems = Vec::new();
        let mut phrasebook = parse_phrasebook("prompts/phrases.toml", BUILTIN_PHRASEBOOK)
            .map_err(|p| broken("prompts/phrases.toml", p))?;
        let mut org = parse_org("prompts/org.toml", BUILTIN_ORG)
            .map_err(|p| broken("prompts/org.toml", p))?;
        let mut by_id: BTreeMap<String, Scenario> = BTreeMap::new();
        let mut seen = BTreeMap::new();
        for (file, src) in BUILTIN_SCENARIOS {
            let sc = parse_scenario(file, src).map_err(|p| broken(file, p))?;
            if let Some(p) = duplicate(file, src, &sc, &mut seen) {
                return Err(broken(file, vec![p]));
            }
            by_id.insert(sc.id().to_string(), sc);
        }
        if let Some(dir) = dir {
            let files = toml_files(dir)?;
            let mut seen = BTreeMap::new();
            for path in files {
                let name = path.display().to_string();
                let src = match read_text(&path) {
                    Ok(s) => s,
                    Err(p) => {
                        problems.push(p);
                        continue;
                    }
                };
                match path.file_name().and_then(|n| n.to_str()) {
                    Some(PHRASEBOOK_FILE) => match parse_phrasebook(&name, &src) {
                        Ok(b) => phrasebook = b,
                        Err(p) => problems.extend(p),
                    },
                    Some(ORG_FILE) => match parse_org(&name, &src) {
                        Ok(o) => org = o,
                        Err(p) => problems.extend(p),
                    },
                    _ => match parse_scenario(&name, &src) {
                        Ok(sc) => match duplicate(&name, &src, &sc, &mut seen) {
                            Some(p) => problems.push(p),
                            None => {
                                by_id.insert(sc.id().to_string(), sc);
                            }
                        },
                        Err(p) => problems.extend(p),
                    },
                }
            }
        }
        let scenarios: Vec<Scenario> = by_id.into_values().collect();
        let suites = load_suites(dir, &scenarios, &mut problems)?;
        Ok(Catalog {
            scenarios,
            phrasebook,
            org,
            suites,
            problems,
        })
    }

    pub fn get(&self, id: &str) -> Result<&Scenario, ScenarioError> {
        self.scenarios
            .iter()
            .find(|s| s.id() == id)
            .ok_or_else(|| ScenarioError::UnknownScenario {
                id: id.to_string(),
                valid: self.ids().join(", "),
            })
    }

    pub fn ids(&self) -> Vec<&str> {
        self.scenarios.iter().map(|s| s.id()).collect()
    }

    pub fn suite(&self, id: &str) -> Result<&Suite, ScenarioError> {
        self.suites
            .iter()
            .find(|s| s.id() == id)
            .ok_or_else(|| ScenarioError::UnknownSuite {
                id: id.to_string(),
                valid: self
                    .suites
                    .iter()
                    .map(|s| s.id())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// The built-in suites and `dir/suites/*.toml`, which override by id. A file that does not
/// parse, or names scenarios the catalog lacks, is a problem and skipped.
fn load_suites(
    dir: Option<&Path>,
    scenarios: &[Scenario],
    problems: &mut Vec<Problem>,
) -> Result<Vec<Suite>, ScenarioError> {
    let mut by_id: BTreeMap<String, Suite> = BTreeMap::new();
    for (file, src) in BUILTIN_SUITES {
        let suite = parse_suite(file, src).map_err(|p| broken(file, p))?;
        by_id.insert(suite.id().to_string(), suite);
    }
    let extra = dir.map(|d| d.join(SUITES_DIR)).filter(|d| d.is_dir());
    if let Some(sd) = extra {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for path in toml_files(&sd)? {
            let name = path.display().to_string();
            let src = match read_text(&path) {
                Ok(s) => s,
                Err(p) => {
                    problems.push(p);
                    continue;
                }
            };
            match parse_suite(&name, &src) {
                Err(p) => problems.extend(p),
                Ok(suite) => {
                    if let Some(first) = seen.get(suite.id()) {
                        problems.push(problem_at(
                            &name,
                            &src,
                            suite.id.span(),
                            format!(
                                "duplicate suite id `{}` (also in {first}): give one of them another id",
                                suite.id()
                            ),
                        ));
                        continue;
                    }
                    seen.insert(suite.id().to_string(), name.clone());
                    by_id.insert(suite.id().to_string(), suite);
                }
            }
        }
    }
    let mut out = Vec::new();
    for suite in by_id.into_values() {
        let p = suite.check_against(scenarios);
        if p.is_empty() {
            out.push(suite);
        } else {
            problems.extend(p);
        }
    }
    Ok(out)
}

fn broken(file: &str, problems: Vec<Problem>) -> ScenarioError {
    let problem = problems
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join("; ");
    ScenarioError::BrokenBuiltin {
        file: file.to_string(),
        problem,
    }
}

fn duplicate(
    file: &str,
    src: &str,
    sc: &Scenario,
    seen: &mut BTreeMap<String, String>,
) -> Option<Problem> {
    match seen.get(sc.id()) {
        Some(first) => Some(problem_at(
            file,
            src,
            sc.id.span(),
            format!(
                "duplicate scenario id `{}` (also in {first}): give one of them another id",
                sc.id()
            ),
        )),
        None => {
            seen.insert(sc.id().to_string(), file.to_string());
            None
        }
    }
}

fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, ScenarioError> {
    let rd = std::fs::read_dir(dir).map_err(|err| ScenarioError::ReadDir {
        path: dir.to_path_buf(),
        err,
    })?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

fn read_text(path: &Path) -> Result<String, Problem> {
    let name = path.display().to_string();
    // Regular files only (a FIFO named x.toml would hang), and not without end.
    let bytes = crate::input::read_limited(path, crate::input::MAX_TEXT_FILE, "a scenario file")
        .map_err(|e| Problem {
            file: name.clone(),
            line: 1,
            col: 1,
            message: format!("cannot read: {}", e.reason()),
        })?;
    String::from_utf8(bytes).map_err(|e| {
        let prefix = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let text = String::from_utf8_lossy(prefix);
        let (line, col) = line_col(&text, text.len());
        Problem {
            file: name,
            line,
            col,
            message: "not valid UTF-8: save the file as UTF-8".into(),
        }
    })
}

/// One file as `scenarios check` reads it: what is wrong with it, and the scenario it holds
/// if it is a scenario file that parsed (for the checks that need the grader).
#[derive(Debug)]
pub struct CheckedFile {
    pub problems: Vec<Problem>,
    pub scenario: Option<Scenario>,
}

/// Reads and validates files as `scenarios check` does: each file is a scenario, or the
/// phrase book / org profile by its name. Duplicate ids across the given files are problems
/// too. One entry per path, in order. The model answers are checked by the grader
/// (`grading::lint::check_files`).
pub fn read_files(paths: &[PathBuf]) -> Vec<CheckedFile> {
    let mut seen = BTreeMap::new();
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let name = path.display().to_string();
        let mut problems = Vec::new();
        let mut scenario = None;
        match read_text(path) {
            Err(p) => problems.push(p),
            Ok(src) => match path.file_name().and_then(|n| n.to_str()) {
                Some(PHRASEBOOK_FILE) => {
                    problems.extend(parse_phrasebook(&name, &src).err().unwrap_or_default())
                }
                Some(ORG_FILE) => problems.extend(parse_org(&name, &src).err().unwrap_or_default()),
                _ => match parse_scenario(&name, &src) {
                    Ok(sc) => {
                        problems.extend(duplicate(&name, &src, &sc, &mut seen));
                        scenario = Some(sc);
                    }
                    Err(p) => problems.extend(p),
                },
            },
        }
        out.push(CheckedFile { problems, scenario });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_loads_with_all_required_ids() {
        let c = Catalog::builtin().unwrap();
        for id in [
            "answer-call",
            "outgoing-call",
            "complaint-call",
            "repair-request",
            "fee-enquiry",
            "fee-reminder",
            "absent-colleague",
            "transfer-call",
            "cannot-hear",
            "silent-call",
            "dialect-caller",
            "angry-caller",
            "end-call",
        ] {
            assert!(c.get(id).is_ok(), "missing {id}");
        }
        assert!(c.problems.is_empty());
        assert_eq!(c.org.name, "广利物业");
    }
}
