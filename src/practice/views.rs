//! Rendering of the practice state. Pure functions of [`App`]: no grading, no I/O.

use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Clear, Gauge, List, ListItem, ListState, Paragraph, Wrap};
use ratatui::Frame;
use unicode_width::UnicodeWidthStr;

use super::{
    App, CheckReason, CheckRow, CheckStage, Feedback, Mark, MicCheckScreen, Screen, Situation,
    Verdict,
};
use crate::audio::quality::CHECK_LINE;
use crate::config::Lang;

use super::strings::{exam_strings, strings, ExamStrings, Strings};

pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

pub fn render(app: &App, frame: &mut Frame) {
    let s = strings(app.lang);
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        frame.render_widget(Paragraph::new(s.too_small).wrap(Wrap { trim: true }), area);
        return;
    }
    // A status message wraps (up to four lines) instead of being cut at the edge: its
    // cause is usually at the end ("… — the recording is kept as …").
    let footer_rows = app
        .status
        .as_deref()
        .map_or(1, |m| wrapped_rows(m, area.width).clamp(1, 4));
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(footer_rows),
    ])
    .areas(area);

    let header_line = match &app.exam {
        None => Line::from(vec![
            Span::styled(s.app_title, Style::new().bold()),
            Span::raw(format!("  ·  {} {}", s.you_answer_for, app.org)),
        ]),
        Some(exam) => {
            let x = exam_strings(app.lang);
            let call = (x.call_of)((app.selected + 1).min(app.total_calls()), app.total_calls());
            Line::from(vec![
                Span::styled(x.app_title, Style::new().bold()),
                Span::raw(format!("  ·  {}  ·  {call}", exam.candidate)),
            ])
        }
    };
    // In a training room, the desk's upload queue at the right of the header.
    let uploads = app.uploads.map(|q| {
        let style = if q.offline && q.waiting > 0 {
            Style::new().fg(Color::Yellow)
        } else {
            Style::new().dim()
        };
        Line::from(Span::styled((s.uploads)(q.waiting, q.offline), style))
    });
    let width = uploads.as_ref().map_or(0, |l| l.width() as u16 + 2);
    let [header, header_right] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(width)]).areas(header);
    frame.render_widget(header_line, header);
    if let Some(line) = uploads {
        frame.render_widget(
            Paragraph::new(line).alignment(Alignment::Right),
            header_right,
        );
    }

    let forced_hint;
    let check_hint;
    let hint = match (&app.screen, &app.exam) {
        (Screen::Pick, _) => s.pick_hint,
        (Screen::Card, Some(_)) => exam_strings(app.lang).card_hint,
        (Screen::Card, None) => s.card_hint,
        (Screen::Ringing { .. }, Some(exam)) => {
            match exam.forced_rings.get(app.selected).copied().flatten() {
                Some(n) => {
                    forced_hint = (exam_strings(app.lang).ringing_forced)(n);
                    forced_hint.as_str()
                }
                None => s.ringing_hint,
            }
        }
        (Screen::Ringing { .. }, None) => s.ringing_hint,
        (Screen::Call { .. }, _) => s.call_hint,
        (Screen::Working { .. }, _) => "",
        (Screen::Feedback { .. }, Some(_)) => exam_strings(app.lang).feedback_hint,
        (Screen::Feedback { .. }, None) => s.feedback_hint,
        (Screen::Proctor, _) => exam_strings(app.lang).proctor_hint,
        (Screen::Between, _) => exam_strings(app.lang).between_hint,
        (Screen::ExamEnd, _) => exam_strings(app.lang).end_hint,
        (Screen::MicCheck(c), _) => {
            let keys = match &c.stage {
                CheckStage::Listening { .. } => s.check_listening_hint,
                CheckStage::Judged(v) if v.passed => s.check_passed_hint,
                CheckStage::Judged(_) => s.check_failed_hint,
            };
            let q = if c.reason.at_start() {
                s.check_quit
            } else {
                s.check_back
            };
            check_hint = format!("{keys} · {q}");
            check_hint.as_str()
        }
    };
    let footer_line = match &app.status {
        Some(msg) => Line::from(Span::styled(msg.clone(), Style::new().fg(Color::Red))),
        None => Line::from(Span::styled(hint, Style::new().dim())),
    };
    frame.render_widget(
        Paragraph::new(footer_line).wrap(Wrap { trim: true }),
        footer,
    );

    match &app.screen {
        Screen::Pick => pick(app, s, frame, body),
        Screen::Card => {
            if let Some(sit) = app.current() {
                card(app, sit, s, frame, body)
            }
        }
        Screen::Ringing { rings, elapsed_ms } => ringing(*rings, *elapsed_ms, s, frame, body),
        Screen::Call {
            turn,
            elapsed_ms,
            level_db,
            heard_speech,
        } => call(
            app,
            *turn,
            *elapsed_ms,
            *level_db,
            *heard_speech,
            s,
            frame,
            body,
        ),
        Screen::Working {
            done_turns,
            elapsed_ms,
        } => working(app, *done_turns, *elapsed_ms, s, frame, body),
        Screen::Feedback { feedback, scroll } => {
            feedback_screen(app, feedback, *scroll, s, frame, body)
        }
        Screen::Proctor => proctor(app, exam_strings(app.lang), frame, body),
        Screen::Between => between(app, exam_strings(app.lang), frame, body),
        Screen::ExamEnd => exam_end(app, exam_strings(app.lang), frame, body),
        Screen::MicCheck(c) => mic_check(app, c, s, frame, body),
    }

    if app.exam.as_ref().is_some_and(|e| e.confirm_leave) {
        let x = exam_strings(app.lang);
        let popup = centered(body, 52, 8);
        frame.render_widget(Clear, popup);
        frame.render_widget(
            Paragraph::new(x.confirm_body)
                .alignment(Alignment::Center)
                .block(Block::bordered().title(x.confirm_title)),
            popup,
        );
    }

    if app.show_help {
        let popup = centered(body, 56, 11);
        frame.render_widget(Clear, popup);
        frame.render_widget(
            Paragraph::new(s.help_body).block(Block::bordered().title(s.help_title)),
            popup,
        );
    }
}

