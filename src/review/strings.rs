//! Every string the review screens show, in one place, in both languages (as the practice
//! screens do in [`crate::practice::strings`]). Chinese is for trainers at a Chinese desk, so it
//! says 复核, 推翻判定, 备注 as they would; check ids, trainee names and transcripts are data
//! and are shown as stored. Texts with numbers or names in them are functions, so the word
//! order can differ between the languages.
//!
//! The words these screens share with `ringcoach report` (a check's verdict, an interrupted
//! attempt, a corrected transcript) are the report's ([`crate::report::strings`]), reached
//! through [`Strings::report`], so a verdict reads the same on screen and on paper.

use crate::config::Lang;
use crate::report::strings as report;

pub struct Strings {
    pub app: &'static str,
    pub trainer: &'static str,
    pub queue_title: &'static str,
    pub queue_count: fn(usize) -> String,
    /// The queue is capped at [`super::QUEUE_LIMIT`] rows.
    pub queue_capped: fn(usize) -> String,
    /// Column headings over the queue, in the widths the rows use: started 11, trainee 10,
    /// scenario 16, score 3, result 12, flags 3, then the transcript.
    pub columns: [&'static str; 7],
    pub queue_keys: &'static str,
    pub attempt_keys: &'static str,
    pub progress_keys: &'static str,
    pub input_keys: &'static str,
    pub note_keys: &'static str,
    /// What to do about an empty store, given its directory.
    pub empty_store: fn(&str) -> String,
    pub empty_filtered: &'static str,
    pub filters: &'static str,
    pub no_filters: &'static str,
    pub sort: &'static str,
    pub sort_newest: &'static str,
    pub sort_score: &'static str,
    pub sort_trainee: &'static str,
    pub sort_scenario: &'static str,
    pub f_trainee: &'static str,
    pub f_scenario: &'static str,
    pub f_since: &'static str,
    pub f_text: &'static str,
    pub f_passed: &'static str,
    pub f_failed: &'static str,
    pub f_interrupted: &'static str,
    pub f_ungraded: &'static str,
    pub f_needs_review: &'static str,
    pub f_unreviewed: &'static str,
    pub in_search: &'static str,
    pub in_trainee: &'static str,
    pub in_scenario: &'static str,
    pub in_since: &'static str,
    pub in_transcript: &'static str,
    /// The transcript editor on turn `n` of `of`.
    pub in_transcript_turn: fn(usize, usize) -> String,
    /// The keys while correcting a call of several turns.
    pub transcript_keys: &'static str,
    /// The overrule note prompt, given the check id and the (translated) new verdict.
    pub in_note: fn(&str, &str) -> String,
    /// One word per attempt in the queue (an interrupted one: `report.interrupted`).
    pub q_pass: &'static str,
    pub q_fail: &'static str,
    pub checks: &'static str,
    pub critical: &'static str,
    /// "(was uncertain, overruled by wang)", given the translated graded verdict and who.
    pub was_overruled: fn(&str, &str) -> String,
    /// "(confirmed by wang)": a trainer's decision that is the grader's verdict (an
    /// overrule dropped after a re-grade takes the re-graded verdict).
    pub confirmed_by: fn(&str) -> String,
    pub evidence_at: &'static str,
    pub transcript: &'static str,
    /// Before the caller's line in a call of several turns.
    pub caller: &'static str,
    /// Before trainee turn `n` in a call of several turns.
    pub trainee_turn: fn(usize) -> String,
    pub nothing_heard: &'static str,
    pub not_transcribed: &'static str,
    pub audit: &'static str,
    pub no_audit: &'static str,
    pub interrupted: &'static str,
    pub passed: &'static str,
    pub not_passed: &'static str,
    pub reviewed: &'static str,
    pub regraded: &'static str,
    /// Corrected and re-graded, as they usually come together.
    pub corrected_regraded: &'static str,
    pub playing: &'static str,
    pub note_required: &'static str,
    pub unchanged: &'static str,
    pub nothing_to_correct: &'static str,
    /// Status after an overrule: check id, translated old and new verdicts.
    pub done_overruled: fn(&str, &str, &str) -> String,
    /// Status after a correction, given the new score.
    pub done_corrected: fn(u32) -> String,
    pub done_reviewed: &'static str,
    pub done_unreviewed: &'static str,
    /// `o` on the folded banned phrases.
    pub pick_one_check: &'static str,
    /// An overrule to the verdict the check already has, given it translated.
    pub same_verdict: fn(&str) -> String,
    /// Audit log lines (after "date time trainer "): check id, translated verdicts.
    pub audit_overruled: fn(&str, &str, &str) -> String,
    /// The transcript before and after a correction.
    pub audit_corrected: fn(&str, &str) -> String,
    pub audit_regraded: fn(Option<f64>, f64) -> String,
    pub audit_reviewed: &'static str,
    pub audit_unreviewed: &'static str,
    /// An overrule after which the re-grade came to the same verdict on its own: the
    /// translated verdict kept.
    pub audit_kept_regraded: fn(&str, &str) -> String,
    /// Asking about an overrule that no longer matches: check id, who, their (translated)
    /// verdict, the re-graded one.
    pub ask_stale: fn(&str, &str, &str, &str) -> String,
    pub stale_keys: &'static str,
    /// The note logged when a trainer drops an overrule that no longer matches.
    pub dropped_note: &'static str,
    /// Beside a check whose overrule no longer matches: who, their translated verdict.
    pub stale_mark: fn(&str, &str) -> String,
    /// Between an audit entry and its note.
    pub note_sep: &'static str,
    pub progress_title: &'static str,
    /// attempts, scored, passed, mean score.
    pub progress_line: fn(usize, usize, usize, &str) -> String,
    pub scores: &'static str,
    pub weakest: &'static str,
    pub no_scores: &'static str,
    /// After the filters: the zone the times are in, given as "UTC+08:00".
    pub times_in: fn(&str) -> String,
    /// Under the queue: what the `?✓✎` flags mean.
    pub legend: &'static str,
    /// The folded row of passing banned-phrase families, given how many.
    pub banned_folded: fn(usize) -> String,
    /// The folded row of checks that did not apply, given how many.
    pub na_folded: fn(usize) -> String,
    pub na_help: &'static str,
    /// Beside the folded row: how to open it, how to close it.
    pub unfold: &'static str,
    pub fold: &'static str,
    /// The detail line when the folded row is selected.
    pub banned_help: &'static str,
    /// The audit box scrolled: lines shown from–to of all.
    pub audit_window: fn(usize, usize, usize) -> String,
    /// The progress categories scrolled: how many are above and below the window.
    pub more_categories: fn(usize, usize) -> String,
    pub help_title: &'static str,
    pub help_body: &'static str,
    pub too_small: &'static str,
    /// The words shared with `ringcoach report` (verdicts, interrupted, corrected), which
    /// trainers read beside these screens.
    pub report: &'static report::Strings,
}

pub fn strings(lang: Lang) -> &'static Strings {
    match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

impl Strings {
    /// A stored verdict in the reports' words, so the screen and the printed page agree.
    pub fn verdict(&self, v: &str) -> &'static str {
        self.report.verdict(v)
    }

