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
        if let scale { title += " (scale \(formatNumber(scale))" + (seed.map { ", seed \($0)" } ?? "") + ")" }
        title += ": \(grouped(exchanges)) exchanges from \(grouped(accounts)) accounts (\(grouped(attackAccounts)) attack)"
        if let seconds { title += " in \(fixed(seconds, 1)) s (\(grouped(Int(Double(exchanges) / max(seconds, 1e-9)))) exchanges/s)" }
        out += title + ".\n"
        if unlabelledAccounts > 0 { out += "Accounts without a label (ignored): \(unlabelledAccounts).\n" }

        out += "\nAttack campaigns (flagged = verdict other than allow):\n"
        var rows = [["campaign", "persona", "accounts", "exchanges", "flagged", "recall", "blocked", "served before flag", "first flag after"]]
        for c in campaigns {
            rows.append([c.campaign, c.persona, grouped(c.accounts), grouped(c.exchanges), grouped(c.flagged), percent(c.recall), grouped(c.blocked),
                         percent(c.shareServedBeforeFlag), c.secondsToFirstFlag.map(duration) ?? "never"])
        }
        out += table(rows)

        out += "\nLegitimate personas (false positive = verdict other than allow):\n"
        rows = [["persona", "accounts", "exchanges", "flagged", "FPR", "throttled/blocked"]]
        for p in personas {
            rows.append([p.persona, grouped(p.accounts), grouped(p.exchanges), grouped(p.flagged),
                         percent(p.falsePositiveRate), grouped(p.throttledOrBlocked)])
        }
        out += table(rows)
        for p in personas where !p.throttledOrBlockedAccounts.isEmpty {
            out += "  \(p.persona) throttled or blocked: \(p.throttledOrBlockedAccounts.prefix(10).joined(separator: ", "))"
                + (p.throttledOrBlocked > 10 ? ", ..." : "") + "\n"
        }

        out += "\nAllowlist violations: "
        out += allowlistViolations.isEmpty ? "none.\n"
            : "\(allowlistViolations.count) (\(allowlistViolations.prefix(5).joined(separator: ", ")))\n"
        let g = grouping
        out += "Campaign grouping: the engine reported \(g.engineCampaigns) campaigns; "
            + "\(g.groupedAttackAccounts) of \(attackAccounts) attack accounts grouped; purity "
            + (g.purity.map(percent) ?? "n/a (nothing grouped)")
            + "; \(g.campaignsGrouped) of \(g.trueCampaigns) true campaigns grouped, \(g.campaignsSplit) split.\n"
        if let w = linkageWork, exchanges > 0 {
            out += "Linkage work: \(grouped(w.keyJoins)) key joins, \(grouped(w.pairComparisons)) pair comparisons "
                + "(\(fixed(Double(w.pairComparisons) / Double(exchanges), 3)) per exchange), \(grouped(w.unions)) unions, "
                + "\(grouped(w.groupScorings)) group scorings; keys held: \(grouped(w.profileKeysHeld)) profile "
                + "(\(grouped(w.profileKeysRefused)) refused at the cap), \(grouped(w.exchangeKeysHeld)) address.\n"
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
            let name = "\(r.scenario ?? "files") (\(r.scale.map(formatNumber) ?? "-"))"
            let g = r.grouping
            let groupedText = "\(g.groupedAttackAccounts) (\(g.purity.map(percent) ?? "n/a"))"
            if r.campaigns.isEmpty {
                out += "| \(name) | \(grouped(r.exchanges)) | none | 0 | - | - | - | - | - | \(r.allowlistViolations.count) | \(groupedText) |\n"
            }
            for c in r.campaigns {
                out += "| \(name) | \(grouped(r.exchanges)) | \(c.campaign) | \(grouped(c.accounts)) | \(grouped(c.flagged)) | \(percent(c.recall)) | \(grouped(c.blocked)) | \(percent(c.shareServedBeforeFlag)) | \(c.secondsToFirstFlag.map(duration) ?? "never") | \(r.allowlistViolations.count) | \(groupedText) |\n"
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
                    cells.append("\(percent(p.falsePositiveRate)) of \(grouped(p.accounts)) (\(p.throttledOrBlocked))")
                } else {
                    cells.append("-")
                }
            }
            out += "| \(r.scenario ?? "files") (\(r.scale.map(formatNumber) ?? "-")) | " + cells.joined(separator: " | ") + " |\n"
        }
        return out
    }
}

// MARK: - Formatting (deterministic, locale-free)

func table(_ rows: [[String]]) -> String {
    guard let header = rows.first else { return "" }
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
    var out = ""
    for row in rows {
        var line = " "
        for (i, cell) in row.enumerated() {
            let pad = String(repeating: " ", count: widths[i] - cell.count)
            line += " " + (i < 2 ? cell + pad : pad + cell)
        }
        out += line + "\n"
    }
    return out
}

func fixed(_ x: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let v = (x * scale).rounded() / scale
    var s = String(v)
    if let dot = s.firstIndex(of: ".") {
        let decimals = s.distance(from: dot, to: s.endIndex) - 1
        if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
        if digits == 0 { s = String(s[..<dot]) }
    }
    return s
}

func percent(_ x: Double) -> String { fixed(x * 100, 1) + "%" }

func formatNumber(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x)
}

/// 1234567 → "1,234,567".
func grouped(_ n: Int) -> String {
    let digits = String(abs(n))
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0, (digits.count - i) % 3 == 0 { out += "," }
        out.append(c)
    }
    return n < 0 ? "-" + out : out
}

/// 5400 → "1h 30m". - Complexity: O(1).
func duration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    if s < 60 { return "\(s)s" }
    if s < 3600 { return "\(s / 60)m \(s % 60)s" }
    if s < 86_400 { return "\(s / 3600)h \((s % 3600) / 60)m" }
    return "\(s / 86_400)d \((s % 86_400) / 3600)h"
}
