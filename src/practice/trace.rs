//! The practice log's account of every transcription request in a call: why it was made
//! (a guess at a pause, or the end of a turn), when it was sent, started and finished, on
//! how many threads and how busy the machine was, whether it was superseded or reused as
//! the turn's transcript — and, when the call is graded, which request the trainee waited
//! for and how long. So a slow feedback explains itself in `practice.log`.
//!
//! At the end it also says how the call's CPU time was shared between the screen, the
//! audio threads and transcription (from `/proc/self/task`), so starved threads show.
//!
//! Bookkeeping: the runtime passes the instants in, this returns the lines; only
//! [`CpuSnapshot::now`] reads `/proc`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::transcribe::{RunInfo, TranscribeError, Transcript};

/// Why a request was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The trainee paused: the reply so far, in case the turn ends here.
    PauseGuess,
    /// The turn ended and no guess had heard all of it.
    EndOfTurn,
}

impl Why {
    fn as_str(self) -> &'static str {
        match self {
            Why::PauseGuess => "pause guess",
            Why::EndOfTurn => "end of turn",
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    id: u64,
    turn: usize,
    why: Why,
    audio_ms: u64,
    sent: Instant,
    started: Option<Instant>,
    /// Set when the guess became the turn's transcript.
    reused: bool,
}

/// Every request of one call.
#[derive(Debug, Clone)]
pub struct Trace {
    /// Pickup: every time in the log is counted from here.
    t0: Instant,
    entries: Vec<Entry>,
    /// CPU time at pickup, and the latest seen of every thread since (threads that end
    /// during the call, like a turn's audio source, are kept at their last reading).
    cpu0: Option<CpuSnapshot>,
    cpu_seen: BTreeMap<u32, (String, u64)>,
}

/// This process's CPU time (clock ticks), in total and per living thread.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuSnapshot {
    pub total: u64,
    /// Thread id → (name, ticks).
    pub threads: BTreeMap<u32, (String, u64)>,
}

impl CpuSnapshot {
    /// Reads `/proc/self/stat` and `/proc/self/task/*/stat`; `None` without `/proc`.
    pub fn now() -> Option<CpuSnapshot> {
        let total = ticks_of(&std::fs::read_to_string("/proc/self/stat").ok()?)?.1;
        let mut threads = BTreeMap::new();
        for e in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
            let Some(tid) = e.file_name().to_str().and_then(|t| t.parse().ok()) else {
                continue;
            };
            if let Some(t) = std::fs::read_to_string(e.path().join("stat"))
                .ok()
                .and_then(|s| ticks_of(&s))
            {
                threads.insert(tid, t);
            }
        }
        Some(CpuSnapshot { total, threads })
    }
}

/// The name and utime + stime of a `stat` line (`pid (name) state … utime stime …`).
fn ticks_of(stat: &str) -> Option<(String, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_string();
    let f: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

/// The unit of `/proc`'s CPU times.
pub fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf only reads a constant of the running system.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(t).ok().filter(|&t| t > 0).unwrap_or(100)
}

/// What a thread does, by the name the product gives it (cut to 15 bytes by Linux).
fn role(name: &str) -> &'static str {
    if name.starts_with("ringcoach-tran") {
        "transcription"
    } else if name.starts_with("ringcoach-file") || name.starts_with("ringcoach-capt") {
        "audio in"
    } else if name.starts_with("ringcoach-null") || name.starts_with("ringcoach-play") {
        "audio out"
    } else if name.starts_with("ringcoach-keys") || name == "ringcoach" {
        "screen and keys"
    } else {
        "other"
    }
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

impl Trace {
    pub fn new(pickup: Instant) -> Trace {
        Trace {
            t0: pickup,
            entries: Vec::new(),
            cpu0: None,
            cpu_seen: BTreeMap::new(),
        }
    }

    /// Notes the CPU time so far (at pickup: the base; later: threads that may end soon).
    pub fn cpu(&mut self, snap: Option<CpuSnapshot>) {
        let Some(snap) = snap else { return };
        for (tid, t) in &snap.threads {
            self.cpu_seen.insert(*tid, t.clone());
        }
        if self.cpu0.is_none() {
            self.cpu0 = Some(snap);
        }
    }

