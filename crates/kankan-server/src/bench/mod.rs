//! `kankan bench ...`: measurements against reference runs side by side (docs/benchmarks.md).
//!
//! - `ingest`: N concurrent 2 Mb/s H.264 streams recorded by a `kankan serve` child (encrypted,
//!   checkpointed, indexed), against the same streams recorded by `ffmpeg -c copy -f segment`
//!   processes; CPU per stream of each, and whether the server kept up.
//! - `index`: 30 days of one camera's segments in the index: bytes per stream-minute and the
//!   timeline query against the plain segment scan.

mod index;
mod ingest;

pub use index::index;
pub use ingest::{IngestBench, ingest};

/// CPU seconds (user + system) a process has used, from `/proc/<pid>/stat`.
pub(crate) fn cpu_secs(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the stat line: 11 and 12 after the name.
    Ok((ticks(11) + ticks(12)) / 100.0)
}

/// Resident memory of a process in MiB.
pub(crate) fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
