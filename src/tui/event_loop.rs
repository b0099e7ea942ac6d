//! The one event loop every screen runs on. It takes the terminal over (stderr to a log
//! file meanwhile, see [`super::terminal`]), reads keys on their own thread, and waits on one
//! `select` over the keys, a clock and the screen's own channels (audio, a worker); whatever
//! arrives becomes messages for the screen's state machine, and the screen is drawn again.
//! The terminal is restored on every exit path, panics included (ratatui installs the hook).
//!
//! A screen plugs in by implementing [`Program`]: how to draw, what a key means, what a tick
//! means, which channels to wait on, and how to carry messages through its state machine.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use crossbeam_channel::{never, tick, Receiver, Select, SelectedOperation};
use crossterm::event::{Event, KeyEvent};
use ratatui::Frame;

use super::keys::spawn_key_reader;
use super::terminal::StderrToFile;

/// A screen as the event loop drives it: a pure state machine and the runtime that carries
/// out its effects, seen through what the loop needs of them.
pub trait Program {
    /// Input to the screen's state machine.
    type Msg;
    /// How often the clock ticks while [`Program::wants_ticks`] says so.
    const TICK: Duration;

    /// Renders the current state.
    fn draw(&self, frame: &mut Frame);
    /// The message a key press means, if any.
    fn key(&self, key: &KeyEvent) -> Option<Self::Msg>;
    /// Whether something on screen moves with time (ringing, recording, playing): the clock
    /// ticks only then, so an idle screen costs no CPU.
    fn wants_ticks(&self) -> bool;
    /// The messages one tick of the clock produces.
    fn tick(&mut self) -> Vec<Self::Msg>;
    /// The screen's own channels to wait on besides keys and the clock, as things stand now
    /// (asked again before every wait).
    fn sources(&self) -> Vec<Source<Self>> {
        Vec::new()
    }
    /// Feeds messages through the state machine and carries out the effects it asks for
    /// (which may produce more messages); true when the screen is done.
    fn pump(&mut self, msgs: Vec<Self::Msg>) -> bool;
}

/// A channel the loop waits on for a screen, and what the screen makes of each item.
pub struct Source<P: Program + ?Sized>(Box<dyn Wait<P>>);

impl<P: Program + ?Sized> Source<P> {
    /// Items arriving on `rx` are handed to `on`; a closed channel yields nothing.
    pub fn new<T: 'static>(rx: Receiver<T>, on: fn(&mut P, T) -> Vec<P::Msg>) -> Source<P>
    where
        P: 'static,
    {
        Source(Box::new(Channel { rx, on }))
    }
}

/// A [`Source`] with the type of its items erased, so one `Select` can hold them all.
trait Wait<P: Program + ?Sized> {
    fn register<'a>(&'a self, select: &mut Select<'a>) -> usize;
    fn take(&self, op: SelectedOperation<'_>, program: &mut P) -> Vec<P::Msg>;
}

struct Channel<P: Program + ?Sized, T> {
    rx: Receiver<T>,
    on: fn(&mut P, T) -> Vec<P::Msg>,
}

impl<P: Program + ?Sized, T> Wait<P> for Channel<P, T> {
    fn register<'a>(&'a self, select: &mut Select<'a>) -> usize {
        select.recv(&self.rx)
    }

    fn take(&self, op: SelectedOperation<'_>, program: &mut P) -> Vec<P::Msg> {
        match op.recv(&self.rx) {
            Ok(item) => (self.on)(program, item),
            Err(_) => Vec::new(),
        }
    }
}

/// Runs `program` in the terminal until it is done. stderr goes to `log` meanwhile (if that
/// file can be made), so nothing a library prints draws over the screen.
pub fn run<P: Program>(program: &mut P, log: &Path) -> io::Result<()> {
    let redirect = StderrToFile::redirect(log).ok();
    let mut terminal = ratatui::init();
    let result = drive(program, &mut terminal);
    ratatui::restore();
    drop(terminal);
    drop(redirect);
    result
}

fn drive<P: Program>(program: &mut P, terminal: &mut ratatui::DefaultTerminal) -> io::Result<()> {
    let keys = spawn_key_reader()?;
    // One clock for the whole run: made anew at every wait, it would never fire while audio
    // arrives faster than it ticks.
    let clock = tick(P::TICK);
    // Audio arrives every 10–20 ms; while the clock ticks, a screen drawn once a tick is
    // enough, and drawing on every chunk only takes CPU from transcription.
    let mut drawn: Option<Instant> = None;
    let mut must_draw = true;
    loop {
        let due = drawn.is_none_or(|t| t.elapsed() >= P::TICK) || !program.wants_ticks();
        if must_draw || due {
            terminal.draw(|f| program.draw(f))?;
            drawn = Some(Instant::now());
        }
        let ticks = if program.wants_ticks() {
            clock.clone()
        } else {
            never()
        };
        let sources = program.sources();
        let mut select = Select::new();
        let on_key = select.recv(&keys);
        let on_tick = select.recv(&ticks);
        let own: Vec<usize> = sources.iter().map(|s| s.0.register(&mut select)).collect();
        let op = select.select();
        let index = op.index();
        // Keys and ticks always show at once; a channel's item may wait for the next tick.
        must_draw = index == on_key || index == on_tick;
        let msgs = if index == on_key {
            match op.recv(&keys) {
                Ok(Event::Key(k)) => program.key(&k).into_iter().collect(),
                Ok(_) => Vec::new(), // resize and others: just redraw
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the terminal closed",
                    ))
                }
            }
        } else if index == on_tick {
            let _ = op.recv(&ticks);
            program.tick()
        } else {
            let source = own
                .iter()
                .position(|&i| i == index)
                .expect("select returns one of the operations registered");
            sources[source].0.take(op, program)
        };
        if program.pump(msgs) {
            return Ok(());
        }
    }
}
