//! The trainer's review as a pure state machine: a queue of attempts (filters, sort,
//! transcript search) → one attempt (checks, marked transcript, audit log; play, jump to a
//! check's evidence, overrule with a note, correct the transcript and re-grade, mark
//! reviewed) → a trainee's progress. [`Review::update`] takes one [`Msg`] and returns the
//! [`Effect`]s the runtime ([`run`]) carries out against the store and the speakers; the
//! views ([`views`]) only render this state.

pub mod keys;
pub mod model;
pub mod run;
pub mod settle;
pub mod strings;
pub mod views;

#[cfg(test)]
mod snapshots;
#[cfg(test)]
mod tests;

pub use keys::Key;
pub use model::{AttemptView, CheckRow, CheckView, Fold, Open, ProgressView};
pub use strings::{strings, Strings};

use jiff::tz::TimeZone;

use crate::config::Lang;
use crate::report::when::parse_when;
use crate::store::{AttemptId, AttemptSummary, Query, SortKey, Timestamp, Verdict};

/// The most attempts the queue lists at once; beyond that the trainer narrows the filters
/// (a screen of 10,000 rows helps nobody, and listing them costs every redraw).
pub const QUEUE_LIMIT: usize = 1000;

/// The queue's filters; each maps onto one field of the store's [`Query`]. Names match
/// by prefix in any case (`t wang` finds Wang.Fang), the search by sound (广利物业 finds
/// 广立物业, as the grader hears it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub trainee: Option<String>,
    pub scenario: Option<String>,
    /// Started on or after this time: as typed (`7d`, `2026-11-20`, RFC 3339), and the
    /// moment it meant when it was typed.
    pub since: Option<(String, Timestamp)>,
    pub verdict: Option<Verdict>,
    /// Only attempts with an uncertain check.
    pub needs_review: bool,
    /// Only attempts no trainer has marked reviewed.
    pub unreviewed: bool,
    pub sort: SortKey,
    /// Said in the transcript: found by sound.
    pub text: Option<String>,
}

impl Filter {
    /// The store query.
    pub fn query(&self) -> Result<Query, String> {
        Ok(Query {
            trainee_prefix: self.trainee.clone(),
            scenario_prefix: self.scenario.clone(),
            since: self.since.as_ref().map(|(_, t)| *t),
            verdict: self.verdict,
            needs_review: self.needs_review.then_some(true),
            reviewed: self.unreviewed.then_some(false),
            sounds_like: self.text.clone(),
            sort: self.sort,
            // Newest first by time, best first by score, A→Z by name.
            descending: matches!(self.sort, SortKey::Started | SortKey::Score),
            limit: Some(QUEUE_LIMIT),
            ..Query::default()
        })
    }

    pub fn is_empty(&self) -> bool {
        Filter {
            sort: self.sort,
            ..Filter::default()
        } == *self
    }
}

/// A one-line text input with a cursor (in characters).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Line {
    pub text: String,
    pub cursor: usize,
}

impl Line {
    pub fn new(text: &str) -> Line {
        Line {
            text: text.to_string(),
            cursor: text.chars().count(),
        }
    }

    fn byte(&self, char_idx: usize) -> usize {
        self.text
            .char_indices()
            .nth(char_idx)
            .map(|(b, _)| b)
            .unwrap_or(self.text.len())
    }

