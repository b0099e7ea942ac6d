//! What the command line prints for people: control characters escaped (a name or a reply
//! holding ESC sequences must not drive the terminal), errors on one line, a closed pipe
//! ended quietly as Unix tools end, and clap's usage errors in one line that says what to
//! do. JSON output is escaped by JSON itself and goes out as it is.

use std::borrow::Cow;
use std::io::{self, Write};
use std::process::ExitCode;

/// `s` with every control character (but newline and tab) and every bidirectional
/// override written as an escape (`\x1b`, `\u{202e}`), so text a user typed or a file held
/// is shown, never obeyed, by the terminal.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    let bad = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if bad(c) {
            if (c as u32) < 0x80 {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Writes human-readable text with control characters escaped.
pub fn write_human(out: &mut impl Write, text: &str) -> io::Result<()> {
    out.write_all(escape_controls(text).as_bytes())
}

/// Renders with `render` into memory, then writes it escaped: for renderers that write
/// user text (transcripts, names) straight into a writer.
pub fn human(
    out: &mut impl Write,
    render: impl FnOnce(&mut Vec<u8>) -> io::Result<()>,
) -> io::Result<()> {
    let mut buf = Vec::new();
    render(&mut buf)?;
    write_human(out, &String::from_utf8_lossy(&buf))
}

/// An error and its causes on one line: "what went wrong: why". A cause already said by
/// the message before it is not said again; line breaks inside any of them become spaces;
/// control characters are escaped.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    escape_controls(&line).into_owned()
}

/// True when the error is a write to a pipe whose reader has gone (`… | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .and_then(|e| e.io_error_kind())
                .is_some_and(|k| k == io::ErrorKind::BrokenPipe)
    })
}

/// Ends the process the way `cat` ends when its reader goes away: by SIGPIPE, silently.
pub fn die_of_broken_pipe() -> ExitCode {
    // SAFETY: restoring the default action and raising a signal have no memory effects;
    // the process ends here.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    ExitCode::from(141)
}

/// The subcommand a command line names (`ringcoach store list`), walking the words of
/// `args` down clap's command tree; for "see `… --help`" when clap's error has no usage.
pub fn command_path(root: &clap::Command, args: &[String]) -> String {
    let mut path = vec![root.get_name().to_string()];
    let mut cmd = root;
    for a in args.iter().skip(1) {
        if let Some(sub) = cmd.find_subcommand(a) {
            path.push(sub.get_name().to_string());
            cmd = sub;
        }
    }
    path.join(" ")
}

/// "`ringcoach store` needs a command: list, rebuild, …; see `ringcoach store --help`".
pub fn missing_command(root: &clap::Command, path: &str) -> String {
    let mut cmd = root;
    for word in path.split(' ').skip(1) {
        if let Some(sub) = cmd.find_subcommand(word) {
            cmd = sub;
        }
    }
    let subs: Vec<&str> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name())
        .collect();
    format!(
        "`{path}` needs a command: {}; see `{path} --help`",
        subs.join(", ")
    )
}

/// A usage error from clap as one line that says what is wrong and where help is:
/// `unexpected argument '--foo' found (tip: …); see \`ringcoach grade --help\``.
/// `command` is the subcommand typed, used when clap's text names none.
pub fn clap_one_line(rendered: &str, command: &str) -> String {
    let mut what = String::new();
    let mut tips = Vec::new();
    let mut command = command.to_string();
    // The lines right under "error:" (what is missing, say) belong to it.
    let mut in_error = false;
    for raw in rendered.lines() {
        let line = raw.trim();
        if line.is_empty() {
            in_error = false;
            continue;
        }
        if let Some(e) = line.strip_prefix("error: ") {
            what = e.to_string();
            in_error = true;
        } else if in_error && raw.starts_with(char::is_whitespace) && !line.starts_with("tip:") {
            what.push(' ');
            what.push_str(line);
        } else if let Some(t) = line.strip_prefix("tip: ") {
            tips.push(t.to_string());
        } else if let Some(u) = line.strip_prefix("Usage: ") {
            let words: Vec<&str> = u
                .split_whitespace()
                .take_while(|w| !w.starts_with(['[', '<', '-']))
                .collect();
            if !words.is_empty() {
                command = words.join(" ");
            }
        }
    }
    if what.is_empty() {
        what = rendered
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("the command line is not valid")
            .to_string();
    }
    let mut line = what;
    if !tips.is_empty() {
        line.push_str(&format!(" ({})", tips.join("; ")));
    }
    line.push_str(&format!("; see `{command} --help`"));
    escape_controls(&line.split_whitespace().collect::<Vec<_>>().join(" ")).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(escape_controls("您好 广利"), "您好 广利");
        assert_eq!(
            escape_controls("\u{1b}[2J\u{1b}]0;pwned\u{7}x\u{9b}y\u{202e}z"),
            "\\x1b[2J\\x1b]0;pwned\\x07x\\u{9b}y\\u{202e}z"
        );
        assert_eq!(escape_controls("a\n\tb"), "a\n\tb");
    }

    #[test]
    fn an_error_is_one_line_and_says_each_cause_once() {
        let io = io::Error::new(io::ErrorKind::NotFound, "No such file or directory");
        let err = anyhow::Error::new(io).context("cannot open x.wav: No such file or directory");
        assert_eq!(
            one_line(&err),
            "cannot open x.wav: No such file or directory"
        );
        let err = anyhow::anyhow!("first\nsecond\u{1b}[31m").context("outer");
        assert_eq!(one_line(&err), "outer: first second\\x1b[31m");
    }

    #[test]
    fn clap_errors_become_one_line_with_the_help_to_read() {
        let rendered = "error: unexpected argument '--foo' found\n\n  tip: to pass '--foo' as a value, use '-- --foo'\n\nUsage: ringcoach grade [OPTIONS] --scenario <SCENARIO> [WAV]...\n\nFor more information, try '--help'.\n";
        let missing = "error: the following required arguments were not provided:\n  <--html <FILE>|--csv <FILE>|--json <FILE>>\n\nUsage: ringcoach report --trainee <NAME> <--html <FILE>|--csv <FILE>|--json <FILE>>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            clap_one_line(missing, "ringcoach"),
            "the following required arguments were not provided: <--html <FILE>|--csv <FILE>|--json <FILE>>; see `ringcoach report --help`"
        );
        assert_eq!(
            clap_one_line(rendered, "ringcoach"),
            "unexpected argument '--foo' found (to pass '--foo' as a value, use '-- --foo'); see `ringcoach grade --help`"
        );
    }
}
