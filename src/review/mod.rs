//! The trainer's review as a pure state machine: a queue of attempts (filters, sort,
//! transcript search) → one attempt (checks, marked transcript, audit log; play, jump to a
//! check's evidence, overrule with a note, correct the transcript and re-grade, mark
//! reviewed) → a trainee's progress. [`Review::update`] takes one [`Msg`] and returns the
//! [`Effect`]s the runtime ([`run`]) carries out against the store and the speakers; the
//! views ([`views`]) only render this state.

pub mod keys;
pub mod model;
pub mod run;
pub mod strings;
pub mod views;

#[cfg(test)]
mod snapshots;
#[cfg(test)]
mod tests;

pub use keys::Key;
pub use model::{AttemptView, CheckView, ProgressView};
pub use strings::{strings, Strings};

use crate::config::Lang;
use crate::store::{AttemptId, AttemptSummary, Query, SortKey, Timestamp, Verdict};

/// The most attempts the queue lists at once; beyond that the trainer narrows the filters
/// (a screen of 10,000 rows helps nobody, and listing them costs every redraw).
pub const QUEUE_LIMIT: usize = 1000;

/// The queue's filters; each maps onto one field of the store's [`Query`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub trainee: Option<String>,
    pub scenario: Option<String>,
    /// Started on or after this date (as typed: YYYY-MM-DD or RFC 3339).
    pub since: Option<String>,
    pub verdict: Option<Verdict>,
    /// Only attempts with an uncertain check.
    pub needs_review: bool,
    /// Only attempts no trainer has marked reviewed.
    pub unreviewed: bool,
    pub sort: SortKey,
    /// Substring of the transcript.
    pub text: Option<String>,
}

