//! Keys, as every screen reads them: a thread that reads terminal events so the event loop
//! can select over them, and the rules all screens share (a release is no key press; Ctrl-C
//! quits from anywhere; other Ctrl chords mean nothing). Each screen maps the rest onto its
//! own keys.

use std::io;

use crossbeam_channel::Receiver;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// A key press after the shared rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Press {
    /// Ctrl-C: quit from anywhere, text inputs included.
    Interrupt,
    /// A key without Ctrl, pressed or held (see the event's kind).
    Key(KeyCode),
}

/// What a key event is to every screen: None for a release or a Ctrl chord other than Ctrl-C.
pub fn press(ev: &KeyEvent) -> Option<Press> {
    if ev.kind == KeyEventKind::Release {
        return None;
    }
    if ev.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(ev.code, KeyCode::Char('c')).then_some(Press::Interrupt);
    }
    Some(Press::Key(ev.code))
}

/// Reads terminal events on their own thread; the channel closes when the terminal does.
pub fn spawn_key_reader() -> io::Result<Receiver<Event>> {
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::Builder::new()
        .name("ringcoach-keys".into())
        .spawn(move || {
            while let Ok(ev) = crossterm::event::read() {
                if tx.send(ev).is_err() {
                    break;
                }
            }
        })?;
    Ok(rx)
}
