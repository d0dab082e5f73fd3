import Foundation

/// How many cores this process may really use: the CPUs it is allowed to run on (its affinity
/// mask, as `taskset` or a cpuset sets it), within the CPU quota of its control group (a
/// Kubernetes pod's CPU limit: cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us`), rounded up, and
/// at most `TANDEM_THREADS` when that is set. Threads beyond this only wait for a share of the
/// same cores, and spinning ones burn the quota.
public enum CPUBudget {
    public static let cores: Int = {
        var n = max(1, ProcessInfo.processInfo.activeProcessorCount)
        if let affinity = affinityCount() { n = min(n, affinity) }
        if let quota = quotaCores() { n = min(n, quota) }
        if let text = ProcessInfo.processInfo.environment["TANDEM_THREADS"], let asked = Int(text), asked > 0 {
            n = min(n, asked)
        }
        return max(1, n)
    }()

    /// CPUs in the affinity mask, from /proc/self/status (`Cpus_allowed_list: 0-1`).
    static func affinityCount() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }) else {
            return nil
        }
        return cpuListCount(String(line.dropFirst("Cpus_allowed_list:".count)))
    }

    /// The number of CPUs in a list such as `0-3,8,10-11`; nil when it does not parse.
    public static func cpuListCount(_ list: String) -> Int? {
        var count = 0
        for part in list.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",") {
            let bounds = part.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            switch bounds.count {
            case 1: guard bounds[0] != nil else { return nil }; count += 1
            case 2:
                guard let low = bounds[0], let high = bounds[1], high >= low else { return nil }
                count += high - low + 1
            default: return nil
            }
        }
        return count > 0 ? count : nil
    }

    /// The control group's CPU quota in whole cores (rounded up); nil when there is none.
    static func quotaCores() -> Int? {
        if let text = try? String(contentsOfFile: "/sys/fs/cgroup/cpu.max", encoding: .utf8) {
            return quotaCores(cgroupV2: text)
        }
        guard let quota = try? String(contentsOfFile: "/sys/fs/cgroup/cpu/cpu.cfs_quota_us", encoding: .utf8),
              let period = try? String(contentsOfFile: "/sys/fs/cgroup/cpu/cpu.cfs_period_us", encoding: .utf8)
        else { return nil }
        return quotaCores(cgroupV2: quota.trimmingCharacters(in: .whitespacesAndNewlines) + " " + period)
    }

    /// Cores from a `cpu.max` line, `max 100000` (no quota) or `150000 100000` (1.5 cores: 2).
    public static func quotaCores(cgroupV2 line: String) -> Int? {
        let fields = line.split(whereSeparator: \.isWhitespace)
        guard fields.count == 2, let quota = Double(fields[0]), quota > 0, let period = Double(fields[1]),
              period > 0 else { return nil }
        return max(1, Int((quota / period).rounded(.up)))
    }
}