/// Rows `text` takes wrapped at `width` columns (CJK characters are two columns wide).
fn wrapped_rows(text: &str, width: u16) -> u16 {
    let cols = Line::from(text).width();
    // Word wrapping loses a little at each line end; a fifth more is enough.
    let w = usize::from(width.max(1));
    u16::try_from((cols + cols / 5).div_ceil(w)).unwrap_or(u16::MAX)
}

fn title(app: &App, sit: &Situation) -> String {
    match app.lang {
        Lang::Zh => format!("{} ({})", sit.title_zh, sit.title_en),
        Lang::En => format!("{} ({})", sit.title_en, sit.title_zh),
    }
}

fn pick(app: &App, s: &Strings, frame: &mut Frame, area: Rect) {
    let items: Vec<ListItem> = app
        .situations
        .iter()
        .map(|sit| {
            let dir = if sit.direction == "outgoing" {
                s.outgoing
            } else {
                s.incoming
            };
            let best = sit
                .best_score
                .map_or_else(|| s.never.to_string(), |b| format!("{} {b}", s.best));
            ListItem::new(Line::from(vec![
                Span::raw(format!("{:<18}", sit.id)),
                Span::raw(stars(sit.difficulty)),
                Span::raw(format!("{dir}  ")),
                Span::styled(title(app, sit), Style::new().bold()),
                Span::styled(format!("  {best}"), Style::new().dim()),
            ]))
        })
        .collect();
    let mut state = ListState::default().with_selected(Some(app.selected));
    frame.render_stateful_widget(
        List::new(items)
            .block(Block::bordered().title(s.pick_title))
            .highlight_symbol("▶ ")
            .highlight_style(Style::new().add_modifier(Modifier::REVERSED)),
        area,
        &mut state,
    );
}

