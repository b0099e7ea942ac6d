//! What every terminal screen shares: taking the terminal over and giving it back, stderr to
//! a log file meanwhile ([`terminal`]).

pub mod terminal;
