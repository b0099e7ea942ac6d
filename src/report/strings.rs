//! The words of a report, in both languages: a check's verdict, an interrupted attempt, a
//! corrected transcript, and the headings of the HTML page. The review screens show the
//! same verdicts beside these pages, so they take these words from here (their own strings
//! hold a reference to these); nothing here depends on review. Texts with numbers or
//! names in them are functions, so the word order can differ between the languages.

use crate::config::Lang;

pub struct Strings {
    /// The page's language, for its `lang` attribute.
    pub html_lang: &'static str,
    /// A check's verdict.
    pub v_pass: &'static str,
    pub v_fail: &'static str,
    pub v_uncertain: &'static str,
    pub v_na: &'static str,
    /// An attempt that was interrupted (no grade), as one word.
    pub interrupted: &'static str,
    /// An attempt recorded to its end but not (yet) graded, as one word.
    pub ungraded: &'static str,
    pub corrected: &'static str,
    pub title: fn(&str) -> String,
    pub all: &'static str,
    pub from: fn(&str) -> String,
    pub before: fn(&str) -> String,
    /// attempts, scored, passed, mean score.
    pub summary: fn(usize, usize, usize, &str) -> String,
    /// The zone the page's times are in, given as "Asia/Shanghai UTC+08:00".
    pub times_in: fn(&str) -> String,
    pub generated: &'static str,
    pub weakest: &'static str,
    pub progress: &'static str,
    pub pass_rate: &'static str,
    pub attempts: &'static str,
    /// graded verdict, trainer, note: all already escaped for HTML.
    pub was_overruled: fn(&str, &str, &str) -> String,
    /// A trainer's decision that is the grader's verdict (escaped): by whom, their note.
    pub confirmed_by: fn(&str, &str) -> String,
    /// An overrule a re-grade no longer matches: trainer, their verdict (escaped).
    pub no_longer_matches: fn(&str, &str) -> String,
    pub score_per_attempt: &'static str,
    pub no_scored: &'static str,
    pub x_axis: &'static str,
    pub no_checks: &'static str,
    /// Headings of the pass-rate table and of an attempt's checks.
    pub category: &'static str,
    pub rate: &'static str,
    pub check: &'static str,
    pub result: &'static str,
    pub reason: &'static str,
    pub critical: &'static str,
    pub score: &'static str,
    /// Picked up: after how many rings, how many seconds after the first.
    pub pickup: &'static str,
    pub pickup_value: fn(Option<u32>, Option<f64>) -> String,
    pub first_words: &'static str,
    pub seconds: fn(f64) -> String,
    pub speech_rate: &'static str,
    pub per_minute: fn(f64) -> String,
    pub review: &'static str,
    /// Who marked it reviewed, and when (local).
    pub reviewed_by: fn(&str, &str) -> String,
    pub not_reviewed: &'static str,
    pub needs_review: &'static str,
    pub unknown: &'static str,
    pub transcript: &'static str,
    pub trainee_turn: fn(usize) -> String,
    pub model_answer: &'static str,
    pub all_passed: &'static str,
}

impl Strings {
    /// A check's verdict as stored ("pass", "fail", "uncertain", "not_applicable").
    pub fn verdict(&self, v: &str) -> &'static str {
        match v {
            "pass" => self.v_pass,
            "fail" => self.v_fail,
            "uncertain" => self.v_uncertain,
            _ => self.v_na,
        }
    }
}

/// The report's words in `lang`.
pub fn strings(lang: Lang) -> &'static Strings {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