/// Difficulty as a fixed-width column of stars.
fn stars(difficulty: u8) -> String {
    let n = difficulty.clamp(1, 3) as usize;
    format!("{}{} ", "★".repeat(n), " ".repeat(3 - n))
}

fn card(app: &App, sit: &Situation, s: &Strings, frame: &mut Frame, area: Rect) {
    let mut lines = vec![
        Line::from(Span::styled(title(app, sit), Style::new().bold())),
        Line::from(format!(
            "{} · {} {}",
            if sit.direction == "outgoing" {
                s.outgoing
            } else {
                s.incoming
            },
            s.difficulty,
            "★".repeat(sit.difficulty.clamp(1, 3) as usize)
        )),
        Line::default(),
        Line::from(sit.brief_zh.clone()),
        Line::from(Span::styled(sit.brief_en.clone(), Style::new().dim())),
        Line::default(),
    ];
    for (i, (zh, en)) in sit.caller_turns.iter().enumerate() {
        if zh.is_empty() {
            continue;
        }
        lines.push(Line::from(format!("{} {}: {zh}", s.caller_says, i + 1)));
        lines.push(Line::from(Span::styled(
            format!("    {en}"),
            Style::new().dim(),
        )));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(s.card_title)),
        area,
    );
}

fn ringing(rings: u32, elapsed_ms: u64, s: &Strings, frame: &mut Frame, area: Rect) {
    let bells = "☎ ".repeat(rings.min(10) as usize);
    let late = rings > 3;
    let text = Text::from(vec![
        Line::default(),
        Line::from(Span::styled(s.ringing_title, Style::new().bold())).alignment(Alignment::Center),
        Line::default(),
        Line::from(bells).alignment(Alignment::Center),
        Line::from(Span::styled(
            format!("{} {rings} · {:.1} s", s.rings, elapsed_ms as f64 / 1000.0),
            if late {
                Style::new().fg(Color::Red)
            } else {
                Style::new()
            },
        ))
        .alignment(Alignment::Center),
    ]);
    frame.render_widget(Paragraph::new(text).block(Block::bordered()), area);
}

#[allow(clippy::too_many_arguments)]
fn call(
    app: &App,
    turn: usize,
    elapsed_ms: u64,
    level_db: f32,
    heard: bool,
    s: &Strings,
    frame: &mut Frame,
    area: Rect,
) {
    let [top, meter, rest] = Layout::vertical([
        Constraint::Length(6),
        Constraint::Length(3),
        Constraint::Min(0),
    ])
    .areas(area);
    let caller = app
        .current()
        .and_then(|sit| sit.caller_turns.get(turn))
        .cloned()
        .unwrap_or_default();
    let turn_label = match app.lang {
        Lang::Zh => format!("{}{}/{}轮", s.turn, turn + 1, app.turns()),
        Lang::En => format!("{} {}/{}", s.turn, turn + 1, app.turns()),
    };
    let mut lines = vec![Line::from(turn_label)];
    if !caller.0.is_empty() {
        lines.push(Line::from(format!("{}: {}", s.caller_says, caller.0)));
        lines.push(Line::from(Span::styled(
            format!("    {}", caller.1),
            Style::new().dim(),
        )));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(s.call_title)),
        top,
    );
    frame.render_widget(level_gauge(elapsed_ms, level_db, heard, s), meter);
    if let Some(sit) = app.current() {
        let brief = match app.lang {
            Lang::Zh => &sit.brief_zh,
            Lang::En => &sit.brief_en,
        };
        frame.render_widget(
            Paragraph::new(Span::styled(brief.clone(), Style::new().dim()))
                .wrap(Wrap { trim: false }),
            rest,
        );
    }
}

