import DistillWatchCore
import DistillWatchIngest
import Foundation

/// The readable terminal summary of a scan, ranked by what an analyst should look at
/// first: input counts, verdict counts, then each campaign as one line (with its strongest
/// signals and evidence), then the flagged accounts that belong to no campaign, then
/// malformed lines. Ties are broken by score, then volume (exchanges), then id, so the
/// order is the same on every run.
struct ReportSummary {
    var report: ScanReport
    var statistics: IngestStatistics?
    var top: Int
    /// Malformed lines shown in full (all are counted).
    var malformedShown = 5

    func print<Out: TextOutputStream>(to out: inout Out, reportPath: String? = nil) {
        let input = report.input
        var span = ""
        if let first = input.firstTime, let last = input.lastTime {
            span = " from \(first.rfc3339) to \(last.rfc3339)"
        }
        Swift.print("Scanned \(Wording.counted(input.exchanges, "exchange")) from \(Wording.counted(input.accounts, "account"))\(span).",
                    to: &out)
        if let statistics, statistics.accountRecords > 0 {
            Swift.print("Account records: \(Wording.number(statistics.accountRecords)).", to: &out)
        }
        if !input.signalsWithoutData.isEmpty {
            Swift.print("No data for: \(input.signalsWithoutData.joined(separator: ", ")).", to: &out)
        }
        if let merged = input.mergedExchanges, let duplicates = input.duplicateExchanges, merged + duplicates > 0 {
            Swift.print("Lines that repeated an account's request_id: \(Wording.number(merged)) merged into the exchange before, "
                        + "\(Wording.number(duplicates)) dropped as duplicates.", to: &out)
        }
        if input.lateExchanges > 0 {
            Swift.print("Late records (more than 5 minutes out of order): \(Wording.number(input.lateExchanges)).", to: &out)
        }
        let counts = report.verdictCounts
        let suppressed = report.accounts.filter { $0.allowlisted && !$0.verdict.isFlagged }
        Swift.print("", to: &out)
        Swift.print("Verdicts: \(Wording.number(counts[.block, default: 0])) block, \(Wording.number(counts[.throttle, default: 0])) throttle, "
            + "\(Wording.number(counts[.review, default: 0])) review; every other account allow.", to: &out)
        if !suppressed.isEmpty {
            Swift.print("Allowlisted accounts that would otherwise be flagged: \(Wording.number(suppressed.count)) "
                + "(\(suppressed.prefix(3).map(\.accountID).joined(separator: ", "))\(suppressed.count > 3 ? ", ..." : "")).",
                to: &out)
        }
        printCampaigns(to: &out)
        printAccounts(to: &out)
        printMalformed(to: &out)
        if let reportPath {
            Swift.print("", to: &out)
            Swift.print("Report written to \(reportPath).", to: &out)
        }
    }

    /// The campaigns, most urgent first: size, verdict, volume, first flag, and the
    /// strongest signals and evidence.
    func printCampaigns<Out: TextOutputStream>(to out: inout Out) {
        guard !report.campaigns.isEmpty, top > 0 else { return }
        let campaigns = Self.ranked(report.campaigns, score: \.score, volume: \.exchanges, id: \.campaignID)
        Swift.print("", to: &out)
        Swift.print("Campaigns (\(Wording.number(campaigns.count))):", to: &out)
        for c in campaigns.prefix(top) {
            var line = "  \(c.campaignID)  \((c.verdict ?? .allow).rawValue.uppercased())  score \(String(format: "%.2f", c.score))"
            line += "  \(Wording.counted(c.accounts.count, "account")), \(Wording.counted(c.exchanges, "exchange")), "
                + "\(Wording.counted(c.outputTokens, "output token"))"
            if let at = c.firstFlaggedAt { line += ", flagged at \(at.rfc3339)" }
            if let label = c.analystLabel { line += " [analyst: \(label.rawValue)]" }
            Swift.print(line, to: &out)
            for s in (c.signals ?? []).prefix(2) {
                Swift.print("      \(s.name) \(String(format: "%.2f", s.value)): \(s.detail)", to: &out)
            }
            for e in c.evidence.prefix(3) {
                Swift.print("      evidence \(e.kind): \(e.detail)", to: &out)
            }
        }
        if campaigns.count > top {
            Swift.print("  ... and \(Wording.number(campaigns.count - top)) more", to: &out)
        }
    }

    /// Flagged accounts that belong to no campaign (campaign members are summed up in
    /// their campaign's line), most urgent first.
    func printAccounts<Out: TextOutputStream>(to out: inout Out) {
        let flagged = report.accounts.filter { $0.verdict.isFlagged }
        let individual = Self.ranked(flagged.filter { $0.campaignID == nil }, score: \.score, volume: \.exchanges, id: \.accountID)
        let members = flagged.count - individual.count
        guard top > 0, !flagged.isEmpty else { return }
        Swift.print("", to: &out)
        if individual.isEmpty {
            Swift.print("Flagged accounts outside campaigns: none (\(Wording.counted(members, "campaign member")) flagged, "
                + "listed in the report).", to: &out)
            return
        }
        Swift.print("Riskiest accounts outside campaigns\(members > 0 ? " (and \(Wording.counted(members, "campaign member")) flagged, listed in the report)" : ""):",
                    to: &out)
        for a in individual.prefix(top) {
            var line = "  \(a.accountID)  \(a.verdict.rawValue.uppercased())  score \(String(format: "%.2f", a.score))"
            line += "  \(Wording.counted(a.exchanges, "exchange"))"
            if let before = a.exchangesBeforeFlag, let at = a.firstFlaggedAt {
                line += ", flagged at \(at.rfc3339) after \(Wording.number(before))"
            }
            Swift.print(line, to: &out)
            for s in a.signals.prefix(3) {
                Swift.print("      \(s.name) \(String(format: "%.2f", s.value)): \(s.detail)", to: &out)
            }
        }
        if individual.count > top {
            Swift.print("  ... and \(Wording.number(individual.count - top)) more", to: &out)
        }
    }

    func printMalformed<Out: TextOutputStream>(to out: inout Out) {
        guard let statistics, statistics.malformedCount > 0 else { return }
        Swift.print("", to: &out)
        Swift.print("Malformed lines: \(Wording.number(statistics.malformedCount)) (skipped; --strict stops at the first, "
            + "--malformed N shows more).", to: &out)
        for m in statistics.malformedLines.prefix(malformedShown) {
            Swift.print("  \(m)", to: &out)
        }
        if statistics.malformedCount > malformedShown {
            Swift.print("  ... and \(Wording.number(statistics.malformedCount - malformedShown)) more", to: &out)
        }
    }

    /// Highest score first, then the larger volume, then the id: a total order, so two runs
    /// list the same things in the same order.
    static func ranked<T>(_ items: [T], score: KeyPath<T, Double>, volume: KeyPath<T, Int>, id: KeyPath<T, String>) -> [T] {
        items.sorted { a, b in
            if a[keyPath: score] != b[keyPath: score] { return a[keyPath: score] > b[keyPath: score] }
            if a[keyPath: volume] != b[keyPath: volume] { return a[keyPath: volume] > b[keyPath: volume] }
            return a[keyPath: id] < b[keyPath: id]
        }
    }
}
