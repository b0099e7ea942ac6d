//! How long a trainee waits for feedback on a busy desk: the real practice screen (the
//! release binary in tmux, 100×30), `--scenario answer-call --input reply.wav --output null`,
//! a ≈ 7.6 s composed reply, the default 1 s end-of-turn hang-over; the wait is read from
//! `practice.log` — from the end of the turn by the audio clock to the graded feedback.
//! Conditions alternate call by call in one practice session (idle, one busy process,
//! two busy processes, again), so a machine whose load drifts affects all three alike; the
//! bench starts and stops the busy processes itself (this binary run with `--busy`: one
//! thread spinning, like a stuck browser tab).
//!
//! `cargo bench --bench practice_wait [-- --rounds N]`. Needs the models (as the tests do),
//! tmux and the voices in ../shared/audio. Prints the machine and its load average first;
//! on a machine shared with other work the waits are upper bounds.
//! `RINGCOACH_BENCH_BASELINE=path/to/an/older/ringcoach` runs that binary in a second
//! session, call for call alternating with this one, to compare them under the same load
//! (an older binary's log has no end-of-turn line: its wait counts from when the loop saw
//! the end of the turn). `RINGCOACH_BENCH_MODEL=path/to/model.bin` adds a session of this
//! build with `--model` that model (a quantised one, say), alternating with the others.
//! `RINGCOACH_BENCH_TRACE=1` prints each call's log lines.

mod bench_support;
use bench_support::machine;

#[path = "../tests/support/mod.rs"]
mod test_support;
use test_support::tmux::Tmux;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ringcoach");
const REPLY: &str = "您好,广利物业,请问有什么可以帮您?";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--busy") {
        busy_loop();
    }
    let rounds = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(5usize);
    run(rounds);
}