fn mic_check(app: &App, c: &MicCheckScreen, s: &Strings, frame: &mut Frame, area: Rect) {
    let mut top = vec![];
    if c.reason == CheckReason::NewMicrophone {
        top.push(Line::from(s.check_first_run));
        top.push(Line::default());
    }
    top.push(Line::from(s.check_say));
    top.push(Line::from(Span::styled(
        format!("    {CHECK_LINE}"),
        Style::new().bold(),
    )));
    // Every line wrapped at the box's width, and its border.
    let inner = area.width.saturating_sub(2);
    let top_rows = top
        .iter()
        .map(|l| wrapped_rows(&l.to_string(), inner).max(1))
        .sum::<u16>()
        + 2;
    let [top_area, rest] =
        Layout::vertical([Constraint::Length(top_rows), Constraint::Min(0)]).areas(area);
    frame.render_widget(
        Paragraph::new(top)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(s.check_title)),
        top_area,
    );
    match &c.stage {
        CheckStage::Listening {
            elapsed_ms,
            level_db,
            heard_speech,
        } => {
            let [meter, _] =
                Layout::vertical([Constraint::Length(3), Constraint::Min(0)]).areas(rest);
            frame.render_widget(level_gauge(*elapsed_ms, *level_db, *heard_speech, s), meter);
        }
        CheckStage::Judged(v) => {
            let pick = |(zh, en): &(String, String)| match app.lang {
                Lang::Zh => zh.clone(),
                Lang::En => en.clone(),
            };
            let mut lines = vec![if v.passed {
                Line::from(Span::styled(
                    s.check_passed,
                    Style::new().fg(Color::Green).bold(),
                ))
            } else {
                Line::from(Span::styled(
                    s.check_failed,
                    Style::new().fg(Color::Red).bold(),
                ))
            }];
            lines.extend(
                v.advice
                    .iter()
                    .map(|a| Line::from(format!("  • {}", pick(a)))),
            );
            if let Some(m) = &v.measured {
                lines.push(Line::default());
                lines.push(Line::from(Span::styled(pick(m), Style::new().dim())));
            }
            if let Some(device) = &v.remembered {
                lines.push(Line::default());
                lines.push(Line::from(Span::styled(
                    (s.check_remembered)(device),
                    Style::new().dim(),
                )));
            }
            frame.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: false })
                    .block(Block::bordered()),
                rest,
            );
        }
    }
}

/// The live level of the microphone: a bar from −60 to 0 dBFS, whether speech is heard,
/// for how long.
fn level_gauge(elapsed_ms: u64, level_db: f32, heard: bool, s: &Strings) -> Gauge<'static> {
    let ratio = ((level_db + 60.0) / 60.0).clamp(0.0, 1.0) as f64;
    let label = format!(
        "{} · {:.1} s · {:.0} dBFS",
        if heard { s.heard_you } else { s.listening },
        elapsed_ms as f64 / 1000.0,
        level_db.max(-99.0)
    );
    Gauge::default()
        .block(Block::bordered())
        .gauge_style(Style::new().fg(if heard { Color::Green } else { Color::DarkGray }))
        .ratio(ratio)
        .label(label)
}

fn working(app: &App, done: usize, elapsed_ms: u64, s: &Strings, frame: &mut Frame, area: Rect) {
    let total = app.turns();
    let text = vec![
        Line::default(),
        Line::from(s.working_body).alignment(Alignment::Center),
        Line::from(format!(
            "{done}/{total} · {:.1} s",
            elapsed_ms as f64 / 1000.0
        ))
        .alignment(Alignment::Center),
    ];
    frame.render_widget(
        Paragraph::new(text).block(Block::bordered().title(s.working_title)),
        area,
    );
}

fn verdict_symbol(v: Verdict) -> (&'static str, Style) {
    match v {
        Verdict::Pass => ("✔", Style::new().fg(Color::Green)),
        Verdict::Fail => ("✘", Style::new().fg(Color::Red)),
        Verdict::Uncertain => ("?", Style::new().fg(Color::Yellow)),
        Verdict::NotApplicable => ("–", Style::new().dim()),
    }
}

