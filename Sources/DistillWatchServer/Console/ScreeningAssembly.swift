import Crypto
import DistillWatchConsole
import DistillWatchCore
import DistillWatchIngest
import DistillWatchStore
import Foundation

/// Builds the screening report from the live server: period totals from the stored
/// hourly history, verdicts and signals from the engine now, sign-offs from the store.
///
/// The input digest is SHA-256 over the period's per-account totals (sorted by account),
/// so two servers holding the same history for the period state the same digest.
enum ScreeningAssembly {
    /// - Parameter detailed: the rows (in report order: exchanges, then id) that get full
    ///   entries with signals and capabilities; the others get the verdict, score and
    ///   campaign only (the console shows one page). `nil`: every row in full (the API).
    static func report(state: ServerState, period: ScreeningReport.Period, thresholds: ScreeningReport.Thresholds,
                       detailed: Range<Int>? = nil) async throws -> ScreeningReport {
        let totals = try await state.history.periodTotals(in: period.hours)
        var signOffs: [String: ScreeningReport.SignOff] = [:]
        for s in try await state.history.signOffs(period: period.key) {
            guard let d = ScreeningReport.Disposition(rawValue: s.disposition) else { continue }
            signOffs[s.accountID] = ScreeningReport.SignOff(disposition: d, note: s.note, analyst: s.analyst, at: s.at)
        }
        var hasher = SHA256()
        for id in totals.keys.sorted() {
            let t = totals[id]!
            hasher.update(data: Array("\(id)\t\(t.exchanges)\t\(t.inputTokens)\t\(t.outputTokens)\t\(t.costMicroUSD)\n".utf8))
        }
        let inputDigest = hasher.finalize().lowercaseHex
        let provenance = ScreeningReport.Provenance(
            inputDigest: inputDigest,
            inputs: [.init(name: "serve history \(period.key)", sha256: inputDigest, bytes: 0)],
            policyDigest: policyDigest(state.configuration.policy), engineVersion: DistillWatchVersion.current, source: "serve")
        // Report entries for the screened accounts only (the thresholds decide who).
        let screened = totals.filter { !thresholds.met($0.value).isEmpty }
            .sorted { $0.value.exchanges != $1.value.exchanges ? $0.value.exchanges > $1.value.exchanges : $0.key < $1.key }.map(\.key)
        let full = Set(detailed.map { screened[$0.clamped(to: screened.indices)] } ?? screened[...])
        let entries: [String: ScanReport.Account] = state.engine.read { scanner in
            var out: [String: ScanReport.Account] = [:]
            for id in screened {
                guard let s = scanner.engine.summary(for: id) else { continue }
                out[id] = full.contains(id) ? ScanReport.Account(engine: scanner.engine, summary: s)
                    : ScanReport.Account.brief(s)
            }
            return out
        }
        return ScreeningReport(period: period, thresholds: thresholds, totals: totals, account: { entries[$0] },
                               signOffs: signOffs, provenance: provenance)
    }

    /// SHA-256 of the policy as `policy show` renders it.
    static func policyDigest(_ policy: Policy) -> String {
        SHA256.hash(data: Array(PolicyFile.render(policy).utf8)).lowercaseHex
    }


    /// Parses the period and thresholds of a screening request (`from`, `to` as dates or
    /// RFC 3339 times, UTC; `to` as a date includes that whole day). Defaults: the last 30
    /// days to the end of today; ``ScreeningReport/Thresholds/defaults``.
    /// - Throws: a message naming the parameter.
    static func parse(_ q: [String: String], now: Timestamp) throws(ConsoleInputError) -> (ScreeningReport.Period, ScreeningReport.Thresholds) {
        let endOfToday = Timestamp(millisecondsSinceEpoch: (now.dayIndex + 1) * 86_400_000)
        func time(_ key: String, endOfDay: Bool) throws(ConsoleInputError) -> Timestamp? {
            guard let v = q[key], !v.isEmpty else { return nil }
            guard let t = ScreeningPeriodParsing.parse(v, endOfDay: endOfDay) else {
                throw ConsoleInputError("\(key)=\(v): expected a UTC date (2026-01-31) or an RFC 3339 time")
            }
            return t
        }
        let to = try time("to", endOfDay: true) ?? endOfToday
        let from = try time("from", endOfDay: false) ?? to.adding(milliseconds: -30 * 86_400_000)
        guard from < to else { throw ConsoleInputError("from must be before to") }
        if let problem = ScreeningPeriodParsing.problem(from: from, to: to) { throw ConsoleInputError(problem) }
        func int(_ key: String) throws(ConsoleInputError) -> Int?? {
            guard let v = q[key] else { return .none }
            if v.isEmpty { return .some(nil) }
            guard let n = Int(v.replacingOccurrences(of: ",", with: "")), n >= 0 else { throw ConsoleInputError("\(key)=\(v): expected a whole number ≥ 0") }
            // 0 turns the threshold off, as in `screen` (Console.md); as a bound it listed
            // every account with any traffic.
            return .some(n == 0 ? nil : n)
        }
        var thresholds = ScreeningReport.Thresholds.defaults
        if let v = try int("min_exchanges") { thresholds.exchanges = v }
        if let v = try int("min_output_tokens") { thresholds.outputTokens = v }
        if let v = q["min_spend_usd"] {
            if v.isEmpty { thresholds.spendUSD = nil } else {
                guard v.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let x = Double(v), x.isFinite, x >= 0 else { throw ConsoleInputError("min_spend_usd=\(v): expected a number of dollars ≥ 0") }
                thresholds.spendUSD = x == 0 ? nil : x
            }
        }
        guard thresholds.exchanges != nil || thresholds.outputTokens != nil || thresholds.spendUSD != nil else {
            throw ConsoleInputError("give at least one threshold (min_exchanges, min_output_tokens or min_spend_usd)")
        }
        return (ScreeningReport.Period(from: from, to: to), thresholds)
    }
}

/// A console or API parameter that cannot be used; the message names it.
struct ConsoleInputError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