/// One thread spinning until killed.
fn busy_loop() -> ! {
    let mut x = 0u64;
    loop {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

/// Busy processes, killed when dropped.
struct Busy(Vec<Child>);

impl Busy {
    fn start(n: usize) -> Busy {
        let exe = std::env::current_exe().unwrap();
        Busy(
            (0..n)
                .map(|_| Command::new(&exe).arg("--busy").spawn().unwrap())
                .collect(),
        )
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One call's numbers from the practice log.
#[derive(Debug, Clone, Default)]
struct Call {
    /// Audio-clock end of the turn → graded.
    wait_ms: f64,
    /// The loop noticing the end of the turn → graded (what the log's "graded" line says).
    graded_ms: f64,
    /// How late the loop noticed the end of the turn.
    notice_ms: f64,
    requests: usize,
    superseded: usize,
    threads: String,
    reused: bool,
    passed: bool,
}

fn secs_after_plus(line: &str, key: &str) -> Option<f64> {
    let i = line.find(key)? + key.len();
    let rest = line[i..].trim_start().strip_prefix('+')?;
    rest.split_whitespace().next()?.parse().ok()
}

/// Parses the lines one call wrote (from "turn 1 ended" to its "graded" line).
fn parse_call(lines: &[&str], passed: bool) -> Option<Call> {
    let ended = lines.iter().rev().find(|l| l.contains("turn 1 ended"));
    let notice_ms = match ended {
        Some(l) => (secs_after_plus(l, "noticed")? - secs_after_plus(l, "ended")?) * 1000.0,
        None => 0.0,
    };
    let graded = lines.iter().rev().find(|l| l.contains(" graded "))?;
    let graded_ms: f64 = graded
        .split(" graded ")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let used = graded
        .split("request #")
        .nth(1)
        .map_or("", |u| u.trim_end_matches(')'));
    let used_line = lines
        .iter()
        .find(|l| l.starts_with(&format!("practice: request #{used} ")) && l.contains(" done "));
    let threads = used_line
        .and_then(|l| l.split(" on ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or("?")
        .to_string();
    Some(Call {
        wait_ms: notice_ms + graded_ms,
        graded_ms,
        notice_ms,
        requests: lines
            .iter()
            .filter(|l| l.starts_with("practice: request #"))
            .count(),
        superseded: lines.iter().filter(|l| l.contains(" superseded ")).count(),
        threads,
        reused: ended.is_some_and(|l| l.contains("reused")),
        passed,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

fn log_lines(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn run(rounds: usize) {
    let dir = tempfile::tempdir().unwrap();
    let reply = dir.path().join("reply.wav");
    test_support::compose(REPLY, &reply, &["--lead-ms", "300", "--speed", "1.1"]);
    let (samples, rate) = test_support::read_mono(&reply);
    println!("machine: {}", machine());
    println!(
        "reply: {REPLY} ({:.1} s), {rounds} round(s) of idle / one busy / two busy\n",
        samples.len() as f64 / f64::from(rate)
    );
    let models = test_support::speech::model_dir();
    // (name, binary, --model): this build with the cache's default model, then the variants.
    let mut bins: Vec<(String, PathBuf, Option<PathBuf>)> =
        vec![("this build".to_string(), PathBuf::from(BIN), None)];
    if let Some(m) = std::env::var_os("RINGCOACH_BENCH_MODEL") {
        let m = PathBuf::from(m);
        let name = format!(
            "this build, {}",
            m.file_name().unwrap_or_default().to_string_lossy()
        );
        bins.push((name, PathBuf::from(BIN), Some(m)));
    }
    if let Some(b) = std::env::var_os("RINGCOACH_BENCH_BASELINE") {
        bins.push(("baseline".to_string(), PathBuf::from(b), None));
    }
    let sessions: Vec<Session> = bins
        .iter()
        .enumerate()
        .map(|(i, (_, bin, model))| {
            Session::start(
                &dir.path().join(format!("s{i}")),
                bin,
                model.as_deref(),
                &reply,
                &models,
            )
        })
        .collect();
    // The model loads while the card is up; give it the time a trainee reading it would.
    std::thread::sleep(Duration::from_secs(2));

    let conditions = [0usize, 1, 2];
    let mut results: Vec<Vec<Vec<Call>>> = vec![vec![Vec::new(); conditions.len()]; bins.len()];
    let mut failed = vec![vec![0usize; conditions.len()]; bins.len()];
    let mut loads: Vec<Vec<String>> = vec![Vec::new(); conditions.len()];
    for round in 0..rounds {
        for (k, &n) in conditions.iter().enumerate() {
            let busy = Busy::start(n);
            // Let the machine (and ringcoach's CPU meter) see the new load.
            std::thread::sleep(Duration::from_millis(1500));
            for (b, s) in sessions.iter().enumerate() {
                let Some(call) = s.call() else {
                    println!(
                        "round {} · {} · {n} busy · NO FEEDBACK",
                        round + 1,
                        bins[b].0
                    );
                    failed[b][k] += 1;
                    continue;
                };
                println!(
                    "round {} · {} · {} busy · wait {:.0} ms (graded {:.0} ms after the loop saw the end, {:.0} ms late) · {} request(s), {} superseded · {} thread(s) · {} · {}",
                    round + 1,
                    bins[b].0,
                    n,
                    call.wait_ms,
                    call.graded_ms,
                    call.notice_ms,
                    call.requests,
                    call.superseded,
                    call.threads,
                    if call.reused { "guess reused" } else { "end-of-turn request" },
                    if call.passed { "PASSED" } else { "NOT PASSED" },
                );
                results[b][k].push(call);
            }
            let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
            drop(busy);
            loads[k].push(
                load.split_whitespace()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
    }
    for s in &sessions {
        s.t.keys(&["q"]);
        s.t.keys(&["q"]);
    }

    println!("\n| binary | beside ringcoach | median wait | min – max | threads | feedback / passed | load average at the end of each call |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (b, (name, _, _)) in bins.iter().enumerate() {
        for (k, &n) in conditions.iter().enumerate() {
            let calls = &results[b][k];
            let waits: Vec<f64> = calls.iter().map(|c| c.wait_ms / 1000.0).collect();
            let min = waits.iter().copied().fold(f64::INFINITY, f64::min);
            let max = waits.iter().copied().fold(0.0, f64::max);
            let (med, range) = if waits.is_empty() {
                ("no feedback".to_string(), "–".to_string())
            } else {
                (
                    format!("{:.2} s", median(waits.clone())),
                    format!("{min:.2} – {max:.2} s"),
                )
            };
            let mut threads: Vec<&str> = calls.iter().map(|c| c.threads.as_str()).collect();
            threads.sort_unstable();
            threads.dedup();
            println!(
                "| {name} | {} | {med} | {range} | {} | {}/{} / {} | {} |",
                match n {
                    0 => "none started (idle if the machine is)".to_string(),
                    1 => "one busy process".to_string(),
                    n => format!("{n} busy processes"),
                },
                threads.join(", "),
                calls.len(),
                calls.len() + failed[b][k],
                calls.iter().filter(|c| c.passed).count(),
                loads[k].join(" · "),
            );
        }
    }
}

/// One practice screen in tmux, on the situation card or the feedback.
struct Session {
    t: Tmux,
    log: PathBuf,
    first: std::cell::Cell<bool>,
}

impl Session {
    fn start(dir: &Path, bin: &Path, model: Option<&Path>, reply: &Path, models: &Path) -> Session {
        std::fs::create_dir_all(dir).unwrap();
        let cmd = format!(
            "cd {d} && RINGCOACH_MODEL_DIR='{m}' RINGCOACH_DATA_DIR='{d}/data' XDG_STATE_HOME='{d}/state' {b} --input {r} --output null --lang en --scenario answer-call --org 广利物业{model}; sleep 600",
            d = dir.display(),
            m = models.display(),
            b = bin.display(),
            r = reply.display(),
            model = model.map_or(String::new(), |p| format!(" --model '{}'", p.display())),
        );
        let t = Tmux::start(dir, &cmd, 100, 30);
        t.wait_for("Enter start ringing", Duration::from_secs(60));
        Session {
            t,
            log: dir.join("state/ringcoach/practice.log"),
            first: std::cell::Cell::new(true),
        }
    }

    /// Rings, picks up on the first ring, lets the reply play and waits for the feedback;
    /// `None` when the call ended without one (an error on the status line).
    fn call(&self) -> Option<Call> {
        let t = &self.t;
        let before = log_lines(&self.log).len();
        t.keys(&[if self.first.replace(false) {
            "Enter"
        } else {
            "r"
        }]);
        t.wait_for("The phone is ringing", Duration::from_secs(20));
        t.keys(&["Space"]);
        let start = Instant::now();
        // The log is polled during the call, the screen only once a second (a tmux capture
        // is a process): a call that failed is back on the situation card with its error.
        let mut polls = 0;
        let lines = loop {
            let lines = log_lines(&self.log);
            if lines[before.min(lines.len())..]
                .iter()
                .any(|l| l.contains(" graded "))
            {
                break lines;
            }
            polls += 1;
            if polls % 10 == 0 && start.elapsed() > Duration::from_secs(5) {
                let screen = t.screen();
                // Back on the situation card: the call ended without feedback.
                if screen.contains("┌Situation") {
                    let status: Vec<&str> = screen
                        .lines()
                        .filter(|l| !l.contains('│') && !l.contains('┌') && !l.contains('└'))
                        .filter(|l| !l.trim().is_empty() && !l.contains("phone-etiquette"))
                        .collect();
                    println!("    no feedback: {}", status.join(" ").trim());
                    self.first.set(true);
                    return None;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(180),
                "no feedback after 180 s; screen:\n{}",
                t.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let screen = t.wait_for("PASSED", Duration::from_secs(10));
        let mine: Vec<&str> = lines[before..].iter().map(String::as_str).collect();
        if std::env::var_os("RINGCOACH_BENCH_TRACE").is_some() {
            for l in &mine {
                println!("    {l}");
            }
        }
        Some(
            parse_call(&mine, !screen.contains("NOT PASSED"))
                .unwrap_or_else(|| panic!("cannot read the log:\n{}", mine.join("\n"))),
        )
    }
}