    /// Applies an editing key; false if the key is not an editing key.
    pub fn edit(&mut self, key: Key) -> bool {
        let n = self.text.chars().count();
        match key {
            Key::Char(c) => {
                let b = self.byte(self.cursor);
                self.text.insert(b, c);
                self.cursor += 1;
            }
            Key::Backspace if self.cursor > 0 => {
                let b = self.byte(self.cursor - 1);
                self.text.remove(b);
                self.cursor -= 1;
            }
            Key::Delete if self.cursor < n => {
                let b = self.byte(self.cursor);
                self.text.remove(b);
            }
            Key::Left => self.cursor = self.cursor.saturating_sub(1),
            Key::Right => self.cursor = (self.cursor + 1).min(n),
            Key::Home => self.cursor = 0,
            Key::End => self.cursor = n,
            Key::Backspace | Key::Delete => {}
            _ => return false,
        }
        true
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Search,
    Trainee,
    Scenario,
    Since,
}

/// A text input that has the keyboard.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Filter(Field, Line),
    /// Overruling check `check` (index into the attempt's checks) to `verdict`.
    Note {
        check: usize,
        verdict: String,
        line: Line,
    },
    /// Correcting the transcript turn by turn: one line per trainee turn, `turn` being
    /// edited (Tab and ↑↓ move between turns).
    Transcript {
        turn: usize,
        lines: Vec<Line>,
    },
    /// Asking about check `check` (an index), whose overrule no longer matches the
    /// re-graded report: keep it (overrule again) or drop it (take the re-graded verdict).
    Stale {
        check: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    Queue,
    Attempt(Box<AttemptView>),
    Progress(Box<ProgressView>),
    /// What is open in the certification sittings ([`settle`]).
    Settle(Box<settle::SettleView>),
}

/// Input to the state machine.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(Key),
    /// The queue as the store listed it.
    Listed(Vec<AttemptSummary>),
    Opened(Box<AttemptView>),
    Progress(Box<ProgressView>),
    /// The certification queue as the sittings are now.
    Settle(Box<settle::SettleView>),
    /// Playback started at this position of the recording.
    Playing {
        from_ms: u64,
    },
    /// Where playback is now (ms into the recording).
    PlayAt(u64),
    PlayEnded,
    /// A store action succeeded; shown on the status line in the screen's language.
    Done(Done),
    /// Something failed; shown on the status line, the screen stays.
    Failed(String),
}

/// What a store action did, for the status line. The runtime says what happened; the
/// state machine words it in the trainer's language.
#[derive(Debug, Clone, PartialEq)]
pub enum Done {
    Overruled {
        check: String,
        original: String,
        verdict: String,
    },
    Corrected {
        score: u32,
    },
    Reviewed,
    Unreviewed,
}

impl Done {
    pub fn text(&self, s: &Strings) -> String {
        match self {
            // Dropping an overrule a re-grade no longer matches takes the re-graded verdict.
            Done::Overruled {
                check,
                original,
                verdict,
            } if original == verdict => (s.audit_kept_regraded)(check, s.verdict(verdict)),
            Done::Overruled {
                check,
                original,
                verdict,
            } => (s.done_overruled)(check, s.verdict(original), s.verdict(verdict)),
            Done::Corrected { score } => (s.done_corrected)(*score),
            Done::Reviewed => s.done_reviewed.to_string(),
            Done::Unreviewed => s.done_unreviewed.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    List(Query),
    Open(AttemptId),
    Progress(String),
    Play {
        id: AttemptId,
        from_ms: u64,
    },
    StopPlay,
    Overrule {
        id: AttemptId,
        check: String,
        original: String,
        verdict: String,
        note: String,
    },
    /// Save the corrected transcript (one text per trainee turn), re-grade it, reopen.
    Correct {
        id: AttemptId,
        turns: Vec<String>,
    },
    MarkReviewed(AttemptId),
    /// List what is open in the certification sittings.
    ListSettle,
    /// Take the "reviewed" mark back.
    UnmarkReviewed(AttemptId),
    Quit,
}

/// The verdicts a trainer can give, in the order Tab cycles through them.
pub const VERDICTS: [&str; 3] = ["pass", "fail", "uncertain"];

#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    pub screen: Screen,
    pub rows: Vec<AttemptSummary>,
    pub selected: usize,
    pub filter: Filter,
    pub input: Option<Input>,
    /// Selected row of the checks list on the attempt screen ([`AttemptView::rows`]).
    pub row: usize,
    /// Which folded rows of the checks list are open (Enter on the row).
    pub open: Open,
    /// How many audit-log lines the view is scrolled up from the newest (PgUp/PgDn).
    pub audit_scroll: usize,
    /// The attempt the progress screen was opened from, to go back to.
    pub progress_from: Option<AttemptId>,
    /// First category row shown on the progress screen (↑↓ scroll).
    pub progress_scroll: usize,
    /// Playback position (ms into the recording) while playing.
    pub playing: Option<u64>,
    pub status: Option<String>,
    pub trainer: String,
    /// Shown on an empty queue, so the trainer knows which store is open.
    pub data_dir: String,
    pub help: bool,
    /// The language every screen and status message is shown in.
    pub lang: Lang,
    /// The attempt whose "keep or drop?" question the trainer put off (Esc): not asked
    /// again while it stays open.
    pub deferred: Option<AttemptId>,
    /// Start on the certification queue (`review --sittings`).
    pub sittings_first: bool,
    /// Selected row of the certification queue.
    pub settle_selected: usize,
    /// The open attempt was opened from the certification queue: Esc goes back there.
    pub from_settle: bool,
    /// The check to select when the attempt being opened arrives.
    pub pending_check: Option<String>,
    /// The zone times are shown in (and dates typed in): `TZ`, else the system's.
    pub tz: TimeZone,
}

impl Review {
    pub fn new(trainer: &str, data_dir: &str, lang: Lang) -> Review {
        Review {
            screen: Screen::Queue,
            rows: Vec::new(),
            selected: 0,
            filter: Filter::default(),
            input: None,
            row: 0,
            open: Open::default(),
            audit_scroll: 0,
            progress_from: None,
            progress_scroll: 0,
            playing: None,
            status: None,
            trainer: trainer.to_string(),
            data_dir: data_dir.to_string(),
            help: false,
            lang,
            deferred: None,
            sittings_first: false,
            settle_selected: 0,
            from_settle: false,
            pending_check: None,
            tz: TimeZone::system(),
        }
    }

