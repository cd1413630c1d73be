import DistillWatchCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension EvaluationReport {
    /// The human-readable evaluation summary printed by `distillwatch eval`.
    /// - Complexity: O(campaigns + personas).
    public var text: String {
        var out = ""
        var title = "Evaluation"
        if let scenario { title += " of \(scenario)" }
        if let scale { title += " (scale \(Wording.decimal(scale))" + (seed.map { ", seed \($0)" } ?? "") + ")" }
        title += ": \(Wording.counted(exchanges, "exchange")) from \(Wording.counted(accounts, "account")) (\(Wording.number(attackAccounts)) attack)"
        if let seconds { title += " in \(Wording.fixed(seconds, 1)) s (\(Wording.number(Int(Double(exchanges) / max(seconds, 1e-9)))) exchanges/s)" }
        out += title + ".\n"
        if unlabelledAccounts > 0 { out += "Accounts without a label (ignored): \(unlabelledAccounts).\n" }

        out += "\nAttack campaigns (flagged = verdict other than allow):\n"
        var rows = [["campaign", "persona", "accounts", "exchanges", "flagged", "recall", "blocked", "served before flag", "first flag after"]]
        for c in campaigns {
            rows.append([c.campaign, c.persona, Wording.number(c.accounts), Wording.number(c.exchanges), Wording.number(c.flagged), Wording.percent(c.recall), Wording.number(c.blocked),
                         Wording.percent(c.shareServedBeforeFlag), c.secondsToFirstFlag.map(Wording.duration) ?? "never"])
        }
        out += table(rows, leftAligned: 2)

        out += "\nLegitimate personas (false positive = verdict other than allow):\n"
        rows = [["persona", "accounts", "exchanges", "flagged", "FPR", "throttled/blocked"]]
        for p in personas {
            rows.append([p.persona, Wording.number(p.accounts), Wording.number(p.exchanges), Wording.number(p.flagged),
                         Wording.percent(p.falsePositiveRate), Wording.number(p.throttledOrBlocked)])
        }
        out += table(rows, leftAligned: 1)
        for p in personas where !p.throttledOrBlockedAccounts.isEmpty {
            out += "  \(p.persona) throttled or blocked: \(p.throttledOrBlockedAccounts.prefix(10).joined(separator: ", "))"
                + (p.throttledOrBlocked > 10 ? ", ..." : "") + "\n"
        }

        out += "\nAllowlist violations: "
        out += allowlistViolations.isEmpty ? "none.\n"
            : "\(allowlistViolations.count) (\(allowlistViolations.prefix(5).joined(separator: ", ")))\n"
        let g = grouping
        out += "Campaign grouping: the engine reported \(Wording.counted(g.engineCampaigns, "campaign")); "
            + "\(Wording.number(g.groupedAttackAccounts)) of \(Wording.counted(attackAccounts, "attack account")) grouped; purity "
            + (g.purity.map { Wording.percent($0) } ?? "n/a (nothing grouped)")
            + "; \(g.campaignsGrouped) of \(Wording.counted(g.trueCampaigns, "true campaign")) grouped, \(g.campaignsSplit) split.\n"
        if let w = linkageWork, exchanges > 0 {
            out += "Linkage work: \(Wording.number(w.keyJoins)) key joins, \(Wording.number(w.pairComparisons)) pair comparisons "
                + "(\(Wording.fixed(Double(w.pairComparisons) / Double(exchanges), 3)) per exchange), \(Wording.number(w.unions)) unions, "
                + "\(Wording.number(w.groupScorings)) group scorings; keys held: \(Wording.number(w.profileKeysHeld)) profile "
                + "(\(Wording.number(w.profileKeysRefused)) refused at the cap), \(Wording.number(w.exchangeKeysHeld)) address.\n"
        }
        return out
    }

    /// Markdown tables of several evaluations: one row per campaign, then one row per
    /// scenario with each legitimate persona's false-positive rate.
    /// - Complexity: O(total campaigns and personas).
    public static func markdown(_ reports: [EvaluationReport]) -> String {
        var out = "| Scenario (scale) | Exchanges | Campaign | Attack accounts | Flagged | Recall | Blocked | Served before flag | First flag after | Allowlist violations | Grouped (purity) |\n"
        out += "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|\n"
        for r in reports {
            let name = "\(r.scenario ?? "files") (\(r.scale.map(Wording.decimal) ?? "-"))"
            let g = r.grouping
            let groupedText = "\(g.groupedAttackAccounts) (\(g.purity.map { Wording.percent($0) } ?? "n/a"))"
            if r.campaigns.isEmpty {
                out += "| \(name) | \(Wording.number(r.exchanges)) | none | 0 | - | - | - | - | - | \(r.allowlistViolations.count) | \(groupedText) |\n"
            }
            for c in r.campaigns {
                out += "| \(name) | \(Wording.number(r.exchanges)) | \(c.campaign) | \(Wording.number(c.accounts)) | \(Wording.number(c.flagged)) | \(Wording.percent(c.recall)) | \(Wording.number(c.blocked)) | \(Wording.percent(c.shareServedBeforeFlag)) | \(c.secondsToFirstFlag.map(Wording.duration) ?? "never") | \(r.allowlistViolations.count) | \(groupedText) |\n"
            }
        }
        let personas = Persona.allCases.filter { !$0.isAttack }
        out += "\nFalse-positive rate per legitimate persona (accounts flagged / accounts; throttled or blocked in brackets):\n\n"
        out += "| Scenario (scale) | " + personas.map(\.rawValue).joined(separator: " | ") + " |\n"
        out += "|---|" + personas.map { _ in "---:" }.joined(separator: "|") + "|\n"
        for r in reports {
            var cells: [String] = []
            for persona in personas {
                if let p = r.personas.first(where: { $0.persona == persona.rawValue }) {
                    cells.append("\(Wording.percent(p.falsePositiveRate)) of \(Wording.number(p.accounts)) (\(p.throttledOrBlocked))")
                } else {
                    cells.append("-")
                }
            }
            out += "| \(r.scenario ?? "files") (\(r.scale.map(Wording.decimal) ?? "-")) | " + cells.joined(separator: " | ") + " |\n"
        }
        return out
    }
}

// MARK: - Formatting (deterministic, locale-free)

/// Rows as aligned columns: the first `leftAligned` columns (names) to the left, the
/// others (figures) to the right.
func table(_ rows: [[String]], leftAligned: Int) -> String {
    guard let header = rows.first else { return "" }
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
    var out = ""
    for row in rows {
        var line = " "
        for (i, cell) in row.enumerated() {
            let pad = String(repeating: " ", count: widths[i] - cell.count)
            line += " " + (i < leftAligned ? cell + pad : pad + cell)
        }
        out += line + "\n"
    }
    return out
}