impl Filter {
    /// The store query; an unreadable date is an error message for the status line.
    pub fn query(&self) -> Result<Query, String> {
        let since = match &self.since {
            None => None,
            Some(s) => Some(Timestamp::parse(s).map_err(|e| e.to_string())?),
        };
        Ok(Query {
            trainee: self.trainee.clone(),
            scenario: self.scenario.clone(),
            since,
            verdict: self.verdict,
            needs_review: self.needs_review.then_some(true),
            reviewed: self.unreviewed.then_some(false),
            text: self.text.clone(),
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
    Transcript(Line),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    Queue,
    Attempt(Box<AttemptView>),
    Progress(Box<ProgressView>),
}

/// Input to the state machine.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(Key),
    /// The queue as the store listed it.
    Listed(Vec<AttemptSummary>),
    Opened(Box<AttemptView>),
    Progress(Box<ProgressView>),
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
}

impl Done {
    pub fn text(&self, s: &Strings) -> String {
        match self {
            Done::Overruled {
                check,
                original,
                verdict,
            } => (s.done_overruled)(check, s.verdict(original), s.verdict(verdict)),
            Done::Corrected { score } => (s.done_corrected)(*score),
            Done::Reviewed => s.done_reviewed.to_string(),
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
    /// Save the corrected transcript, re-grade it, reopen.
    Correct {
        id: AttemptId,
        text: String,
    },
    MarkReviewed(AttemptId),
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
    /// Selected check on the attempt screen.
    pub check: usize,
    /// Playback position (ms into the recording) while playing.
    pub playing: Option<u64>,
    pub status: Option<String>,
    pub trainer: String,
    /// Shown on an empty queue, so the trainer knows which store is open.
    pub data_dir: String,
    pub help: bool,
    /// The language every screen and status message is shown in.
    pub lang: Lang,
}

impl Review {
    pub fn new(trainer: &str, data_dir: &str, lang: Lang) -> Review {
        Review {
            screen: Screen::Queue,
            rows: Vec::new(),
            selected: 0,
            filter: Filter::default(),
            input: None,
            check: 0,
            playing: None,
            status: None,
            trainer: trainer.to_string(),
            data_dir: data_dir.to_string(),
            help: false,
            lang,
        }
    }

    /// The strings of the review's language.
    pub fn s(&self) -> &'static Strings {
        strings(self.lang)
    }

    /// The first effect: list the queue.
    pub fn start(&self) -> Vec<Effect> {
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
                    Screen::Progress(_) => match k {
                        Key::Esc | Key::Char('q') => {
                            self.screen = Screen::Queue;
                            self.relist()
                        }
                        _ => vec![],
                    },
                }
            }
            Msg::Listed(rows) => {
                self.rows = rows;
                self.selected = self.selected.min(self.rows.len().saturating_sub(1));
                vec![]
            }
            Msg::Opened(a) => {
                // Reopening the same attempt (after an action) keeps the selected check.
                let same = self.attempt().is_some_and(|cur| cur.id == a.id);
                if !same {
                    self.check = 0;
                }
                self.check = self.check.min(a.checks.len().saturating_sub(1));
                self.screen = Screen::Attempt(a);
                vec![]
            }
            Msg::Progress(p) => {
                self.screen = Screen::Progress(p);
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
            Key::Char('g') => {
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
            Field::Since => &f.since,
        };
        self.input = Some(Input::Filter(
            field,
            Line::new(current.as_deref().unwrap_or("")),
        ));
        vec![]
    }

    fn attempt_key(&mut self, k: Key) -> Vec<Effect> {
        if matches!(k, Key::Char('o' | 'e' | 'm')) {
            self.status = None;
        }
        let Some(a) = self.attempt() else {
            return vec![];
        };
        let id = a.id.clone();
        let n = a.checks.len();
        match k {
            Key::Up | Key::Char('k') => self.check = self.check.saturating_sub(1),
            Key::Down | Key::Char('j') if self.check + 1 < n => self.check += 1,
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
                let from_ms = a.checks.get(self.check).and_then(|c| c.at_ms).unwrap_or(0);
                return vec![Effect::Play { id, from_ms }];
            }
            Key::Char('o') => {
                if let Some(c) = a.checks.get(self.check) {
                    // Propose the opposite of what counts now; Tab cycles.
                    let verdict = if c.verdict == "pass" { "fail" } else { "pass" };
                    self.input = Some(Input::Note {
                        check: self.check,
                        verdict: verdict.to_string(),
                        line: Line::default(),
                    });
                }
            }
            Key::Char('e') => {
                if a.status == crate::store::AttemptStatus::Finished {
                    self.input = Some(Input::Transcript(Line::new(&a.transcript)));
                } else {
                    self.status = Some(self.s().nothing_to_correct.to_string());
                }
            }
            Key::Char('m') => return vec![Effect::MarkReviewed(id)],
            Key::Char('g') => return vec![Effect::Progress(a.trainee.clone())],
            Key::Esc | Key::Char('q') => {
                self.screen = Screen::Queue;
                self.status = None;
                let mut fx = vec![];
                if self.playing.take().is_some() {
                    fx.push(Effect::StopPlay);
                }
                fx.extend(self.relist());
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
        match k {
            Key::Esc => return vec![],
            Key::Enter => return self.submit(input),
            Key::Tab => {
                if let Input::Note { verdict, .. } = &mut input {
                    let i = VERDICTS.iter().position(|v| v == verdict).unwrap_or(0);
                    *verdict = VERDICTS[(i + 1) % VERDICTS.len()].to_string();
                }
            }
            k => {
                let line = match &mut input {
                    Input::Filter(_, l) | Input::Note { line: l, .. } | Input::Transcript(l) => l,
                };
                line.edit(k);
            }
        }
        self.input = Some(input);
        vec![]
    }

    fn submit(&mut self, input: Input) -> Vec<Effect> {
        self.status = None;
        match input {
            Input::Filter(field, line) => {
                let v = line.text.trim();
                let v = (!v.is_empty()).then(|| v.to_string());
                if field == Field::Since {
                    if let Some(s) = &v {
                        if let Err(e) = Timestamp::parse(s) {
                            self.status = Some(e.to_string());
                            self.input = Some(Input::Filter(field, line));
                            return vec![];
                        }
                    }
                }
                let f = &mut self.filter;
                match field {
                    Field::Search => f.text = v,
                    Field::Trainee => f.trainee = v,
                    Field::Scenario => f.scenario = v,
                    Field::Since => f.since = v,
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
                vec![Effect::Overrule {
                    id: a.id.clone(),
                    check: c.id.clone(),
                    original: c.verdict.clone(),
                    verdict,
                    note,
                }]
            }
            Input::Transcript(line) => {
                let Some(a) = self.attempt() else {
                    return vec![];
                };
                let text = line.text.trim().to_string();
                if text == a.transcript.trim() {
                    self.status = Some(self.s().unchanged.to_string());
                    return vec![];
                }
                vec![Effect::Correct {
                    id: a.id.clone(),
                    text,
                }]
            }
        }
    }
}
