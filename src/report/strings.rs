//! The words of a report, in both languages: a check's verdict, an interrupted attempt, a
//! corrected transcript, and the headings of the HTML page. The review screens show the
//! same verdicts beside these pages, so they take these words from here (their own strings
//! hold a reference to these); nothing here depends on review. Texts with numbers or
//! names in them are functions, so the word order can differ between the languages.

use crate::config::Lang;

pub struct Strings {
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
    pub generated: &'static str,
    pub weakest: &'static str,
    pub progress: &'static str,
    pub pass_rate: &'static str,
    pub attempts: &'static str,
    pub columns: [&'static str; 6],
    /// graded verdict, trainer, note: all already escaped for HTML.
    pub was_overruled: fn(&str, &str, &str) -> String,
    pub score_per_attempt: &'static str,
    pub no_scored: &'static str,
    pub x_axis: &'static str,
    pub no_checks: &'static str,
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
    generated: "生成于",
    weakest: "最弱的类别:",
    progress: "历次得分",
    pass_rate: "各类别通过率",
    attempts: "练习记录",
    columns: [
        "开始时间(UTC)",
        "情景",
        "得分",
        "结果",
        "未通过或不确定的检查项",
        "转写",
    ],
    was_overruled: |graded, by, note| format!("(原判{graded},{by} 推翻判定:{note})"),
    score_per_attempt: "每次练习的得分",
    no_scored: "还没有评过分的练习",
    x_axis: "练习,从旧到新(实心 = 通过)",
    no_checks: "还没有评过的检查项",
};

pub(crate) static EN: Strings = Strings {
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
        format!("{attempts} attempts ({scored} scored, {passed} passed) · mean score {mean}")
    },
    generated: "generated",
    weakest: "Weakest categories:",
    progress: "Progress over time",
    pass_rate: "Pass rate per category",
    attempts: "Attempts",
    columns: [
        "Started (UTC)",
        "Scenario",
        "Score",
        "Result",
        "Failed or uncertain checks",
        "Transcript",
    ],
    was_overruled: |graded, by, note| format!("(was {graded}, overruled by {by}: {note})"),
    score_per_attempt: "Score per attempt",
    no_scored: "no scored attempts",
    x_axis: "attempts, oldest → newest (filled = passed)",
    no_checks: "no graded checks",
};
