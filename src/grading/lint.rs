//! Checks of scenario files that need the grader: every model answer must pass its own
//! rubric. `scenarios check` runs these on top of what the loader checks in each file
//! (syntax, ids, empty lists, banned patterns, `unless` contexts that can never apply).
//!
//! The loader never calls the grader; the grader reads the scenario types. So this lint
//! lives here, and the scenario module knows nothing of it.

use std::path::PathBuf;

use super::{grade_model_answer, Verdict};
use crate::scenario::{problem_at, read_files, Catalog, Problem, Scenario, ScenarioError};

/// Validates files as `scenarios check FILE…` does: the loader's checks of each file, then
/// its model answers against the built-in phrase book and organisation. Problems come in
/// file order.
pub fn check_files(paths: &[PathBuf]) -> Result<Vec<Problem>, ScenarioError> {
    let builtin = Catalog::builtin()?;
    let mut problems = Vec::new();
    for file in read_files(paths) {
        problems.extend(file.problems);
        if let Some(sc) = &file.scenario {
            problems.extend(model_answer_problems(&sc.file, &sc.source, sc, &builtin));
        }
    }
    Ok(problems)
}

/// Every model answer must pass its own scenario with the default organisation; one that
/// does not means the rubric and its examples disagree.
pub fn model_answer_problems(
    file: &str,
    src: &str,
    sc: &Scenario,
    catalog: &Catalog,
) -> Vec<Problem> {
    let mut out = Vec::new();
    for (i, answer) in sc.model_answers.get_ref().iter().enumerate() {
        let report = grade_model_answer(sc, &catalog.phrasebook, &catalog.org, answer);
        let failing: Vec<String> = report
            .checks
            .iter()
            .filter(|c| matches!(c.verdict, Verdict::Fail | Verdict::Uncertain))
            .map(|c| format!("{} ({})", c.id, c.verdict))
            .collect();
        // Trainees copy model answers: passing on points is not enough, every check must pass.
        if !report.passed || !failing.is_empty() {
            out.push(problem_at(
                file,
                src,
                answer.turns.span(),
                format!(
                    "model answer {} does not pass its own rubric (score {}; {}): fix the answer or the rubric",
                    i + 1,
                    report.score,
                    failing.join(", ")
                ),
            ));
        }
    }
    out
}
