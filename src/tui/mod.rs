//! What every terminal screen shares: taking the terminal over and giving it back, with
//! stderr in a log file meanwhile ([`terminal`]); the key reader and the rules every screen
//! reads keys by ([`keys`]); and the one event loop that drives a screen's state machine
//! ([`event_loop`]). The screens live with their state machines ([`crate::practice`],
//! [`crate::review`]); nothing here imports either of them.

pub mod event_loop;
pub mod keys;
pub mod terminal;

pub use event_loop::{run, Program, Source};
pub use terminal::log_path;
