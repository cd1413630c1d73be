#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DistillWatchCore
import DistillWatchIngest

/// What a simulation wrote: counts for the command's one-line summary and for tests.
public struct SimulationSummary: Sendable, Equatable {
    public var accounts = 0
    public var attackAccounts = 0
    public var exchanges = 0
    public var attackExchanges = 0
    public var firstTime: Timestamp?
    public var lastTime: Timestamp?
    public var seconds = 0.0
    /// Records of the published dataset, when one was asked for.
    public var publishedHarvested = 0
    public var publishedUnrelated = 0
    /// Files of an earlier simulation in the same folder that this one removed, because it
    /// does not write them and they would not match its accounts and labels (names only).
    public var removedStale: [String] = []

    public init() {}
}

/// Writes a plan as the three files of traffic format v1: `traffic.jsonl.gz` (§1),
/// `accounts.jsonl` (§2) and `labels.jsonl` (§3).
///
/// Memory is O(accounts) for the plan plus a 1 MiB line buffer; traffic is streamed.
public enum ScenarioWriter {
    public static let trafficFileName = "traffic.jsonl.gz"
    public static let accountsFileName = "accounts.jsonl"
    public static let labelsFileName = "labels.jsonl"

    /// Writes all three files into `directory` (created if missing). Traffic is compressed at
    /// gzip level 1: at level 6 compression, not simulation, would set the pace. With `trafficToStandardOutput`
    /// the traffic goes to standard output (uncompressed) instead of `traffic.jsonl.gz`.
    ///
    /// A folder written before keeps nothing this run does not write: the traffic file when
    /// the traffic goes to standard output, the published dataset and its truth file when none
    /// is asked for. Left there, they would be read with labels of another scenario, scale or
    /// seed. What was removed is in ``SimulationSummary/removedStale``.
    /// - Throws: ``IngestError`` when the folder or a file cannot be made, written or an
    ///   earlier output removed.
    /// - Complexity: O(exchanges) time.
    @discardableResult
    public static func write(
        _ plan: ScenarioPlan, directory: String?, trafficToStandardOutput: Bool = false,
        publishing published: PublishedDataset? = nil, progress: ((Int) -> Void)? = nil
    ) throws -> SimulationSummary {
        var removed: [String] = []
        if let directory {
            try makeDirectory(directory)
            var stale: [String] = []
            if trafficToStandardOutput { stale.append(trafficFileName) }
            if published == nil { stale += [PublishedDataset.fileName, PublishedDataset.truthFileName] }
            for name in stale {
                let path = directory + "/" + name
                if unlink(path) == 0 {
                    removed.append(name)
                } else if errno != ENOENT {
                    throw IngestError(source: path, "is from an earlier simulation and cannot be removed: \(String(cString: strerror(errno)))")
                }
            }
            let accounts = try OutputSink(path: directory + "/" + accountsFileName)
            try writeAccounts(plan, to: accounts)
            try accounts.close()
            let labels = try OutputSink(path: directory + "/" + labelsFileName)
            try writeLabels(plan, to: labels)
            try labels.close()
        }
        let sink = trafficToStandardOutput || directory == nil
            ? OutputSink.standardOutput()
            : try OutputSink(path: directory! + "/" + trafficFileName, compressionLevel: 1)
        var dataset = published
        var summary = try writeTraffic(plan, to: sink, progress: progress) { dataset?.observe($0) }
        summary.removedStale = removed
        try sink.close()
        if let dataset, let directory {
            (summary.publishedHarvested, summary.publishedUnrelated) = try dataset.write(directory: directory)
        }
        return summary
    }

    /// - Complexity: O(accounts).
    public static func writeAccounts(_ plan: ScenarioPlan, to sink: OutputSink) throws {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        for record in plan.accounts {
            JSONLineEncoder.append(record, to: &buffer)
            if buffer.count > 1 << 20 { try sink.write(buffer); buffer.removeAll(keepingCapacity: true) }
        }
        try sink.write(buffer)
    }

    /// - Complexity: O(accounts).
    public static func writeLabels(_ plan: ScenarioPlan, to sink: OutputSink) throws {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        for label in plan.labels {
            JSONLineEncoder.append(label, to: &buffer)
            if buffer.count > 1 << 20 { try sink.write(buffer); buffer.removeAll(keepingCapacity: true) }
        }
        try sink.write(buffer)
    }

    /// Streams the plan's traffic as JSON Lines, calling `progress` with the number of
    /// exchanges written after every million.
    /// - Complexity: O(exchanges) time, O(accounts) memory.
    public static func writeTraffic(
        _ plan: ScenarioPlan, to sink: OutputSink, progress: ((Int) -> Void)? = nil, observe: (Exchange) -> Void = { _ in }
    ) throws -> SimulationSummary {
        let started = monotonicSeconds()
        var summary = SimulationSummary()
        let attackAccounts = Set(plan.labels.lazy.filter { $0.label == .attack }.map(\.accountID))
        summary.accounts = plan.accounts.count
        summary.attackAccounts = attackAccounts.count
        var traffic = plan.makeTraffic()
        var buffer: [UInt8] = []
        buffer.reserveCapacity((1 << 20) + 65_536)
        while let exchange = traffic.next() {
            observe(exchange)
            JSONLineEncoder.append(exchange, to: &buffer)
            summary.exchanges += 1
            if summary.exchanges % 1_000_000 == 0 { progress?(summary.exchanges) }
            if attackAccounts.contains(exchange.accountID) { summary.attackExchanges += 1 }
            if summary.firstTime == nil || exchange.time < summary.firstTime! { summary.firstTime = exchange.time }
            if summary.lastTime == nil || exchange.time > summary.lastTime! { summary.lastTime = exchange.time }
            if buffer.count >= 1 << 20 {
                try sink.write(buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try sink.write(buffer)
        summary.seconds = monotonicSeconds() - started
        return summary
    }

    /// Creates `path` and any missing parent folders, like `mkdir -p`.
    static func makeDirectory(_ path: String) throws {
        var st = stat()
        if stat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                throw IngestError(source: path, "exists and is not a directory")
            }
            return
        }
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectory(String(path[..<slash]))
        }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw IngestError(source: path, "cannot create directory: \(String(cString: strerror(errno)))")
        }
    }
}

/// Seconds on a monotonic clock, for throughput figures only (never in records).
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
