//! How many threads Whisper gets for one clip.
//!
//! ggml's worker threads wait for each other at a spinning barrier after every operation.
//! When one of them loses its core to another program, the others spin until it comes back:
//! on a 2-core desk with one busy program beside ringcoach, two threads were 2–7× slower
//! than one. So the count follows the CPUs that are actually free, measured from
//! `/proc/stat` just before the clip (our own process's CPU time taken out, since our last
//! transcription is not someone else's load), and an explicit request is clamped to the
//! CPUs that exist. [`choose`] is the one place both rules live; [`CpuMeter`] supplies
//! the measurement.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Threads {
    /// As many as there are free CPUs, decided per clip.
    #[default]
    Auto,
    /// This many (clamped to the CPUs that exist).
    Fixed(usize),
}

impl std::str::FromStr for Threads {
    type Err = String;
    /// `auto` or a positive number.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "auto" {
            return Ok(Threads::Auto);
        }
        match s.parse::<usize>() {
            Ok(n) if n > 0 => Ok(Threads::Fixed(n)),
            _ => Err(format!(
                "unknown thread count {s:?}: use `auto` or a number from 1 up"
            )),
        }
    }
}

impl std::fmt::Display for Threads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Threads::Auto => f.write_str("auto"),
            Threads::Fixed(n) => write!(f, "{n}"),
        }
    }
}

/// A CPU counts as free for a thread when other programs leave at least this much of it:
/// a thread that has to share its core makes every other thread spin at the barrier, so a
/// core only partly free is worth less than none.
pub const FREE_ENOUGH: f32 = 0.7;

/// Threads for one clip: `requested` clamped to `1..=cpus`; `Auto` takes the CPUs others
/// leave free (`others_busy`: CPUs' worth of time other programs used just before, `None`
/// when it could not be measured → every CPU), at least one.
pub fn choose(requested: Threads, cpus: usize, others_busy: Option<f32>) -> usize {
    let cpus = cpus.max(1);
    match requested {
        Threads::Fixed(n) => n.clamp(1, cpus),
        Threads::Auto => {
            let Some(busy) = others_busy.filter(|b| b.is_finite()) else {
                return cpus;
            };
            let free = cpus as f32 - busy.max(0.0);
            // Whole CPUs, counting one that is nearly free (FREE_ENOUGH) as free.
            let n = (free + (1.0 - FREE_ENOUGH)).floor();
            (n.max(1.0) as usize).min(cpus)
        }
    }
}

/// The CPUs this process may run on.
pub fn available_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Cumulative CPU time, in clock ticks: the whole machine's busy and total time, and this
/// process's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTimes {
    pub busy: u64,
    pub total: u64,
    pub own: u64,
    /// CPUs `/proc/stat` counts.
    pub cpus: u32,
}

impl CpuTimes {
    /// Reads `/proc/stat` and `/proc/self/stat`; `None` where they do not exist.
    pub fn now() -> Option<CpuTimes> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let own = std::fs::read_to_string("/proc/self/stat").ok()?;
        parse(&stat, &own)
    }

    /// CPUs' worth of time others used between `earlier` and `self` (0 ..= cpus).
    pub fn others_busy_since(&self, earlier: &CpuTimes) -> Option<f32> {
        let total = self.total.checked_sub(earlier.total)?;
        if total == 0 {
            return None;
        }
        let busy = self.busy.saturating_sub(earlier.busy);
        let own = self.own.saturating_sub(earlier.own);
        let others = busy.saturating_sub(own) as f32 / total as f32;
        Some((others * self.cpus as f32).clamp(0.0, self.cpus as f32))
    }
}

/// `/proc/stat`'s first line (`cpu user nice system idle iowait irq softirq steal ...`) and
/// `/proc/self/stat`'s utime + stime (fields 14 and 15, counted after the command name,
/// which may contain spaces and parentheses).
fn parse(stat: &str, own: &str) -> Option<CpuTimes> {
    let mut lines = stat.lines();
    let first = lines.next()?;
    let mut f = first.split_whitespace();
    if f.next()? != "cpu" {
        return None;
    }
    // user nice system idle iowait irq softirq steal (guest time is inside user already).
    let v: Vec<u64> = f.take(8).map(|x| x.parse().ok()).collect::<Option<_>>()?;
    if v.len() < 5 {
        return None;
    }
    let total: u64 = v.iter().sum();
    let idle = v[3] + v[4];
    let cpus = lines
        .filter(|l| {
            l.strip_prefix("cpu")
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        })
        .count() as u32;
    let after_comm = &own[own.rfind(')')? + 1..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // After ")": state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(CpuTimes {
        busy: total - idle,
        total,
        own: utime + stime,
        cpus: cpus.max(1),
    })
}

/// Recent CPU-time samples, so that "just before" a clip means the last second or so, not
/// since the program started. [`CpuMeter::sample`] is cheap (two small reads); the
/// transcription worker calls it while it waits for work.
#[derive(Debug, Default)]
pub struct CpuMeter {
    samples: VecDeque<(Instant, CpuTimes)>,
}

/// The window "just before" a clip covers: long enough to average a few scheduler ticks
/// (10 ms each), short enough to follow a program that just started.
const WINDOW: Duration = Duration::from_millis(1000);
const SHORTEST: Duration = Duration::from_millis(100);

impl CpuMeter {
    pub fn new() -> CpuMeter {
        let mut m = CpuMeter::default();
        m.sample();
        m
    }

    /// Takes a sample now, keeping the ones still useful.
    pub fn sample(&mut self) -> Option<CpuTimes> {
        let now = Instant::now();
        let t = CpuTimes::now()?;
        self.push(now, t);
        Some(t)
    }

