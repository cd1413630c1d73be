import Foundation
import Testing
@testable import distillwatch

/// The CLI's restart with glibc's huge-page tunable (`HugePages`): when it happens, that it
/// never overrides an operator's setting, and that the restarted process is the same run.
@Suite struct HugePagesTests {
    @Test func readsTheSelectedKernelMode() {
        #expect(HugePages.kernelMode(fromSysfs: "always [madvise] never\n") == "madvise")
        #expect(HugePages.kernelMode(fromSysfs: "[always] madvise never\n") == "always")
        #expect(HugePages.kernelMode(fromSysfs: "always madvise [never]") == "never")
        #expect(HugePages.kernelMode(fromSysfs: "always madvise never") == nil)
        #expect(HugePages.kernelMode(fromSysfs: "[]") == nil)
        #expect(HugePages.kernelMode(fromSysfs: "") == nil)
        #expect(HugePages.kernelMode(fromSysfs: "always [madvise") == nil)
    }

    @Test func restartsOnlyWhenMallocMustAsk() {
        #expect(HugePages.plan(environment: [:], kernelMode: "madvise") == .restart(tunables: "glibc.malloc.hugetlb=1"))
        // Other tunables are kept, in order.
        #expect(HugePages.plan(environment: ["GLIBC_TUNABLES": "glibc.malloc.arena_max=2"], kernelMode: "madvise")
                == .restart(tunables: "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1"))
        for mode in ["always", "never", nil] as [String?] {
            #expect(HugePages.plan(environment: [:], kernelMode: mode) == .keep, "kernel mode \(mode ?? "unknown")")
        }
    }

    @Test func neverOverridesTheOperator() {
        for value in ["off", "OFF", "0", "false", "no"] {
            #expect(HugePages.plan(environment: ["DISTILLWATCH_HUGE_PAGES": value], kernelMode: "madvise") == .keep,
                    "DISTILLWATCH_HUGE_PAGES=\(value)")
        }
        for tunables in ["glibc.malloc.hugetlb=0", "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=2", "glibc.malloc.hugetlb=1"] {
            #expect(HugePages.plan(environment: ["GLIBC_TUNABLES": tunables], kernelMode: "madvise") == .keep,
                    "GLIBC_TUNABLES=\(tunables)")
        }
        // A tunable whose name only starts like it is not it.
        #expect(HugePages.plan(environment: ["GLIBC_TUNABLES": "glibc.malloc.hugetlbx=1"], kernelMode: "madvise")
                == .restart(tunables: "glibc.malloc.hugetlbx=1:glibc.malloc.hugetlb=1"))
        #expect(HugePages.plan(environment: ["LD_PRELOAD": "/usr/libexec/valgrind/vgpreload_core-amd64-linux.so"],
                               kernelMode: "madvise") == .keep, "under valgrind")
    }

    /// The real binary: on a kernel in `madvise` mode the process that runs has the tunable
    /// (read back from `/proc/PID/environ`, which shows the environment of the latest
    /// `execve`), reads the same standard input and writes the same report as a run with
    /// the restart turned off; on any other kernel it is left alone.
    @Test func theRestartedProcessIsTheSameRun() throws {
        #if os(Linux)
        let mode = HugePages.currentKernelMode()
        let traffic = sampleTraffic()
        let dir = Scratch()
        let process = Process()
        process.executableURL = try distillwatchBinary()
        process.arguments = ["scan", "--quiet", "--json", dir.path + "/restarted.json", "-"]
        var env = ProcessInfo.processInfo.environment
        env["DISTILLWATCH_HOME"] = testHome
        env["GLIBC_TUNABLES"] = nil
        env["DISTILLWATCH_HUGE_PAGES"] = nil
        env["LD_PRELOAD"] = nil
        process.environment = env
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The scan waits for its input, so the process is there to look at.
        var environ = ""
        let deadline = Date().addingTimeInterval(20)
        repeat {
            guard process.isRunning else { break }
            let data = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(process.processIdentifier)/environ"))) ?? Data()
            environ = String(decoding: data, as: UTF8.self)
            if mode != "madvise" || environ.contains("GLIBC_TUNABLES=") { break }
            Thread.sleep(forTimeInterval: 0.02)
        } while Date() < deadline
        input.fileHandleForWriting.write(traffic)
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let tunables = environ.split(separator: "\0").filter { $0.hasPrefix("GLIBC_TUNABLES=") }
        if mode == "madvise" {
            #expect(tunables == ["GLIBC_TUNABLES=glibc.malloc.hugetlb=1"], "the scanning process's environment")
        } else {
            #expect(tunables.isEmpty, "kernel mode \(mode ?? "unknown")")
        }
        let plain = try run(["scan", "--quiet", "--json", dir.path + "/plain.json", "-"], stdin: traffic,
                            environment: ["DISTILLWATCH_HUGE_PAGES": "off"])
        #expect(plain.status == 0)
        let report = try scanReportWithoutGeneratedAt(atPath: dir.path + "/restarted.json")
        #expect(report.count > 0)
        #expect(report == (try scanReportWithoutGeneratedAt(atPath: dir.path + "/plain.json")))
        #endif
    }
}
