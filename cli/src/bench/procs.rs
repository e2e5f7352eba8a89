//! CPU time and memory of processes (and of threads of this one) from `/proc`: what the
//! orders benchmark charges to each order.

use std::path::{Path, PathBuf};

/// Clock ticks per second of `/proc/*/stat` times (`USER_HZ`, 100 on every Linux ABI).
const TICKS_PER_SECOND: f64 = 100.0;

/// Something whose CPU time can be read: a process, or some threads of this process.
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    pub(crate) name: String,
    /// `/proc/<pid>` of a process, or `/proc/self/task/<tid>` of each thread.
    stats: Vec<PathBuf>,
    /// Where the peak resident set is read (`None` for threads: they share their process's).
    status: Option<PathBuf>,
}

impl Probe {
    pub(crate) fn process(name: &str, pid: u32) -> Probe {
        let dir = Path::new("/proc").join(pid.to_string());
        Probe {
            name: name.to_owned(),
            stats: vec![dir.join("stat")],
            status: Some(dir.join("status")),
        }
    }

    /// This process's threads `tids` (their CPU only).
    pub(crate) fn threads(name: &str, tids: &[u32]) -> Probe {
        Probe {
            name: name.to_owned(),
            stats: tids
                .iter()
                .map(|tid| {
                    Path::new("/proc/self/task")
                        .join(tid.to_string())
                        .join("stat")
                })
                .collect(),
            status: None,
        }
    }

    /// User + system CPU seconds so far (threads that ended count as 0).
    pub(crate) fn cpu_seconds(&self) -> f64 {
        self.stats
            .iter()
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .filter_map(|text| cpu_ticks(&text))
            .sum::<u64>() as f64
            / TICKS_PER_SECOND
    }

    /// The peak resident set size in bytes (`VmHWM`), when it is a process.
    pub(crate) fn peak_rss_bytes(&self) -> Option<u64> {
        let text = std::fs::read_to_string(self.status.as_ref()?).ok()?;
        kib_field(&text, "VmHWM:").map(|kib| kib * 1024)
    }
}

/// utime + stime of one `/proc/*/stat` line. The command name in parentheses may hold spaces,
/// so fields are counted after its closing parenthesis (field 3 onwards).
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

fn kib_field(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with(name))?;
    line[name.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The id of the calling thread (from `/proc/thread-self`, which links to `<pid>/task/<tid>`).
pub(crate) fn current_thread_id() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// CPU seconds per probe, read at one moment.
#[derive(Debug, Clone)]
pub(crate) struct Sample(Vec<f64>);

pub(crate) fn sample(probes: &[Probe]) -> Sample {
    Sample(probes.iter().map(Probe::cpu_seconds).collect())
}

impl Sample {
    /// CPU seconds each probe used since `earlier`.
    pub(crate) fn since(&self, earlier: &Sample) -> Vec<f64> {
        self.0
            .iter()
            .zip(&earlier.0)
            .map(|(now, then)| (now - then).max(0.0))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_read_past_a_command_name_with_spaces_and_parentheses() {
        let stat = "4242 (shop (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0";
        assert_eq!(cpu_ticks(stat), Some(325));
        assert_eq!(cpu_ticks("garbage"), None);
    }

    #[test]
    fn this_process_has_cpu_time_and_a_peak_resident_set() {
        let me = Probe::process("me", std::process::id());
        let busy: u64 = (0..20_000_000u64).fold(0, |sum, n| sum.wrapping_add(n * n));
        assert!(busy > 0);
        assert!(me.cpu_seconds() > 0.0);
        assert!(me.peak_rss_bytes().is_some_and(|bytes| bytes > 1024 * 1024));
        let tid = current_thread_id().expect("a thread id");
        let thread = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat"))
            .expect("this thread's stat");
        assert!(cpu_ticks(&thread).is_some(), "{thread}");
        assert_eq!(kib_field("VmHWM:\t  2048 kB\n", "VmHWM:"), Some(2048));
    }
}
