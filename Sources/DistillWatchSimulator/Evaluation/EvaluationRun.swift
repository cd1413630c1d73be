import DistillWatchCore
import DistillWatchIngest

/// Runs traffic through the same engine as `scan` (``TrafficScanner``) and scores the
/// result against the labels: the I/O edge around the pure ``Evaluation``.
public enum EvaluationRun {
    /// Streams a simulated scenario straight into the scanner (no files), so even the
    /// largest scenario runs in O(accounts) memory.
    /// - Complexity: O(exchanges) time, O(accounts) memory.
    ///
    /// With a `sketcher`, prompts are reduced to content sketches as `scan` does at ingest
    /// (content signals on); without, content signals are off.
    /// `engineThreads` is the scanner's (``TrafficScanner/engineThreads``): the same report.
    public static func run(
        plan: ScenarioPlan, policy: Policy = .default, sketcher: ContentSketcher? = nil, engineThreads: Int = 1,
        progress: (Int) -> Void = { _ in }
    ) -> (EvaluationReport, ScanReport) {
        let outcome = runKeepingState(plan: plan, policy: policy, sketcher: sketcher, collectActivity: false,
                                      engineThreads: engineThreads, progress: progress)
        return (outcome.evaluation, outcome.scan)
    }

    /// An evaluation with the engine's final state and, when asked, the hourly activity
    /// (`eval --html` draws the console's views from them).
    public struct Outcome: Sendable {
        public var evaluation: EvaluationReport
        public var scan: ScanReport
        public var engine: DetectionEngine
        public var activity: HourlyActivityLedger?
    }

    /// Like ``run(plan:policy:sketcher:progress:)``, keeping the engine and (with
    /// `collectActivity`) the hourly totals and sightings, O(account-hours) more memory.
    public static func runKeepingState(
        plan: ScenarioPlan, policy: Policy = .default, sketcher: ContentSketcher? = nil, collectActivity: Bool,
        engineThreads: Int = 1, progress: (Int) -> Void = { _ in }
    ) -> Outcome {
        let started = monotonicSeconds()
        var scanner = TrafficScanner(policy: policy, sketcher: sketcher)
        scanner.engineThreads = engineThreads
        if collectActivity { scanner.activity = HourlyActivityLedger() }
        var allowlisted = Set<String>()
        for account in plan.accounts {
            scanner.register(account)
            if account.allowlisted == true { allowlisted.insert(account.accountID) }
        }
        var traffic: [String: AccountTraffic] = [:]
        traffic.reserveCapacity(plan.accounts.count)
        var stream = plan.makeTraffic()
        var count = 0
        while let exchange = stream.next() {
            traffic[exchange.accountID, default: AccountTraffic()].record(exchange.time)
            scanner.observe(exchange)
            count += 1
            if count & 0xFFFFF == 0 { progress(count) }
        }
        let scan = scanner.finish(generatedAt: plan.scenario.end, includeAllAccounts: false)
        var report = Evaluation.evaluate(
            labels: plan.labels, allowlisted: allowlisted, traffic: traffic, outcomes: outcomes(of: scan))
        report.scenario = plan.scenario.name
        report.scale = plan.scale
        report.seed = plan.seed
        report.linkageWork = scanner.engine.linkageWork
        report.seconds = monotonicSeconds() - started
        return Outcome(evaluation: report, scan: scan, engine: scanner.engine, activity: scanner.activity)
    }

    /// Evaluates recorded files: traffic (JSON Lines, optionally gzip), account records
    /// (optional) and labels, read as `scan` reads its inputs (``TrafficIngest``): malformed
    /// lines are skipped, counted and kept in `statistics` with their file, line and field,
    /// or stop the run with `options.strict`.
    /// - Throws: ``IngestError`` for an input that cannot be read, is empty, or none of whose
    ///   lines could be used; ``MalformedLine`` with `options.strict`.
    /// - Complexity: O(exchanges) time, O(accounts) memory.
    public static func run(
        traffic: InputSource, accounts: InputSource?, labels: InputSource, policy: Policy = .default,
        options: IngestOptions, statistics: inout IngestStatistics,
        labelsWithoutTraffic: ([String]) -> Void = { _ in }
    ) throws -> (EvaluationReport, ScanReport) {
        let started = monotonicSeconds()
        var scanner = TrafficScanner(policy: policy)
        var allowlisted = Set<String>()
        if let accounts {
            try TrafficIngest.readAccounts(from: accounts, options: options, statistics: &statistics) { record in
                scanner.register(record)
                if record.allowlisted == true { allowlisted.insert(record.accountID) }
            }
        }
        var labelRecords: [LabelRecord] = []
        try TrafficIngest.readLabels(from: labels, options: options, statistics: &statistics) { labelRecords.append($0) }
        var seen: [String: AccountTraffic] = [:]
        var last: Timestamp?
        try TrafficIngest.readTraffic(from: traffic, options: options, statistics: &statistics) { exchange in
            seen[exchange.accountID, default: AccountTraffic()].record(exchange.time)
            if last == nil || exchange.time > last! { last = exchange.time }
            scanner.observe(exchange)
        }
        let scan = scanner.finish(generatedAt: last ?? Timestamp(millisecondsSinceEpoch: 0), includeAllAccounts: false)
        // Labels of accounts that sent nothing are not evaluated: say which, so that a labels
        // file for other traffic is not read as a clean result.
        let absent = labelRecords.lazy.map(\.accountID).filter { seen[$0] == nil }
        if !absent.isEmpty { labelsWithoutTraffic(Array(Set(absent)).sorted()) }
        var report = Evaluation.evaluate(
            labels: labelRecords, allowlisted: allowlisted, traffic: seen, outcomes: outcomes(of: scan))
        report.linkageWork = scanner.engine.linkageWork
        report.seconds = monotonicSeconds() - started
        return (report, scan)
    }

    /// The engine's per-account outcomes, with campaign membership from both the account
    /// entries and the campaign list.
    /// - Complexity: O(listed accounts + campaign members).
    public static func outcomes(of scan: ScanReport) -> [String: AccountOutcome] {
        var outcomes: [String: AccountOutcome] = [:]
        for a in scan.accounts {
            var o = AccountOutcome(
                accountID: a.accountID, verdict: a.verdict, firstFlaggedAt: a.firstFlaggedAt,
                exchangesBeforeFlag: a.exchangesBeforeFlag, engineCampaign: a.campaignID)
            // A flagged key counts as the account flagged (a leaked or resold key is caught
            // when its key is; a legitimate account's flagged key is a false positive).
            for k in a.keys ?? [] where k.verdict.isFlagged {
                if k.verdict > o.verdict { o.verdict = k.verdict }
                if let t = k.firstFlaggedAt, o.firstFlaggedAt == nil || t < o.firstFlaggedAt! {
                    o.firstFlaggedAt = t
                    o.exchangesBeforeFlag = k.accountExchangesBeforeFlag
                }
            }
            outcomes[a.accountID] = o
        }
        for c in scan.campaigns {
            for id in c.accounts {
                var o = outcomes[id] ?? AccountOutcome(accountID: id, verdict: .allow)
                if o.engineCampaign == nil { o.engineCampaign = c.campaignID }
                outcomes[id] = o
            }
        }
        return outcomes
    }
}
