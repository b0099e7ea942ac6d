//! Every string the review screens show, in one place. English only for now: trainers
//! read the Chinese transcript and the grader's zh/en messages, which are shown as stored.

pub struct Strings {
    pub queue_title: &'static str,
    pub queue_keys: &'static str,
    pub attempt_keys: &'static str,
    pub progress_keys: &'static str,
    pub input_keys: &'static str,
    pub note_keys: &'static str,
    pub empty_store: &'static str,
    pub empty_filtered: &'static str,
    pub filters: &'static str,
    pub no_filters: &'static str,
    pub checks: &'static str,
    pub transcript: &'static str,
    pub nothing_heard: &'static str,
    pub not_transcribed: &'static str,
    pub audit: &'static str,
    pub no_audit: &'static str,
    pub interrupted: &'static str,
    pub passed: &'static str,
    pub not_passed: &'static str,
    pub reviewed: &'static str,
    pub corrected: &'static str,
    pub regraded: &'static str,
    pub playing: &'static str,
    pub evidence_at: &'static str,
    pub overruled_by: &'static str,
    pub note_required: &'static str,
    pub unchanged: &'static str,
    pub nothing_to_correct: &'static str,
    pub progress_title: &'static str,
    pub scores: &'static str,
    pub weakest: &'static str,
    pub no_scores: &'static str,
    pub help_title: &'static str,
    pub help_body: &'static str,
    pub too_small: &'static str,
}

pub static S: Strings = Strings {
    queue_title: "Review queue",
    queue_keys: "↑↓ Enter open · / search · t trainee · s scenario · d since · v verdict · n needs review · u unreviewed · o sort · x clear · g progress · q quit",
    attempt_keys: "↑↓ check · Enter play evidence · p play/stop · o overrule · e correct · m reviewed · g progress · q back",
    progress_keys: "q back",
    input_keys: "Enter apply · Esc cancel",
    note_keys: "type a note · Tab verdict · Enter save · Esc cancel",
    empty_store: "No attempts yet in",
    empty_filtered: "No attempts match these filters. x clears them.",
    filters: "Filters:",
    no_filters: "none",
    checks: "Checks",
    transcript: "Transcript",
    nothing_heard: "(nothing heard)",
    not_transcribed: "(not transcribed: the recording was interrupted; p plays what was kept)",
    audit: "Audit log",
    no_audit: "no trainer actions yet",
    interrupted: "INTERRUPTED (no grade)",
    passed: "PASSED",
    not_passed: "NOT PASSED",
    reviewed: "reviewed",
    corrected: "transcript corrected",
    regraded: "re-graded",
    playing: "▶ playing",
    evidence_at: "said at",
    overruled_by: "overruled by",
    note_required: "An overrule needs a note saying why.",
    unchanged: "The transcript is unchanged; nothing to re-grade.",
    nothing_to_correct: "An interrupted attempt has no transcript to correct.",
    progress_title: "Progress",
    scores: "Scores over time",
    weakest: "Pass rate per category (weakest first)",
    no_scores: "No scored attempts yet.",
    help_title: "Help",
    help_body: "Queue: filter with t/s/d (type, Enter), v cycles passed/failed/interrupted, n shows only attempts with an uncertain check, u only unreviewed ones, / searches the transcript, o changes the order. Enter opens an attempt.\n\nAttempt: ↑↓ picks a check, Enter plays the recording from where its evidence was said, p plays from the start. o overrules the check (Tab picks the verdict, a note is required); e corrects the transcript and re-grades it (the original is kept); m marks it reviewed. Every action is kept in the audit log with your name and the time.\n\nAny key closes this help.",
    too_small: "The window is too small: make it at least 80×24.",
};

/// How an attempt in the queue is doing, as a short word.
pub fn verdict_word(passed: Option<bool>) -> &'static str {
    match passed {
        Some(true) => "pass",
        Some(false) => "fail",
        None => "interrupted",
    }
}

/// The mark before a check: ✔ pass, ✘ fail, ? uncertain, – not applicable.
pub fn mark(verdict: &str) -> &'static str {
    match verdict {
        "pass" => "✔",
        "fail" => "✘",
        "uncertain" => "?",
        _ => "–",
    }
}