    /// The strings of the review's language.
    pub fn s(&self) -> &'static Strings {
        strings(self.lang)
    }

    /// The first effect: list the queue.
    pub fn start(&self) -> Vec<Effect> {
        if self.sittings_first {
            return vec![Effect::ListSettle];
        }
        self.relist()
    }

    fn relist(&self) -> Vec<Effect> {
        match self.filter.query() {
            Ok(q) => vec![Effect::List(q)],
            Err(_) => vec![],
        }
    }

    fn attempt(&self) -> Option<&AttemptView> {
        match &self.screen {
            Screen::Attempt(a) => Some(a),
            _ => None,
        }
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(Key::Interrupt) => vec![Effect::StopPlay, Effect::Quit],
            Msg::Key(k) => {
                if self.input.is_some() {
                    return self.input_key(k);
                }
                if self.help {
                    self.help = false;
                    return vec![];
                }
                if k == Key::Char('?') {
                    self.help = true;
                    return vec![];
                }
                match self.screen {
                    Screen::Queue => self.queue_key(k),
                    Screen::Attempt(_) => self.attempt_key(k),
                    Screen::Progress(_) => self.progress_key(k),
                    Screen::Settle(_) => self.settle_key(k),
                }
            }
            Msg::Listed(rows) => {
                self.rows = rows;
                self.selected = self.selected.min(self.rows.len().saturating_sub(1));
                vec![]
            }
            Msg::Opened(a) => {
                // Reopening the same attempt (after an action) keeps the selected check;
                // a new one starts on the first check that wants attention.
                let kept = match self.attempt() {
                    Some(cur) if cur.id == a.id => {
                        self.selected_check().map(|k| cur.checks[k].id.clone())
                    }
                    _ => None,
                };
                let same = self.attempt().is_some_and(|cur| cur.id == a.id);
                if !same {
                    self.deferred = None;
                    self.open = Open::default();
                    self.audit_scroll = 0;
                }
                // Opened from the certification queue: on the item's check.
                let want = self.pending_check.take().or(kept);
                let rows = a.rows(self.open);
                self.row = match want {
                    Some(id) => rows
                        .iter()
                        .position(|r| matches!(r, CheckRow::Check(i) if a.checks[*i].id == id))
                        .unwrap_or(if same { self.row } else { a.first_row(&rows) }),
                    None if same => self.row,
                    None => a.first_row(&rows),
                };
                self.row = self.row.min(rows.len().saturating_sub(1));
                // An overrule that no longer matches a re-grade is a question for the
                // trainer: ask it now, on its check.
                let stale = a.checks.iter().position(|c| c.no_longer_matches.is_some());
                if let Some(k) = stale {
                    if self.input.is_none() && self.deferred.as_ref() != Some(&a.id) {
                        if let Some(r) = rows.iter().position(|r| *r == CheckRow::Check(k)) {
                            self.row = r;
                        }
                        self.input = Some(Input::Stale { check: k });
                    }
                }
                self.screen = Screen::Attempt(a);
                vec![]
            }
            Msg::Progress(p) => {
                self.progress_scroll = 0;
                self.screen = Screen::Progress(p);
                vec![]
            }
            Msg::Settle(v) => {
                self.settle_selected = self.settle_selected.min(v.items.len().saturating_sub(1));
                self.screen = Screen::Settle(v);
                vec![]
            }
            Msg::Playing { from_ms } => {
                self.playing = Some(from_ms);
                vec![]
            }
            Msg::PlayAt(ms) => {
                if self.playing.is_some() {
                    self.playing = Some(ms);
                }
                vec![]
            }
            Msg::PlayEnded => {
                self.playing = None;
                vec![]
            }
            Msg::Done(d) => {
                // Checks by their names, in the screen's language.
                let d = match d {
                    Done::Overruled {
                        check,
                        original,
                        verdict,
                    } => Done::Overruled {
                        check: self
                            .attempt()
                            .and_then(|a| a.checks.iter().find(|c| c.id == check))
                            .map_or(check.clone(), |c| c.name(self.lang).to_string()),
                        original,
                        verdict,
                    },
                    d => d,
                };
                self.status = Some(d.text(self.s()));
                vec![]
            }
            Msg::Failed(s) => {
                self.status = Some(s);
                vec![]
            }
        }
    }

    fn queue_key(&mut self, k: Key) -> Vec<Effect> {
        self.status = None;
        let f = &mut self.filter;
        match k {
            Key::Up | Key::Char('k') => {
                self.selected = self.selected.saturating_sub(1);
                return vec![];
            }
            Key::Down | Key::Char('j') => {
                if self.selected + 1 < self.rows.len() {
                    self.selected += 1;
                }
                return vec![];
            }
            Key::Home => {
                self.selected = 0;
                return vec![];
            }
            Key::End => {
                self.selected = self.rows.len().saturating_sub(1);
                return vec![];
            }
            Key::Enter => {
                return match self.rows.get(self.selected) {
                    Some(r) => vec![Effect::Open(r.id.clone())],
                    None => vec![],
                }
            }
            Key::Esc | Key::Char('q') => return vec![Effect::StopPlay, Effect::Quit],
            Key::Char('/') => return self.open_filter(Field::Search),
            Key::Char('t') => return self.open_filter(Field::Trainee),
            Key::Char('s') => return self.open_filter(Field::Scenario),
            Key::Char('d') => return self.open_filter(Field::Since),
            Key::Char('v') => {
                f.verdict = match f.verdict {
                    None => Some(Verdict::Passed),
                    Some(Verdict::Passed) => Some(Verdict::Failed),
                    Some(Verdict::Failed) => Some(Verdict::Interrupted),
                    Some(Verdict::Interrupted) => Some(Verdict::Ungraded),
                    Some(Verdict::Ungraded) => None,
                }
            }
            Key::Char('n') => f.needs_review = !f.needs_review,
            Key::Char('u') => f.unreviewed = !f.unreviewed,
            Key::Char('o') => {
                f.sort = match f.sort {
                    SortKey::Started => SortKey::Score,
                    SortKey::Score => SortKey::Trainee,
                    SortKey::Trainee => SortKey::Scenario,
                    SortKey::Scenario => SortKey::Started,
                }
            }
            Key::Char('x') => *f = Filter::default(),
            Key::Char('c') => return vec![Effect::ListSettle],
            Key::Char('g') => {
                self.progress_from = None;
                let who = f
                    .trainee
                    .clone()
                    .or_else(|| self.rows.get(self.selected).map(|r| r.trainee.clone()));
                return who.map(Effect::Progress).into_iter().collect();
            }
            _ => return vec![],
        }
        self.selected = 0;
        self.relist()
    }

    fn open_filter(&mut self, field: Field) -> Vec<Effect> {
        let f = &self.filter;
        let current = match field {
            Field::Search => &f.text,
            Field::Trainee => &f.trainee,
            Field::Scenario => &f.scenario,
            Field::Since => &f.since.as_ref().map(|(typed, _)| typed.clone()),
        };
        self.input = Some(Input::Filter(
            field,
            Line::new(current.as_deref().unwrap_or("")),
        ));
        vec![]
    }

    /// The check of the selected row, if it is a check (not the folded banned phrases).
    pub fn selected_check(&self) -> Option<usize> {
        let a = self.attempt()?;
        match a.rows(self.open).get(self.row)? {
            CheckRow::Check(i) => Some(*i),
            CheckRow::Folded { .. } => None,
        }
    }

    /// The progress screen: ↑↓ scroll the categories, q goes back where it came from.
    fn progress_key(&mut self, k: Key) -> Vec<Effect> {
        match k {
            Key::Up | Key::Char('k') => {
                self.progress_scroll = self.progress_scroll.saturating_sub(1);
                vec![]
            }
            Key::Down | Key::Char('j') => {
                let n = match &self.screen {
                    Screen::Progress(p) => p.categories.len(),
                    _ => 0,
                };
                if self.progress_scroll + 1 < n {
                    self.progress_scroll += 1;
                }
                vec![]
            }
            Key::Esc | Key::Char('q') => match self.progress_from.take() {
                Some(id) => vec![Effect::Open(id)],
                None => {
                    self.screen = Screen::Queue;
                    self.relist()
                }
            },
            _ => vec![],
        }
    }

    fn attempt_key(&mut self, k: Key) -> Vec<Effect> {
        if matches!(k, Key::Char('o' | 'e' | 'm')) {
            self.status = None;
        }
        let selected = self.selected_check();
        let Some(a) = self.attempt() else {
            return vec![];
        };
        let id = a.id.clone();
        let rows = a.rows(self.open);
        let n = rows.len();
        match k {
            Key::Up | Key::Char('k') => self.row = self.row.saturating_sub(1),
            Key::Down | Key::Char('j') if self.row + 1 < n => self.row += 1,
            Key::Home => self.row = 0,
            Key::End => self.row = n.saturating_sub(1),
            Key::PageUp => self.audit_scroll += 1,
            Key::PageDown => self.audit_scroll = self.audit_scroll.saturating_sub(1),
            Key::Enter if selected.is_none() => {
                // A folded row opens and closes.
                if let Some(CheckRow::Folded { fold, .. }) = rows.get(self.row) {
                    self.open.toggle(*fold);
                }
            }
            Key::Char('p') => {
                return if self.playing.is_some() {
                    self.playing = None;
                    vec![Effect::StopPlay]
                } else {
                    vec![Effect::Play { id, from_ms: 0 }]
                };
            }
            Key::Enter => {
                // Jump to where the selected check's evidence was said (or the start).
                let from_ms = selected
                    .and_then(|k| a.checks.get(k))
                    .and_then(|c| c.at_ms)
                    .unwrap_or(0);
                return vec![Effect::Play { id, from_ms }];
            }
            Key::Char('o') => {
                match selected.and_then(|k| a.checks.get(k).map(|c| (k, c))) {
                    Some((k, c)) => {
                        // Propose the opposite of what counts now; Tab cycles.
                        let verdict = if c.verdict == "pass" { "fail" } else { "pass" };
                        self.input = Some(Input::Note {
                            check: k,
                            verdict: verdict.to_string(),
                            line: Line::default(),
                        });
                    }
                    None => self.status = Some(self.s().pick_one_check.to_string()),
                }
            }
            Key::Char('e') => {
                if a.status == crate::store::AttemptStatus::Finished && !a.turns.is_empty() {
                    // Start on the turn of the selected check's evidence, else the first.
                    let at = selected
                        .and_then(|k| a.checks.get(k))
                        .and_then(|c| c.evidence.first())
                        .map(|&(start, _)| start);
                    let turn = at
                        .and_then(|p| a.turns.iter().position(|t| t.start <= p && p < t.end))
                        .unwrap_or(0);
                    self.input = Some(Input::Transcript {
                        turn,
                        lines: a.turns.iter().map(|t| Line::new(&t.text)).collect(),
                    });
                } else {
                    self.status = Some(self.s().nothing_to_correct.to_string());
                }
            }
            // m marks reviewed, and takes the mark back when it is there.
            Key::Char('m') if a.reviewed => return vec![Effect::UnmarkReviewed(id)],
            Key::Char('m') => return vec![Effect::MarkReviewed(id)],
            Key::Char('g') => {
                let trainee = a.trainee.clone();
                self.progress_from = Some(id);
                return vec![Effect::Progress(trainee)];
            }
            Key::Esc | Key::Char('q') => {
                self.screen = Screen::Queue;
                self.status = None;
                let mut fx = vec![];
                if self.playing.take().is_some() {
                    fx.push(Effect::StopPlay);
                }
                if std::mem::take(&mut self.from_settle) {
                    fx.push(Effect::ListSettle);
                } else {
                    fx.extend(self.relist());
                }
                return fx;
            }
            _ => {}
        }
        vec![]
    }

    fn input_key(&mut self, k: Key) -> Vec<Effect> {
        let Some(mut input) = self.input.take() else {
            return vec![];
        };
        if let Input::Stale { check } = input {
            return self.stale_key(check, k);
        }
        match k {
            Key::Esc => return vec![],
            Key::Enter => return self.submit(input),
            Key::Tab | Key::Down | Key::Up
                if matches!(input, Input::Transcript { .. } | Input::Note { .. }) =>
            {
                match &mut input {
                    Input::Note { verdict, .. } if k == Key::Tab => {
                        let i = VERDICTS.iter().position(|v| v == verdict).unwrap_or(0);
                        *verdict = VERDICTS[(i + 1) % VERDICTS.len()].to_string();
                    }
                    Input::Transcript { turn, lines } => {
                        let n = lines.len().max(1);
                        *turn = match k {
                            Key::Up => (*turn + n - 1) % n,
                            _ => (*turn + 1) % n,
                        };
                    }
                    _ => {}
                }
            }
            k => match &mut input {
                Input::Filter(_, l) | Input::Note { line: l, .. } => {
                    l.edit(k);
                }
                Input::Transcript { turn, lines } => {
                    if let Some(l) = lines.get_mut(*turn) {
                        l.edit(k);
                    }
                }
                Input::Stale { .. } => {}
            },
        }
        self.input = Some(input);
        vec![]
    }

    /// The answer to "keep or drop?": y keeps the overrule (made again on the current
    /// report, with its note), n drops it (the re-graded verdict is taken, and logged as the
    /// trainer's), Esc puts the question off.
    fn stale_key(&mut self, check: usize, k: Key) -> Vec<Effect> {
        let s = self.s();
        let Some(a) = self.attempt() else {
            return vec![];
        };
        let Some(c) = a.checks.get(check) else {
            return vec![];
        };
        let Some(old) = c.no_longer_matches.as_ref() else {
            return vec![];
        };
        let (verdict, note) = match k {
            Key::Char('y' | 'Y') => (old.verdict.clone(), old.note.clone()),
            Key::Char('n' | 'N') => (c.verdict.clone(), s.dropped_note.to_string()),
            Key::Esc => {
                self.deferred = Some(a.id.clone());
                return vec![];
            }
            _ => {
                self.input = Some(Input::Stale { check });
                return vec![];
            }
        };
        vec![Effect::Overrule {
            id: a.id.clone(),
            check: c.id.clone(),
            original: c.verdict.clone(),
            verdict,
            note,
        }]
    }

    fn submit(&mut self, input: Input) -> Vec<Effect> {
        self.status = None;
        match input {
            Input::Filter(field, line) => {
                let v = line.text.trim();
                let v = (!v.is_empty()).then(|| v.to_string());
                let mut since = None;
                if field == Field::Since {
                    if let Some(s) = &v {
                        match parse_when(s, Timestamp::now(), &self.tz) {
                            Ok(t) => since = Some((s.clone(), t)),
                            Err(e) => {
                                self.status = Some(e.to_string());
                                self.input = Some(Input::Filter(field, line));
                                return vec![];
                            }
                        }
                    }
                }
                let f = &mut self.filter;
                match field {
                    Field::Search => f.text = v,
                    Field::Trainee => f.trainee = v,
                    Field::Scenario => f.scenario = v,
                    Field::Since => f.since = since,
                }
                self.selected = 0;
                self.relist()
            }
            Input::Note {
                check,
                verdict,
                line,
            } => {
                let note = line.text.trim().to_string();
                if note.is_empty() {
                    self.status = Some(self.s().note_required.to_string());
                    self.input = Some(Input::Note {
                        check,
                        verdict,
                        line,
                    });
                    return vec![];
                }
                let Some(a) = self.attempt() else {
                    return vec![];
                };
                let Some(c) = a.checks.get(check) else {
                    return vec![];
                };
                if c.verdict == verdict && c.no_longer_matches.is_none() {
                    let s = self.s();
                    self.status = Some((s.same_verdict)(s.verdict(&verdict)));
                    self.input = Some(Input::Note {
                        check,
                        verdict,
                        line,
                    });
                    return vec![];
                }
                vec![Effect::Overrule {
                    id: a.id.clone(),
                    check: c.id.clone(),
                    original: c.verdict.clone(),
                    verdict,
                    note,
                }]
            }
            Input::Stale { .. } => vec![],
            Input::Transcript { lines, .. } => {
                let Some(a) = self.attempt() else {
                    return vec![];
                };
                let turns: Vec<String> = lines.iter().map(|l| l.text.trim().to_string()).collect();
                let unchanged = turns.len() == a.turns.len()
                    && turns.iter().zip(&a.turns).all(|(t, v)| *t == v.text.trim());
                if unchanged {
                    self.status = Some(self.s().unchanged.to_string());
                    return vec![];
                }
                vec![Effect::Correct {
                    id: a.id.clone(),
                    turns,
                }]
            }
        }
    }
}