    /// How an attempt in the queue is doing, as a short word.
    pub fn verdict_word(&self, passed: Option<bool>) -> &'static str {
        match passed {
            Some(true) => self.q_pass,
            Some(false) => self.q_fail,
            None => self.report.interrupted,
        }
    }
}

static ZH: Strings = Strings {
    app: "ringcoach 复核",
    trainer: "培训师",
    queue_title: "复核队列",
    queue_count: |n| format!("共 {n} 次练习"),
    queue_capped: |n| format!("仅列出前 {n} 次练习,请缩小筛选范围"),
    columns: ["开始时间", "学员", "情景", "得分", "结果", "?✓✎", "转写"],
    queue_keys: "↑↓ Enter 打开 · / 搜索 · t 学员 · s 情景 · d 日期 · v 结果 · n 需要复核 · u 未复核 · o 排序 · x 清除 · g 进度 · c 认证 · q 退出",
    attempt_keys: "↑↓ 选检查项 · Enter 播放证据处 · p 播放/停止 · o 推翻判定 · e 更正转写 · m 已复核/取消 · PgUp/PgDn 操作记录 · g 进度 · q 返回",
    progress_keys: "↑↓ 滚动类别 · q 返回",
    input_keys: "Enter 确定 · Esc 取消",
    note_keys: "输入备注 · Tab 切换判定 · Enter 保存 · Esc 取消",
    empty_store: |dir| {
        format!(
            "{dir} 中还没有练习记录。\n\n学员在这个数据目录上练习后,记录会出现在这里:\n  ringcoach practice --trainee 姓名\n(或用 --data-dir DIR 打开其他数据目录。)"
        )
    },
    empty_filtered: "没有符合筛选条件的练习。按 x 清除筛选。",
    filters: "筛选:",
    no_filters: "无",
    sort: "排序:",
    sort_newest: "最新",
    sort_score: "得分",
    sort_trainee: "学员",
    sort_scenario: "情景",
    f_trainee: "学员",
    f_scenario: "情景",
    f_since: "起始",
    f_text: "转写含",
    f_passed: "通过",
    f_failed: "未通过",
    f_interrupted: "中断",
    f_ungraded: "未评分",
    f_needs_review: "需要复核",
    f_unreviewed: "未复核",
    in_search: "搜索转写:",
    in_trainee: "学员:",
    in_scenario: "情景:",
    in_since: "起始(7d、12h 或 2026-11-20):",
    in_transcript: "转写:",
    in_transcript_turn: |n, of| format!("转写(第 {n}/{of} 轮):"),
    transcript_keys: "Tab/↑↓ 换一轮 · Enter 保存并重新评分 · Esc 取消",
    in_note: |check, verdict| format!("推翻判定 {check} → {verdict},备注:"),
    q_pass: "通过",
    q_fail: "未通过",
    checks: "检查项",
    critical: "关键",
    was_overruled: |graded, by| format!("(原判{graded},{by} 推翻判定)"),
    confirmed_by: |by| format!("({by} 确认)"),
    evidence_at: "录音位置",
    transcript: "转写",
    caller: "来电:",
    trainee_turn: |n| format!("学员{n}:"),
    nothing_heard: "(没有听到讲话)",
    not_transcribed: "(未转写:录音中断;按 p 播放已保存的部分)",
    audit: "操作记录",
    no_audit: "培训师尚未操作",
    interrupted: "中断(未评分)",
    passed: "通过",
    not_passed: "未通过",
    reviewed: "已复核",
    regraded: "已重新评分",
    corrected_regraded: "转写已更正",
    playing: "▶ 正在播放",
    note_required: "推翻判定必须填写备注,说明理由。",
    unchanged: "转写没有改动,无需重新评分。",
    nothing_to_correct: "中断的练习没有转写可更正。",
    done_overruled: |check, original, verdict| {
        format!("{check}:{original} → {verdict},已记入操作记录")
    },
    done_corrected: |score| format!("转写已更正并重新评分:{score}/100(原始结果保留)"),
    done_reviewed: "已标为已复核",
    done_unreviewed: "已取消已复核标记",
    pick_one_check: "先按 Enter 展开这一行,再选一项推翻判定。",
    same_verdict: |v| format!("判定已经是「{v}」:按 Tab 选另一个判定。"),
    audit_overruled: |check, original, verdict| {
        format!("推翻判定 {check} {original} → {verdict}")
    },
    audit_corrected: |old, new| format!("更正了转写:「{old}」→「{new}」"),
    audit_regraded: |original, score| match original {
        Some(o) => format!("重新评分 {o:.0} → {score:.0}"),
        None => format!("重新评分 → {score:.0}"),
    },
    audit_reviewed: "标为已复核",
    audit_unreviewed: "取消已复核标记",
    audit_kept_regraded: |check, verdict| format!("采用重新评分的判定 {check} {verdict}"),
    ask_stale: |check, by, verdict, regraded| {
        format!("{by} 对 {check} 的推翻判定({verdict})与重新评分({regraded})不再相符:保留吗?")
    },
    stale_keys: "y 保留推翻判定 · n 放弃,采用重新评分 · Esc 稍后再定",
    dropped_note: "重新评分后放弃原推翻判定",
    stale_mark: |by, verdict| format!("({by} 的{verdict}已不相符)"),
    note_sep: ":",
    progress_title: "进度",
    progress_line: |attempts, scored, passed, mean| {
        format!("共 {attempts} 次练习 · {scored} 次评分 · {passed} 次通过 · 平均分 {mean}")
    },
    scores: "历次得分",
    weakest: "各类别通过率(最弱在前)",
    no_scores: "还没有评过分的练习。",
    times_in: |zone| format!("时间为 {zone}"),
    legend: "? 需要复核 · ✓ 已复核 · ✎ 已推翻判定",
    banned_folded: |n| format!("服务忌语 ×{n}"),
    na_folded: |n| format!("不适用 ×{n}"),
    na_help: "这些检查项不适用于这次练习(例如没有录音就不评语速)。按 Enter 逐项列出。",
    unfold: "(Enter 展开)",
    fold: "(Enter 收起)",
    banned_help: "这些服务忌语都没有说。按 Enter 逐项列出,可对其中一项推翻判定。",
    audit_window: |from, to, all| format!("第 {from}–{to} 行/共 {all} 行 · PgUp/PgDn"),
    more_categories: |above, below| format!("上方 {above} 项 · 下方 {below} 项 · ↑↓"),
    help_title: "帮助",
    // Short lines rather than a paragraph: the wrapper breaks only at spaces, and Chinese
    // has few, so a wrapped paragraph comes out ragged.
    help_body: "【队列】\nt/s 按学员、情景筛选(开头几个字即可,不分大小写)\nd 按起始时间筛选:7d、12h 或 2026-11-20(本地时间)\n/ 按读音搜索转写(广利物业也能找到广立物业)\nv 按结果筛选 · n 只看需要复核的 · u 只看未复核的 · o 排序\n? 需要复核 · ✓ 已复核 · ✎ 已推翻判定\nc 认证考试中待裁定的项目(Enter 打开,Esc 返回)\n【练习】\n↑↓ 选检查项 · Enter 从证据处(▶)播放 · p 从头播放/停止\no 推翻判定(Tab 选判定,必须填写备注)\ne 逐轮更正转写并重新评分(原始转写保留)\nm 标为已复核,再按一次取消 · PgUp/PgDn 翻看操作记录\n重新评分后不再相符的推翻判定:y 保留,n 放弃\n每次操作都连同你的名字和时间记入操作记录。按任意键关闭。",
    too_small: "窗口太小:至少需要 80×24。",
    report: &report::ZH,
};