fn marked_transcript(fb: &Feedback) -> Line<'static> {
    let chars: Vec<char> = fb.transcript.chars().collect();
    let style_at = |i: usize| {
        // Banned wins over uncertain wins over found where marks overlap.
        let mut best: Option<Mark> = None;
        for &(a, b, m) in &fb.marks {
            if (a..b).contains(&i) {
                best = Some(match (best, m) {
                    (Some(Mark::Banned), _) | (_, Mark::Banned) => Mark::Banned,
                    (Some(Mark::Uncertain), _) | (_, Mark::Uncertain) => Mark::Uncertain,
                    _ => Mark::Found,
                });
            }
        }
        match best {
            Some(Mark::Found) => Style::new().fg(Color::Green),
            Some(Mark::Banned) => Style::new()
                .fg(Color::Red)
                .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            Some(Mark::Uncertain) => Style::new()
                .fg(Color::Yellow)
                .add_modifier(Modifier::UNDERLINED),
            None => Style::new(),
        }
    };
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut run = String::new();
    let mut run_style = Style::new();
    for (i, c) in chars.iter().enumerate() {
        let st = style_at(i);
        if st != run_style && !run.is_empty() {
            spans.push(Span::styled(std::mem::take(&mut run), run_style));
        }
        run_style = st;
        run.push(*c);
    }
    if !run.is_empty() {
        spans.push(Span::styled(run, run_style));
    }
    Line::from(spans)
}

fn check_line(app: &App, c: &CheckRow) -> Line<'static> {
    let (sym, style) = verdict_symbol(c.verdict);
    let msg = match app.lang {
        Lang::Zh => &c.message_zh,
        Lang::En => &c.message_en,
    };
    // The check's name as review and the reports give it, padded by terminal columns
    // (a Chinese name is twice as wide as it has characters).
    let name = match app.lang {
        Lang::Zh => &c.name_zh,
        Lang::En => &c.name_en,
    };
    let pad = 20usize.saturating_sub(UnicodeWidthStr::width(name.as_str()));
    Line::from(vec![
        Span::styled(format!(" {sym} "), style),
        Span::raw(format!("{name}{} ", " ".repeat(pad))),
        Span::raw(if c.critical { "! " } else { "  " }),
        Span::raw(msg.clone()),
    ])
}

