//! Reads a local process's resident memory (`VmRSS` in `/proc/<pid>/status`), to report the
//! server's memory per socket.

/// The resident set of process `pid`, in KiB; `None` when it cannot be read.
pub fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_rss_kib(&status)
}

/// Finds `VmRSS:   12345 kB` in the text of a `/proc/<pid>/status` file.
pub fn parse_vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let mut words = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") | None => Some(value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_files() {
        let status = "Name:\tpzo-server\nVmPeak:\t  900000 kB\nVmRSS:\t   52344 kB\nThreads:\t4\n";
        assert_eq!(parse_vm_rss_kib(status), Some(52_344));
        assert_eq!(parse_vm_rss_kib("Name:\tx\n"), None);
        assert_eq!(parse_vm_rss_kib("VmRSS:\tlots kB\n"), None);
        assert_eq!(parse_vm_rss_kib("VmRSS:\t12 MB\n"), None);
    }

    #[test]
    fn reads_this_process() {
        assert!(resident_kib(std::process::id()).is_some_and(|kib| kib > 0));
    }
}
