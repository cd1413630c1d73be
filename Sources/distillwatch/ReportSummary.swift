import DistillWatchCore
import DistillWatchIngest
import Foundation

/// The readable terminal summary of a scan: input counts, verdict counts, the top
/// campaigns with their evidence, the riskiest accounts with their top signals, and
/// malformed lines.
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
        Swift.print("Scanned \(input.exchanges) exchanges from \(input.accounts) accounts\(span).", to: &out)
        if let statistics, statistics.accountRecords > 0 {
            Swift.print("Account records: \(statistics.accountRecords).", to: &out)
        }
        if !input.signalsWithoutData.isEmpty {
            Swift.print("No data for: \(input.signalsWithoutData.joined(separator: ", ")).", to: &out)
        }
        if input.lateExchanges > 0 {
            Swift.print("Late records (more than 5 minutes out of order): \(input.lateExchanges).", to: &out)
        }
        let counts = report.verdictCounts
        let flagged = report.accounts.filter { $0.verdict.isFlagged }
        let suppressed = report.accounts.filter { $0.allowlisted && !$0.verdict.isFlagged }
        Swift.print("", to: &out)
        Swift.print("Verdicts: \(counts[.block, default: 0]) block, \(counts[.throttle, default: 0]) throttle, "
            + "\(counts[.review, default: 0]) review; every other account allow.", to: &out)
        if !suppressed.isEmpty {
            Swift.print("Allowlisted accounts that would otherwise be flagged: \(suppressed.count) "
                + "(\(suppressed.prefix(3).map(\.accountID).joined(separator: ", "))\(suppressed.count > 3 ? ", ..." : "")).",
                to: &out)
        }
        printCampaigns(to: &out)
        if !flagged.isEmpty, top > 0 {
            Swift.print("", to: &out)
            Swift.print("Riskiest accounts:", to: &out)
            for a in flagged.prefix(top) {
                var line = "  \(a.accountID)  \(a.verdict.rawValue.uppercased())  score \(String(format: "%.2f", a.score))"
                line += "  \(a.exchanges) exchanges"
                if let before = a.exchangesBeforeFlag, let at = a.firstFlaggedAt {
                    line += ", flagged at \(at.rfc3339) after \(before)"
                }
                Swift.print(line, to: &out)
                for s in a.signals.prefix(3) {
                    Swift.print("      \(s.name) \(String(format: "%.2f", s.value)): \(s.detail)", to: &out)
                }
            }
            if flagged.count > top {
                Swift.print("  ... and \(flagged.count - top) more", to: &out)
            }
        }
        if let statistics, statistics.malformedCount > 0 {
            Swift.print("", to: &out)
            Swift.print("Malformed lines: \(statistics.malformedCount) (skipped; --strict stops at the first).", to: &out)
            for m in statistics.malformedLines.prefix(malformedShown) {
                Swift.print("  \(m)", to: &out)
            }
            if statistics.malformedCount > malformedShown {
                Swift.print("  ... and \(statistics.malformedCount - malformedShown) more", to: &out)
            }
        }
        if let reportPath {
            Swift.print("", to: &out)
            Swift.print("Report written to \(reportPath).", to: &out)
        }
    }

    /// The campaigns, highest score first: size, verdict, volume, first flag, and the
    /// strongest signals and evidence.
    func printCampaigns<Out: TextOutputStream>(to out: inout Out) {
        guard !report.campaigns.isEmpty, top > 0 else { return }
        let campaigns = report.campaigns.sorted { $0.score != $1.score ? $0.score > $1.score : $0.campaignID < $1.campaignID }
        Swift.print("", to: &out)
        Swift.print("Campaigns (\(campaigns.count)):", to: &out)
        for c in campaigns.prefix(top) {
            var line = "  \(c.campaignID)  \((c.verdict ?? .allow).rawValue.uppercased())  score \(String(format: "%.2f", c.score))"
            line += "  \(c.accounts.count) accounts, \(c.exchanges) exchanges, \(c.outputTokens) output tokens"
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
            Swift.print("  ... and \(campaigns.count - top) more", to: &out)
        }
    }
}
