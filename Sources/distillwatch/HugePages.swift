import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Transparent huge pages for the engine's memory (Linux with glibc 2.35 or later).
///
/// The engine keeps about 2 KB per account (``DetectionEngine/approximateBytesPerAccount``)
/// plus its link-key tables and the reorder buffer's five minutes of records; at a hundred
/// thousand accounts that is hundreds of MB read at random. With 4 KB pages nearly every
/// exchange's account state, key-table bucket and released record is on a page the TLB
/// does not hold, and the page-table walk is itself a cache miss. With 2 MB pages the TLB
/// covers far more of it: `eval --scenario hydra-2026 --scale 0.1` took 4–16% less CPU,
/// while at scale 0.03 no difference was measurable (Documentation/Performance.md, "Huge
/// pages and look-ahead").
///
/// Debian's kernels give huge pages only to memory that asks for them
/// (`/sys/kernel/mm/transparent_hugepage/enabled` reads `always [madvise] never`), and
/// glibc's `malloc`, through which Swift allocates, asks when its tunable
/// `glibc.malloc.hugetlb=1` is set (tunables(7); `madvise(MADV_HUGEPAGE)` on the memory it
/// maps). Tunables are read from `GLIBC_TUNABLES` only when a process starts, so the CLI
/// starts itself again, once, with the tunable added (``restartIfUseful()``), before it has
/// read an argument or a byte of input; standard input, output and error, the arguments and
/// the process id are the same after `execv(2)`.
///
/// Left alone when `DISTILLWATCH_HUGE_PAGES` is `off` (or `0`, `false`, `no`); when
/// `GLIBC_TUNABLES` already names `glibc.malloc.hugetlb` (the operator's choice stands, and
/// this is how the second start knows it is the second); when the kernel's mode is
/// `always` (the memory already gets them), `never`, or cannot be read; and under valgrind
/// (its tools replace `malloc`, and the restarted process would escape the tool).
enum HugePages {
    /// What to do at start.
    enum Plan: Equatable {
        /// Start again with `GLIBC_TUNABLES` set to this value.
        case restart(tunables: String)
        /// Run as started.
        case keep
    }

    static let tunable = "glibc.malloc.hugetlb"
    static let kernelModeFile = "/sys/kernel/mm/transparent_hugepage/enabled"

    /// The selected mode in the kernel's `enabled` file (`always [madvise] never` →
    /// `madvise`), or `nil` if none is bracketed.
    static func kernelMode(fromSysfs text: String) -> String? {
        guard let open = text.firstIndex(of: "["), let close = text[open...].firstIndex(of: "]") else { return nil }
        let mode = text[text.index(after: open)..<close]
        return mode.isEmpty ? nil : String(mode)
    }

    /// This machine's mode (`madvise`, `always`, `never`), or `nil` if it cannot be read.
    static func currentKernelMode() -> String? {
        (try? String(contentsOfFile: kernelModeFile, encoding: .utf8)).flatMap(kernelMode(fromSysfs:))
    }

    /// The decision, from the environment and the kernel's mode (`nil`: unreadable). Pure.
    static func plan(environment: [String: String], kernelMode: String?) -> Plan {
        if let setting = environment["DISTILLWATCH_HUGE_PAGES"]?.lowercased(),
           ["off", "0", "false", "no"].contains(setting) {
            return .keep
        }
        let current = environment["GLIBC_TUNABLES"] ?? ""
        if current.split(separator: ":").contains(where: { $0.hasPrefix(tunable + "=") }) {
            return .keep
        }
        if let preload = environment["LD_PRELOAD"], preload.contains("vgpreload") {
            return .keep
        }
        guard kernelMode == "madvise" else { return .keep }
        return .restart(tunables: current.isEmpty ? "\(tunable)=1" : "\(current):\(tunable)=1")
    }

    /// Starts this process again with huge pages asked for, if ``plan(environment:kernelMode:)``
    /// says so; returns (and the process runs as started) otherwise, or if `execv` fails.
    /// Call first thing in `main`, before any input is read. Linux only.
    static func restartIfUseful() {
        #if os(Linux)
        let environment = ProcessInfo.processInfo.environment
        guard case .restart(let tunables) = plan(environment: environment, kernelMode: currentKernelMode()) else { return }
        guard setenv("GLIBC_TUNABLES", tunables, 1) == 0 else { return }
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Still here: the restart failed (no /proc, say). Run as started, with the
        // environment its children would have had.
        if let previous = environment["GLIBC_TUNABLES"] { setenv("GLIBC_TUNABLES", previous, 1) } else { unsetenv("GLIBC_TUNABLES") }
        #endif
    }
}