static EN: Strings = Strings {
    app: "ringcoach review",
    trainer: "trainer",
    queue_title: "Review queue",
    queue_count: |n| match n {
        1 => "1 attempt".to_string(),
        n => format!("{n} attempts"),
    },
    queue_capped: |n| format!("first {n} attempts: narrow the filters"),
    columns: ["started", "trainee", "scenario", "score", "result", "?✓✎", "transcript"],
    queue_keys: "↑↓ Enter open · / search · t trainee · s scenario · d since · v verdict · n needs review · u unreviewed · o sort · x clear · g progress · c exams · q quit",
    attempt_keys: "↑↓ check · Enter play evidence · p play/stop · o overrule · e correct · m reviewed on/off · PgUp/PgDn audit · g progress · q back",
    progress_keys: "↑↓ scroll categories · q back",
    input_keys: "Enter apply · Esc cancel",
    note_keys: "type a note · Tab verdict · Enter save · Esc cancel",
    empty_store: |dir| {
        format!(
            "No attempts yet in {dir}.\n\nAttempts appear here once trainees practise on this data directory:\n  ringcoach practice --trainee NAME\n(or open another store with --data-dir DIR)."
        )
    },
    empty_filtered: "No attempts match these filters. x clears them.",
    filters: "Filters:",
    no_filters: "none",
    sort: "sort:",
    sort_newest: "newest",
    sort_score: "score",
    sort_trainee: "trainee",
    sort_scenario: "scenario",
    f_trainee: "trainee",
    f_scenario: "scenario",
    f_since: "since",
    f_text: "text",
    f_passed: "passed",
    f_failed: "failed",
    f_interrupted: "interrupted",
    f_ungraded: "ungraded",
    f_needs_review: "needs review",
    f_unreviewed: "unreviewed",
    in_search: "search transcript: ",
    in_trainee: "trainee: ",
    in_scenario: "scenario: ",
    in_since: "since (7d, 12h or 2026-11-20): ",
    in_transcript: "transcript: ",
    in_transcript_turn: |n, of| format!("transcript (turn {n} of {of}): "),
    transcript_keys: "Tab/↑↓ next turn · Enter save and re-grade · Esc cancel",
    in_note: |check, verdict| format!("overrule {check} → {verdict}, note: "),
    q_pass: "pass",
    q_fail: "fail",
    checks: "Checks",
    critical: "critical",
    was_overruled: |graded, by| format!("(was {graded}, overruled by {by})"),
    confirmed_by: |by| format!("(confirmed by {by})"),
    evidence_at: "said at",
    transcript: "Transcript",
    caller: "caller:",
    trainee_turn: |n| format!("trainee {n}:"),
    nothing_heard: "(nothing heard)",
    not_transcribed: "(not transcribed: the recording was interrupted; p plays what was kept)",
    audit: "Audit log",
    no_audit: "no trainer actions yet",
    interrupted: "INTERRUPTED (no grade)",
    passed: "PASSED",
    not_passed: "NOT PASSED",
    reviewed: "reviewed",
    regraded: "re-graded",
    corrected_regraded: "corrected",
    playing: "▶ playing",
    note_required: "An overrule needs a note saying why.",
    unchanged: "The transcript is unchanged; nothing to re-grade.",
    nothing_to_correct: "An interrupted attempt has no transcript to correct.",
    done_overruled: |check, original, verdict| {
        format!("{check}: {original} → {verdict}, saved to the audit log")
    },
    done_corrected: |score| {
        format!("transcript corrected and re-graded: {score}/100 (the original is kept)")
    },
    done_reviewed: "marked reviewed",
    done_unreviewed: "reviewed mark taken back",
    pick_one_check: "Open this row with Enter, then pick one check to overrule.",
    same_verdict: |v| format!("The verdict already is {v}: Tab picks another."),
    audit_overruled: |check, original, verdict| format!("overruled {check} {original} → {verdict}"),
    audit_corrected: |old, new| format!("corrected the transcript: 「{old}」 → 「{new}」"),
    audit_regraded: |original, score| match original {
        Some(o) => format!("re-graded {o:.0} → {score:.0}"),
        None => format!("re-graded → {score:.0}"),
    },
    audit_reviewed: "marked reviewed",
    audit_unreviewed: "took the reviewed mark back",
    audit_kept_regraded: |check, verdict| format!("took the re-graded {check} {verdict}"),
    ask_stale: |check, by, verdict, regraded| {
        format!("{by}'s overrule of {check} ({verdict}) no longer matches the re-graded {regraded}: keep it?")
    },
    stale_keys: "y keep the overrule · n drop it, take the re-grade · Esc decide later",
    dropped_note: "overrule dropped after re-grade",
    stale_mark: |by, verdict| format!("({by}'s {verdict} no longer matches)"),
    note_sep: ": ",
    progress_title: "Progress",
    progress_line: |attempts, scored, passed, mean| {
        let attempts = match attempts {
            1 => "1 attempt".to_string(),
            n => format!("{n} attempts"),
        };
        format!("{attempts} · {scored} scored · {passed} passed · mean score {mean}")
    },
    scores: "Scores over time",
    weakest: "Pass rate per category (weakest first)",
    no_scores: "No scored attempts yet.",
    times_in: |zone| format!("times in {zone}"),
    legend: "? needs review · ✓ reviewed · ✎ overruled",
    banned_folded: |n| format!("banned phrases ×{n}"),
    na_folded: |n| format!("not applicable ×{n}"),
    na_help: "These checks did not apply to this attempt (no audio, no speech rate). Enter lists them.",
    unfold: "(Enter lists them)",
    fold: "(Enter folds them)",
    banned_help: "None of these banned phrases was said. Enter lists them one by one, to overrule one.",
    audit_window: |from, to, all| format!("lines {from}–{to} of {all} · PgUp/PgDn"),
    more_categories: |above, below| format!("{above} above · {below} below · ↑↓"),
    help_title: "Help",
    help_body: "Queue: t/s filter by trainee or scenario (the start of the name, any case); d by start: 7d, 12h or 2026-11-20 (local time); / searches the transcripts by sound (广利物业 finds 广立物业); v cycles passed/failed/interrupted, n only attempts with an uncertain check, u only unreviewed ones, o changes the order. Flags: ? needs review, ✓ reviewed, ✎ overruled. c lists what certification sittings leave open (Enter opens an item at its check, Esc comes back).\n\nAttempt: ↑↓ picks a check, Enter plays the recording from where its evidence was said (▶), p from the start. o overrules the check (Tab picks the verdict, a note is required); e corrects the transcript turn by turn and re-grades it (the original is kept); m marks it reviewed, again takes the mark back; PgUp/PgDn scroll the audit log. An overrule that no longer matches a re-grade: y keeps it, n drops it. Every action is logged with your name and the time. Any key closes this help.",
    too_small: "The window is too small: make it at least 80×24.",
    report: &report::EN,
};

/// The mark before a check: ✔ pass, ✘ fail, ? uncertain, – not applicable.
pub fn mark(verdict: &str) -> &'static str {
    match verdict {
        "pass" => "✔",
        "fail" => "✘",
        "uncertain" => "?",
        _ => "–",
    }
}