pub(crate) static ZH: Strings = Strings {
    html_lang: "zh-Hans",
    v_pass: "通过",
    v_fail: "未通过",
    v_uncertain: "不确定",
    v_na: "不适用",
    interrupted: "中断",
    ungraded: "未评分",
    corrected: "转写已更正",
    title: |name| format!("电话礼仪练习进度:{name}"),
    all: "全部练习",
    from: |t| format!("{t} 起"),
    before: |t| format!("{t} 之前"),
    summary: |attempts, scored, passed, mean| {
        format!("共 {attempts} 次练习({scored} 次评分,{passed} 次通过) · 平均分 {mean}")
    },
    times_in: |zone| format!("时间为 {zone}"),
    generated: "生成于",
    weakest: "最弱的类别:",
    progress: "历次得分",
    pass_rate: "各类别通过率",
    attempts: "练习记录",
    was_overruled: |graded, by, note| format!("(原判{graded},{by} 推翻判定:{note})"),
    confirmed_by: |by, note| format!("({by} 确认:{note})"),
    no_longer_matches: |by, verdict| {
        format!("({by} 原推翻为{verdict},与重新评分不再相符,待培训师决定)")
    },
    score_per_attempt: "每次练习的得分",
    no_scored: "还没有评过分的练习",
    x_axis: "练习,从旧到新(实心 = 通过)",
    no_checks: "还没有评过的检查项",
    category: "类别",
    rate: "通过率",
    check: "检查项",
    result: "结果",
    reason: "原因",
    critical: "关键项",
    score: "得分",
    pickup: "接听",
    pickup_value: |rings, secs| match (rings, secs) {
        (Some(r), Some(s)) => format!("第 {r} 声接起,{s:.1} 秒"),
        (Some(r), None) => format!("第 {r} 声接起"),
        (None, Some(s)) => format!("{s:.1} 秒"),
        (None, None) => "未知".to_string(),
    },
    first_words: "开口",
    seconds: |s| format!("{s:.1} 秒"),
    speech_rate: "语速",
    per_minute: |c| format!("每分钟 {c:.0} 字"),
    review: "复核",
    reviewed_by: |by, at| format!("{by} 于 {at} 复核"),
    not_reviewed: "未复核",
    needs_review: "需要复核",
    unknown: "未知",
    transcript: "学员的回答:",
    trainee_turn: |n| format!("第 {n} 轮:"),
    model_answer: "示范回答:",
    all_passed: "所有检查项都通过了。",
};

pub(crate) static EN: Strings = Strings {
    html_lang: "en",
    v_pass: "pass",
    v_fail: "fail",
    v_uncertain: "uncertain",
    v_na: "n/a",
    interrupted: "interrupted",
    ungraded: "ungraded",
    corrected: "transcript corrected",
    title: |name| format!("Phone-etiquette progress: {name}"),
    all: "all attempts",
    from: |t| format!("from {t}"),
    before: |t| format!("before {t}"),
    summary: |attempts, scored, passed, mean| {
        let attempts = match attempts {
            1 => "1 attempt".to_string(),
            n => format!("{n} attempts"),
        };
        format!("{attempts} ({scored} scored, {passed} passed) · mean score {mean}")
    },
    times_in: |zone| format!("times in {zone}"),
    generated: "generated",
    weakest: "Weakest categories:",
    progress: "Progress over time",
    pass_rate: "Pass rate per category",
    attempts: "Attempts",
    was_overruled: |graded, by, note| format!("(was {graded}, overruled by {by}: {note})"),
    confirmed_by: |by, note| format!("(confirmed by {by}: {note})"),
    no_longer_matches: |by, verdict| {
        format!("({by} had overruled it to {verdict}; that no longer matches the re-grade, a trainer decides)")
    },
    score_per_attempt: "Score per attempt",
    no_scored: "no scored attempts",
    x_axis: "attempts, oldest → newest (filled = passed)",
    no_checks: "no graded checks",
    category: "Category",
    rate: "Pass rate",
    check: "Check",
    result: "Result",
    reason: "Why",
    critical: "critical",
    score: "Score",
    pickup: "Picked up",
    pickup_value: |rings, secs| match (rings, secs) {
        (Some(r), Some(s)) => format!("on ring {r}, after {s:.1} s"),
        (Some(r), None) => format!("on ring {r}"),
        (None, Some(s)) => format!("after {s:.1} s"),
        (None, None) => "unknown".to_string(),
    },
    first_words: "First words",
    seconds: |s| format!("{s:.1} s"),
    speech_rate: "Speech rate",
    per_minute: |c| format!("{c:.0} characters a minute"),
    review: "Review",
    reviewed_by: |by, at| format!("reviewed by {by}, {at}"),
    not_reviewed: "not reviewed",
    needs_review: "needs review",
    unknown: "unknown",
    transcript: "What the trainee said:",
    trainee_turn: |n| format!("turn {n}:"),
    model_answer: "Model answer:",
    all_passed: "Every check passed.",
};

/// A category of checks (`opening`, `banned_phrase`, `speech_rate`…) for people, in `lang`.
pub fn category_name(category: &str, lang: Lang) -> String {
    let named = match category {
        "banned_phrase" => Some(("服务忌语", "banned phrases")),
        "must_say" => Some(("必说内容", "must-say items")),
        _ => None,
    };
    let (zh, en) = match named {
        Some((zh, en)) => (zh.to_string(), en.to_string()),
        None => match crate::grading::report::builtin_name(category) {
            Some(m) => (m.zh, m.en),
            None => (category.to_string(), category.to_string()),
        },
    };
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}