fn feedback_screen(
    app: &App,
    fb: &Feedback,
    scroll: u16,
    s: &Strings,
    frame: &mut Frame,
    area: Rect,
) {
    let verdict = if fb.passed {
        Span::styled(s.passed, Style::new().fg(Color::Green).bold())
    } else {
        Span::styled(s.not_passed, Style::new().fg(Color::Red).bold())
    };
    let mut facts = format!(
        "{} {} · {} {} ({:.1} s)",
        s.score,
        fb.score,
        s.picked_up,
        fb.rings,
        fb.pickup_ms as f64 / 1000.0
    );
    if let Some(ms) = fb.first_words_ms {
        facts.push_str(&format!(" · {} {:.1} s", s.first_words, ms as f64 / 1000.0));
    }
    if let Some(rate) = fb.chars_per_minute {
        let unit = match app.lang {
            Lang::Zh => "字/分",
            Lang::En => "chars/min",
        };
        facts.push_str(&format!(" · {} {rate:.0} {unit}", s.rate));
    }
    let mut lines = vec![
        Line::from(vec![verdict, Span::raw("  "), Span::raw(facts)]),
        Line::default(),
        Line::from(Span::styled(s.transcript, Style::new().bold())),
    ];
    if fb.transcript.is_empty() {
        lines.push(Line::from(s.nothing_heard));
    } else {
        lines.push(marked_transcript(fb));
        lines.push(Line::from(Span::styled(s.legend, Style::new().dim())));
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(s.checks, Style::new().bold())));
    lines.extend(fb.checks.iter().map(|c| check_line(app, c)));
    lines.push(Line::default());
    let model_answer = app.exam.as_ref().is_none_or(|e| e.show_model_answer);
    if let Some(sit) = app.current().filter(|_| model_answer) {
        lines.push(Line::from(Span::styled(
            s.model_answer,
            Style::new().bold(),
        )));
        lines.push(Line::from(sit.model_answer.clone()));
    }
    if let Some(saved) = &fb.saved_as {
        lines.push(Line::from(Span::styled(
            format!("{}: {saved}", s.saved),
            Style::new().dim(),
        )));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(Block::bordered().title(s.feedback_title)),
        area,
    );
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn proctor(app: &App, x: &ExamStrings, frame: &mut Frame, area: Rect) {
    let Some(exam) = &app.exam else { return };
    let (title, other) = match app.lang {
        Lang::Zh => (&exam.title_zh, &exam.title_en),
        Lang::En => (&exam.title_en, &exam.title_zh),
    };
    let mut lines = vec![
        Line::from(vec![
            Span::raw(format!("{}: ", x.suite)),
            Span::styled(title.clone(), Style::new().bold()),
            Span::styled(
                format!(" ({other}) · {} v{}", exam.suite_id, exam.suite_version),
                Style::new().dim(),
            ),
        ]),
        Line::from(vec![
            Span::raw(format!("{}: ", x.candidate)),
            Span::styled(exam.candidate.clone(), Style::new().bold()),
            Span::raw(
                exam.employee_id
                    .as_ref()
                    .map(|e| format!("  {}: {e}", x.employee_id))
                    .unwrap_or_default(),
            ),
        ]),
        Line::from((x.rules)(
            exam.call_mark,
            exam.overall_mark,
            exam.calls_required,
            app.total_calls(),
            &exam.critical.join(", "),
        )),
        Line::from(Span::styled(x.once, Style::new().dim())),
        Line::from(Span::styled(x.mic, Style::new().dim())),
        Line::default(),
        Line::from(Span::styled(x.calls, Style::new().bold())),
    ];
    for (i, sit) in app.situations.iter().enumerate() {
        lines.push(Line::from(format!("  {}. {}", i + 1, title_of(app, sit))));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(x.proctor_title)),
        area,
    );
}

fn title_of(app: &App, sit: &Situation) -> String {
    title(app, sit)
}

fn between(app: &App, x: &ExamStrings, frame: &mut Frame, area: Rect) {
    let taken = app.exam.as_ref().map_or(0, |e| e.taken);
    let text = vec![
        Line::default(),
        Line::from(Span::styled(x.between_title, Style::new().bold())).alignment(Alignment::Center),
        Line::default(),
        Line::from((x.between_body)(taken, app.total_calls())).alignment(Alignment::Center),
    ];
    frame.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(Block::bordered()),
        area,
    );
}

fn exam_end(app: &App, x: &ExamStrings, frame: &mut Frame, area: Rect) {
    let Some(exam) = &app.exam else { return };
    let mut lines = vec![Line::default()];
    match &exam.ended {
        None => lines.push(Line::from(x.sealing).alignment(Alignment::Center)),
        Some(e) => {
            let (what, style) = if e.complete {
                (x.complete, Style::new().fg(Color::Green).bold())
            } else {
                (x.incomplete, Style::new().fg(Color::Yellow).bold())
            };
            lines.push(Line::from(Span::styled(what, style)).alignment(Alignment::Center));
            lines.push(Line::default());
            lines.push(Line::from(x.sealed).alignment(Alignment::Center));
            lines.push(
                Line::from(format!("{}: {}", x.sitting, e.sitting)).alignment(Alignment::Center),
            );
            lines.push(
                Line::from(Span::styled(
                    format!("sha256:{}", &e.seal[..e.seal.len().min(16)]),
                    Style::new().dim(),
                ))
                .alignment(Alignment::Center),
            );
            lines.push(Line::default());
            lines.push(Line::from(x.hand_back).alignment(Alignment::Center));
        }
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(x.end_title)),
        area,
    );
}