    /// How the call's CPU time was shared, given the snapshot at its end and the clock
    /// tick rate; `None` if nothing was measured.
    pub fn cpu_line(&mut self, end: Option<CpuSnapshot>, ticks_per_s: u64) -> Option<String> {
        self.cpu(end.clone());
        let (base, end) = (self.cpu0.as_ref()?, end?);
        let mut by_role: BTreeMap<&str, u64> = BTreeMap::new();
        let mut named = 0;
        for (tid, (name, ticks)) in &self.cpu_seen {
            let before = base.threads.get(tid).map_or(0, |t| t.1);
            let used = ticks.saturating_sub(before);
            named += used;
            *by_role.entry(role(name)).or_default() += used;
        }
        let total = end.total.saturating_sub(base.total);
        let s = |t: u64| format!("{:.2} s", t as f64 / ticks_per_s.max(1) as f64);
        let mut parts: Vec<String> = [
            "screen and keys",
            "audio in",
            "audio out",
            "transcription",
            "other",
        ]
        .iter()
        .filter_map(|r| by_role.get(r).map(|&t| format!("{r} {}", s(t))))
        .collect();
        // ggml's worker threads live for one graph each: only the total keeps their time.
        parts.push(format!(
            "ggml helper threads {}",
            s(total.saturating_sub(named))
        ));
        Some(format!(
            "practice: CPU used from pickup to feedback: {} in all ({})",
            s(total),
            parts.join(", ")
        ))
    }

    fn at(&self, t: Instant) -> String {
        format!(
            "+{:.2} s",
            t.saturating_duration_since(self.t0).as_secs_f64()
        )
    }