    fn push(&mut self, at: Instant, t: CpuTimes) {
        self.samples.push_back((at, t));
        // Keep the newest sample older than the window (the base of the next reading) and
        // everything after it.
        while self.samples.len() > 2 && at.duration_since(self.samples[1].0) >= WINDOW {
            self.samples.pop_front();
        }
    }

    /// CPUs' worth of time other programs used over about the last second, measured now.
    /// `None` when `/proc` cannot be read (the caller then assumes an idle machine).
    pub fn others_busy(&mut self) -> Option<f32> {
        let now = Instant::now();
        let t = self.sample()?;
        self.others_busy_at(now, &t)
    }

    fn others_busy_at(&self, now: Instant, t: &CpuTimes) -> Option<f32> {
        // The newest sample at least SHORTEST old; else the oldest there is.
        let base = self
            .samples
            .iter()
            .rev()
            .find(|(at, _)| now.duration_since(*at) >= SHORTEST)
            .or_else(|| self.samples.front())?;
        t.others_busy_since(&base.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_clamped_to_the_cpus_that_exist() {
        assert_eq!(choose(Threads::Fixed(1000), 2, None), 2);
        assert_eq!(choose(Threads::Fixed(1000), 2, Some(2.0)), 2);
        assert_eq!(choose(Threads::Fixed(1), 8, None), 1);
        assert_eq!(choose(Threads::Fixed(0), 8, None), 1);
        assert_eq!(choose(Threads::Fixed(3), 0, None), 1);
    }

    #[test]
    fn auto_takes_the_cpus_others_leave_free() {
        // Idle, or nothing measured: every CPU.
        assert_eq!(choose(Threads::Auto, 2, Some(0.0)), 2);
        assert_eq!(choose(Threads::Auto, 2, Some(0.2)), 2);
        assert_eq!(choose(Threads::Auto, 2, None), 2);
        // One busy program on two cores: one thread, never two spinning against it.
        assert_eq!(choose(Threads::Auto, 2, Some(0.5)), 1);
        assert_eq!(choose(Threads::Auto, 2, Some(1.0)), 1);
        // Two busy programs: still one, never none.
        assert_eq!(choose(Threads::Auto, 2, Some(2.0)), 1);
        assert_eq!(choose(Threads::Auto, 2, Some(9.0)), 1);
        // A bigger machine keeps what is free.
        assert_eq!(choose(Threads::Auto, 8, Some(3.0)), 5);
        assert_eq!(choose(Threads::Auto, 8, Some(-1.0)), 8);
        assert_eq!(choose(Threads::Auto, 8, Some(f32::NAN)), 8);
    }

    #[test]
    fn threads_parse_from_the_command_line() {
        assert_eq!("auto".parse(), Ok(Threads::Auto));
        assert_eq!("3".parse(), Ok(Threads::Fixed(3)));
        assert!("0".parse::<Threads>().is_err());
        assert!("many".parse::<Threads>().is_err());
        assert_eq!(Threads::Fixed(2).to_string(), "2");
    }

    const STAT: &str = "cpu  1000 10 200 5000 50 0 5 3 0 0\ncpu0 500 5 100 2500 25 0 3 2 0 0\ncpu1 500 5 100 2500 25 0 2 1 0 0\nintr 1 2 3\n";

    fn own(utime: u64, stime: u64) -> String {
        format!("4242 (ring coach) (x) S 1 4242 4242 0 -1 4194304 100 0 0 0 {utime} {stime} 0 0 20 0 5 0 100 1000 200")
    }

    #[test]
    fn proc_stat_is_read_with_the_process_name_in_the_way() {
        let t = parse(STAT, &own(70, 30)).unwrap();
        assert_eq!(t.total, 1000 + 10 + 200 + 5000 + 50 + 5 + 3);
        assert_eq!(t.busy, t.total - 5050);
        assert_eq!(t.own, 100);
        assert_eq!(t.cpus, 2);
        assert!(parse("nonsense", &own(1, 1)).is_none());
        assert!(parse(STAT, "garbage").is_none());
    }

    #[test]
    fn our_own_time_is_not_counted_as_others_load() {
        let a = CpuTimes {
            busy: 1000,
            total: 2000,
            own: 100,
            cpus: 2,
        };
        // 200 ticks pass over 2 CPUs; 150 busy, 100 of them ours.
        let b = CpuTimes {
            busy: 1150,
            total: 2200,
            own: 200,
            cpus: 2,
        };
        let others = b.others_busy_since(&a).unwrap();
        assert!((others - 0.5).abs() < 1e-6, "{others}");
        assert_eq!(a.others_busy_since(&a), None);
        assert_eq!(a.others_busy_since(&b), None);
    }

    #[test]
    fn the_meter_reads_over_the_last_second_not_since_start() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let times = |busy: u64, total: u64| CpuTimes {
            busy,
            total,
            own: 0,
            cpus: 2,
        };
        let mut m = CpuMeter::default();
        // Idle for ten seconds, then fully busy for the last half second.
        m.push(at(0), times(0, 0));
        for k in 1..=19 {
            m.push(at(k * 500), times(0, k * 100));
        }
        m.push(at(10_000), times(100, 2000));
        assert!(m.samples.len() <= 4, "{}", m.samples.len());
        let now = times(200, 2100);
        let busy = m.others_busy_at(at(10_500), &now).unwrap();
        assert!((busy - 2.0).abs() < 1e-6, "{busy}");
    }

    #[test]
    fn this_machine_can_be_measured() {
        if CpuTimes::now().is_none() {
            return; // not Linux
        }
        let mut m = CpuMeter::new();
        std::thread::sleep(Duration::from_millis(120));
        let busy = m.others_busy().unwrap();
        assert!((0.0..=m.samples[0].1.cpus as f32).contains(&busy), "{busy}");
    }
}
