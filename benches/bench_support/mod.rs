//! What every bench prints first: the machine its numbers were measured on.

/// "Intel(R) Xeon(R) Processor, 2 vCPU, linux x86_64, load average 0.4 1.2 1.9".
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let n = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!(
        "{cpu}, {n} vCPU, {} {}, load average {}",
        std::env::consts::OS,
        std::env::consts::ARCH,
        load.join(" ")
    )
}