    fn entry(&self, id: u64) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }

    fn head(&self, e: &Entry) -> String {
        format!(
            "practice: request #{} (turn {}, {}, {:.2} s of audio) sent {}",
            e.id,
            e.turn + 1,
            e.why.as_str(),
            e.audio_ms as f64 / 1000.0,
            self.at(e.sent)
        )
    }

    /// Request `id` was sent to the worker.
    pub fn sent(&mut self, id: u64, turn: usize, why: Why, samples: usize, at: Instant) {
        self.entries.push(Entry {
            id,
            turn,
            why,
            audio_ms: samples as u64 * 1000 / 16_000,
            sent: at,
            started: None,
            reused: false,
        });
    }

    /// The worker began on `id`, `queued` after it was sent.
    pub fn started(&mut self, id: u64, queued: Duration) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.id == id) {
            e.started = Some(e.sent + queued);
        }
    }

    /// The guess `id` heard the whole turn: it is the turn's transcript.
    pub fn reused(&mut self, id: u64) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.id == id) {
            e.reused = true;
        }
    }

    fn started_part(&self, e: &Entry) -> String {
        match e.started {
            Some(s) => format!(
                ", started {} (queued {})",
                self.at(s),
                secs(s.saturating_duration_since(e.sent))
            ),
            None => ", never started".into(),
        }
    }

    /// The line for a request the worker dropped as stale (`spent`: work done on it).
    pub fn superseded(&self, id: u64, spent: Duration, at: Instant) -> Option<String> {
        let e = self.entry(id)?;
        let work = if spent.is_zero() {
            "dropped unheard".to_string()
        } else {
            format!("cancelled after {} of work", secs(spent))
        };
        Some(format!(
            "{}{}, superseded {}: a newer request made it stale, {work}",
            self.head(e),
            self.started_part(e),
            self.at(at)
        ))
    }

    /// The line for a request that finished; `turn_request`: whether a turn waits for it
    /// (sent at the end of the turn, or a guess the turn adopted).
    pub fn done(
        &self,
        id: u64,
        result: &Result<Transcript, TranscribeError>,
        elapsed: Duration,
        run: Option<&RunInfo>,
        turn_request: bool,
        at: Instant,
    ) -> Option<String> {
        let e = self.entry(id)?;
        let how = match run {
            Some(r) => {
                let busy = r
                    .others_busy
                    .map_or("not measured".to_string(), |b| format!("{b:.1} CPU"));
                format!(
                    " on {} thread{} (other programs busy: {busy}; vad {} ms, whisper {} ms, {} steps)",
                    r.threads,
                    if r.threads == 1 { "" } else { "s" },
                    r.vad_ms,
                    r.decode_ms,
                    r.decoder_steps
                )
            }
            None => String::new(),
        };
        let what = match result {
            Ok(t) if t.cut_off.is_some() => "cut off, partial transcript".to_string(),
            Ok(t) if t.heard_nothing() => "nothing heard".to_string(),
            Ok(t) => format!("heard {:?}", t.text),
            Err(err) => format!("failed: {err}"),
        };
        let role = if e.reused {
            "; reused as the turn's transcript"
        } else if turn_request {
            "; the turn's transcript"
        } else {
            "; not used (more was said after it)"
        };
        Some(format!(
            "{}{}, done {} after {}{how}: {what}{role}",
            self.head(e),
            self.started_part(e),
            self.at(at),
            secs(elapsed),
        ))
    }

    /// The line for the end of a turn: when the audio says it ended, when the loop saw it,
    /// and which request will be its transcript.
    pub fn turn_ended(
        &self,
        turn: usize,
        audio_end: Instant,
        noticed: Instant,
        request: u64,
        have_text: bool,
    ) -> String {
        let how = match self.entry(request) {
            Some(e) if e.reused => format!(
                "the pause guess #{request} heard it all and is reused{}",
                if have_text {
                    " (already transcribed)"
                } else {
                    " (still running)"
                }
            ),
            _ => format!("request #{request} sent for the whole turn"),
        };
        format!(
            "practice: turn {} ended {} by the audio clock, noticed {}; {how}",
            turn + 1,
            self.at(audio_end),
            self.at(noticed)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    fn heard(text: &str) -> Result<Transcript, TranscribeError> {
        Ok(Transcript {
            text: text.into(),
            ..Transcript::default()
        })
    }

    #[test]
    fn a_guess_that_was_reused_says_so_with_its_times_and_threads() {
        let t0 = Instant::now();
        let mut tr = Trace::new(t0);
        tr.sent(3, 0, Why::PauseGuess, 16_000 * 7, ms(t0, 7300));
        tr.started(3, Duration::from_millis(10));
        tr.reused(3);
        let run = RunInfo {
            threads: 1,
            others_busy: Some(1.02),
            vad_ms: 40,
            decode_ms: 900,
            decoder_steps: 31,
            ..RunInfo::default()
        };
        let line = tr
            .done(
                3,
                &heard("您好"),
                Duration::from_millis(950),
                Some(&run),
                true,
                ms(t0, 8260),
            )
            .unwrap();
        assert_eq!(
            line,
            "practice: request #3 (turn 1, pause guess, 7.00 s of audio) sent +7.30 s, started +7.31 s (queued 0.01 s), done +8.26 s after 0.95 s on 1 thread (other programs busy: 1.0 CPU; vad 40 ms, whisper 900 ms, 31 steps): heard \"您好\"; reused as the turn's transcript"
        );
        let end = tr.turn_ended(0, ms(t0, 8000), ms(t0, 8010), 3, false);
        assert_eq!(end, "practice: turn 1 ended +8.00 s by the audio clock, noticed +8.01 s; the pause guess #3 heard it all and is reused (still running)");
    }

    #[test]
    fn cpu_time_is_shared_out_by_thread_role_ended_threads_included() {
        let snap = |total: u64, threads: &[(u32, &str, u64)]| CpuSnapshot {
            total,
            threads: threads
                .iter()
                .map(|&(tid, n, t)| (tid, (n.to_string(), t)))
                .collect(),
        };
        let t0 = Instant::now();
        let mut tr = Trace::new(t0);
        tr.cpu(Some(snap(
            100,
            &[(1, "ringcoach", 50), (2, "ringcoach-trans", 40)],
        )));
        // The turn's audio source is alive at the end of the turn, gone at the end.
        tr.cpu(Some(snap(
            150,
            &[
                (1, "ringcoach", 60),
                (2, "ringcoach-trans", 60),
                (3, "ringcoach-file-", 5),
            ],
        )));
        let line = tr
            .cpu_line(
                Some(snap(
                    400,
                    &[(1, "ringcoach", 70), (2, "ringcoach-trans", 240)],
                )),
                100,
            )
            .unwrap();
        assert_eq!(line, "practice: CPU used from pickup to feedback: 3.00 s in all (screen and keys 0.20 s, audio in 0.05 s, transcription 2.00 s, ggml helper threads 0.75 s)");
        assert_eq!(Trace::new(t0).cpu_line(None, 100), None);
    }

    #[test]
    fn a_stat_line_gives_the_thread_name_and_its_cpu_ticks() {
        let line =
            "4242 (ringcoach-trans) R 1 4242 4242 0 -1 4194304 100 0 0 0 150 25 0 0 20 0 5 0";
        assert_eq!(ticks_of(line), Some(("ringcoach-trans".into(), 175)));
        assert_eq!(ticks_of("garbage"), None);
        if let Some(now) = CpuSnapshot::now() {
            assert!(!now.threads.is_empty());
        }
    }

    #[test]
    fn stale_and_unused_requests_are_told_apart() {
        let t0 = Instant::now();
        let mut tr = Trace::new(t0);
        tr.sent(1, 0, Why::PauseGuess, 16_000, ms(t0, 1300));
        tr.sent(2, 0, Why::PauseGuess, 32_000, ms(t0, 2300));
        let line = tr.superseded(1, Duration::ZERO, ms(t0, 2300)).unwrap();
        assert!(
            line.ends_with(
                "never started, superseded +2.30 s: a newer request made it stale, dropped unheard"
            ),
            "{line}"
        );
        tr.started(2, Duration::ZERO);
        let line = tr
            .superseded(2, Duration::from_millis(400), ms(t0, 2700))
            .unwrap();
        assert!(line.contains("cancelled after 0.40 s of work"), "{line}");
        tr.sent(4, 0, Why::EndOfTurn, 48_000, ms(t0, 4000));
        let line = tr
            .done(4, &heard(""), Duration::ZERO, None, false, ms(t0, 4100))
            .unwrap();
        assert!(line.contains("end of turn"), "{line}");
        assert!(
            line.ends_with("nothing heard; not used (more was said after it)"),
            "{line}"
        );
        assert_eq!(tr.superseded(99, Duration::ZERO, t0), None);
    }
}
