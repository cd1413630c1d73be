import Foundation
import DistillWatchCore

/// The high-volume screening report for one period: every account above a volume
/// threshold, what it was doing, what DistillWatch and the analyst decided.
///
/// Reproducible: it states the period, the thresholds, digests of its inputs and policy,
/// and the engine version, and holds no wall-clock time, so the same input, policy and
/// version give a byte-identical report (JSON with sorted keys, CSV, HTML).
///
/// JSON shape (`format` `distillwatch.screening/1`): `period` {`from`, `to`} (RFC 3339,
/// `to` excluded), `thresholds` {`exchanges`, `output_tokens`, `spend_usd`} (absent: not
/// used), `provenance`, `summary`, `accounts` (sorted by exchanges, then id).
public struct ScreeningReport: Sendable, Codable, Equatable {
    public var format = "distillwatch.screening/1"
    public var period: Period
    public var thresholds: Thresholds
    public var provenance: Provenance
    public var summary: Summary
    public var accounts: [Entry]

    public struct Period: Sendable, Codable, Equatable {
        public var from: Timestamp
        /// Excluded.
        public var to: Timestamp
        public init(from: Timestamp, to: Timestamp) {
            self.from = from
            self.to = to
        }
        /// Hours since the epoch covered: `[from, to)` rounded out to whole hours.
        public var hours: Range<Int64> {
            let lo = from.hourIndex
            let hi = floorDivide(to.millisecondsSinceEpoch + 3_599_999, 3_600_000)
            return lo..<max(lo, hi)
        }
        /// `2026-01-01 00:00 UTC to 2026-02-01 00:00 UTC`.
        public var text: String { "\(ConsoleFormat.time(from)) to \(ConsoleFormat.time(to))" }
        /// The key sign-offs are stored under: `FROM/TO` in RFC 3339.
        public var key: String { "\(from.rfc3339)/\(to.rfc3339)" }
    }

    /// An account is screened when it reaches any threshold given.
    public struct Thresholds: Sendable, Codable, Equatable {
        public var exchanges: Int?
        public var outputTokens: Int?
        public var spendUSD: Double?
        public init(exchanges: Int? = nil, outputTokens: Int? = nil, spendUSD: Double? = nil) {
            self.exchanges = exchanges
            self.outputTokens = outputTokens
            self.spendUSD = spendUSD
        }
        /// 10,000 exchanges or 5,000,000 output tokens in the period.
        public static let defaults = Thresholds(exchanges: 10_000, outputTokens: 5_000_000, spendUSD: nil)

        /// The thresholds `t` reaches, by name (`exchanges`, `output_tokens`, `spend_usd`).
        public func met(_ t: HourlyTotals) -> [String] {
            var out: [String] = []
            if let n = exchanges, t.exchanges >= n { out.append("exchanges") }
            if let n = outputTokens, t.outputTokens >= n { out.append("output_tokens") }
            if let x = spendUSD, t.costUSD >= x { out.append("spend_usd") }
            return out
        }

        enum CodingKeys: String, CodingKey {
            case exchanges
            case outputTokens = "output_tokens"
            case spendUSD = "spend_usd"
        }
    }

    public struct Provenance: Sendable, Codable, Equatable {
        /// SHA-256 (hex) of every input's digest in order, or of the event log range.
        public var inputDigest: String
        public var inputs: [Input]
        public var policyDigest: String
        public var engineVersion: String
        /// `scan` (files) or `serve` (the live store).
        public var source: String

        public struct Input: Sendable, Codable, Equatable {
            public var name: String
            public var sha256: String
            public var bytes: Int
            public init(name: String, sha256: String, bytes: Int) {
                self.name = name
                self.sha256 = sha256
                self.bytes = bytes
            }
        }

        public init(inputDigest: String, inputs: [Input], policyDigest: String, engineVersion: String, source: String) {
            self.inputDigest = inputDigest
            self.inputs = inputs
            self.policyDigest = policyDigest
            self.engineVersion = engineVersion
            self.source = source
        }

        enum CodingKeys: String, CodingKey {
            case inputDigest = "input_digest"
            case inputs
            case policyDigest = "policy_digest"
            case engineVersion = "engine_version"
            case source
        }
    }

    public struct Summary: Sendable, Codable, Equatable {
        public var activeAccounts: Int
        public var screenedAccounts: Int
        public var flaggedScreened: Int
        public var signedOff: Int
        public var exchanges: Int
        public var outputTokens: Int
        public var spendUSD: Double

        enum CodingKeys: String, CodingKey {
            case activeAccounts = "active_accounts"
            case screenedAccounts = "screened_accounts"
            case flaggedScreened = "flagged_screened"
            case signedOff = "signed_off"
            case exchanges
            case outputTokens = "output_tokens"
            case spendUSD = "spend_usd"
        }
    }

    public struct Entry: Sendable, Codable, Equatable {
        public var accountID: String
        public var exchanges: Int
        public var inputTokens: Int
        public var outputTokens: Int
        public var spendUSD: Double
        public var thresholdsMet: [String]
        /// What the account was doing, in words: its leading capabilities, or why unknown.
        public var purpose: String
        public var capabilities: [String: Double]
        public var verdict: Verdict
        public var score: Double
        /// Contributing signals, strongest first: `name (contribution)`.
        public var signals: [String]
        public var campaignID: String?
        public var disposition: SignOff?

        enum CodingKeys: String, CodingKey {
            case accountID = "account_id"
            case exchanges
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case spendUSD = "spend_usd"
            case thresholdsMet = "thresholds_met"
            case purpose, capabilities, verdict, score, signals
            case campaignID = "campaign_id"
            case disposition
        }
    }

    /// An analyst's disposition of a screened account for a period, and who signed it off.
    public struct SignOff: Sendable, Codable, Equatable {
        public var disposition: Disposition
        public var note: String?
        public var analyst: String?
        public var at: Timestamp

        public init(disposition: Disposition, note: String?, analyst: String?, at: Timestamp) {
            self.disposition = disposition
            self.note = note
            self.analyst = analyst
            self.at = at
        }
    }

    public enum Disposition: String, Sendable, Codable, CaseIterable {
        /// Reviewed: ordinary high-volume use.
        case legitimateUse = "legitimate_use"
        /// Keep watching; no action yet.
        case monitor
        /// Limits or verification applied.
        case restricted
        /// Extraction: blocked and reported.
        case confirmedAttack = "confirmed_attack"

        public var text: String {
            switch self {
            case .legitimateUse: return "legitimate use"
            case .monitor: return "monitor"
            case .restricted: return "restricted"
            case .confirmedAttack: return "confirmed attack"
            }
        }
    }

    /// Builds the report.
    /// - Parameters:
    ///   - totals: each account's totals over the period (from the hourly history).
    ///   - account: the account's report entry (verdict, signals, capabilities) now.
    ///   - signOffs: dispositions recorded for this period, by account.
    /// - Complexity: O(active accounts + screened · signals).
    public init(period: Period, thresholds: Thresholds, totals: [String: HourlyTotals],
                account: (String) -> ScanReport.Account?, signOffs: [String: SignOff], provenance: Provenance) {
        self.period = period
        self.thresholds = thresholds
        self.provenance = provenance
        var entries: [Entry] = []
        var all = HourlyTotals(hour: period.hours.lowerBound)
        for (id, t) in totals {
            all.add(t)
            let met = thresholds.met(t)
            guard !met.isEmpty else { continue }
            let a = account(id)
            let caps = a?.capabilities ?? [:]
            entries.append(Entry(
                accountID: id, exchanges: t.exchanges, inputTokens: t.inputTokens, outputTokens: t.outputTokens,
                spendUSD: t.costUSD, thresholdsMet: met, purpose: Self.purpose(caps),
                capabilities: caps, verdict: a?.verdict ?? .allow, score: a?.score ?? 0,
                signals: (a?.signals ?? []).filter { $0.contribution > 0 }.sorted { $0.contribution > $1.contribution }
                    .map { "\($0.name) (\(ConsoleFormat.decimal($0.contribution)))" },
                campaignID: a?.campaignID, disposition: signOffs[id]))
        }
        entries.sort { $0.exchanges != $1.exchanges ? $0.exchanges > $1.exchanges : $0.accountID < $1.accountID }
        accounts = entries
        summary = Summary(activeAccounts: totals.count, screenedAccounts: entries.count,
                          flaggedScreened: entries.filter { $0.verdict != .allow }.count,
                          signedOff: entries.filter { $0.disposition != nil }.count,
                          exchanges: all.exchanges, outputTokens: all.outputTokens, spendUSD: all.costUSD)
    }

    static func purpose(_ caps: [String: Double]) -> String {
        guard !caps.isEmpty else { return "unknown: no prompt text was available to classify" }
        return caps.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(3)
            .map { "\($0.key) \(ConsoleFormat.percent($0.value, digits: 0))" }.joined(separator: ", ")
    }

    // MARK: Output

    /// CSV (RFC 4180), one row per screened account, with a header. Cells that a
    /// spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR)
    /// are prefixed with `'`: account ids and notes are attacker-chosen.
    public var csv: String {
        var out = "account_id,exchanges,input_tokens,output_tokens,spend_usd,thresholds_met,purpose,verdict,score,signals,campaign_id,disposition,note,signed_off_by,signed_off_at,period_from,period_to,input_digest,policy_digest,engine_version\r\n"
        for e in accounts {
            let cells: [String] = [
                e.accountID, String(e.exchanges), String(e.inputTokens), String(e.outputTokens),
                Self.plain(e.spendUSD), e.thresholdsMet.joined(separator: ";"), e.purpose, e.verdict.rawValue,
                Self.plain(e.score), e.signals.joined(separator: ";"), e.campaignID ?? "",
                e.disposition?.disposition.rawValue ?? "", e.disposition?.note ?? "", e.disposition?.analyst ?? "",
                e.disposition?.at.rfc3339 ?? "", period.from.rfc3339, period.to.rfc3339,
                provenance.inputDigest, provenance.policyDigest, provenance.engineVersion,
            ]
            out += cells.map(Self.csvCell).joined(separator: ",") + "\r\n"
        }
        return out
    }

    static func plain(_ x: Double) -> String { ConsoleFormat.decimal(x, digits: 4).replacingOccurrences(of: ",", with: "") }

    /// One CSV cell (RFC 4180): quoted, with its quotes doubled, when it holds a comma, a
    /// quote, CR or LF; a leading `= + - @`, tab or CR gets a `'` first, so that a
    /// spreadsheet shows it as text rather than run it as a formula (OWASP, "CSV Injection").
    static func csvCell(_ s: String) -> String {
        var v = s
        if let first = v.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { v = "'" + v }
        // Scalars, not Characters: "\r\n" is one Character, equal to neither "\r" nor "\n",
        // and an id holding it would otherwise end the row unquoted.
        if v.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            var quoted = String.UnicodeScalarView()
            quoted.append("\"")
            for c in v.unicodeScalars {
                if c == "\"" { quoted.append("\"") }
                quoted.append(c)
            }
            quoted.append("\"")
            v = String(quoted)
        }
        return v
    }
}

extension ConsoleRenderer {
    struct ScreeningRowView {
        var id: String
        var rowID: Int
        var href: String?
        var exchanges: String
        var outputTokens: String
        var spend: String
        var thresholds: String
        var purpose: String
        var badge: Badge
        var score: String
        var signals: String
        var campaign: String
        var disposition: String
        var signedOff: String?
        var form: ScreeningFormView?
    }

    struct ScreeningFormView {
        var action: String
        var csrf: String
        var from: String
        var to: String
        var dispositions: [OptionView]
    }

    struct ScreeningSectionView {
        var period: String
        var facts: [Stat]
        var rows: [ScreeningRowView]
        var pager: PagerView?
        var count: String
    }

    /// The report's section; with `rows`, only those rows of ``ScreeningReport/accounts``
    /// (a page of the console's list) and a pager.
    func screeningSection(_ r: ScreeningReport, links: ConsoleLinks, form: ConsoleForm?, rows range: Range<Int>? = nil,
                          pager: PagerView? = nil) -> String {
        let facts = [
            Stat(name: "Period", value: r.period.text),
            Stat(name: "Thresholds", value: [
                r.thresholds.exchanges.map { "exchanges ≥ \(ConsoleFormat.number($0))" },
                r.thresholds.outputTokens.map { "output tokens ≥ \(ConsoleFormat.number($0))" },
                r.thresholds.spendUSD.map { "spend ≥ \(ConsoleFormat.dollars($0))" },
            ].compactMap { $0 }.joined(separator: " or ")),
            Stat(name: "Active accounts", value: ConsoleFormat.number(r.summary.activeAccounts)),
            Stat(name: "Screened", value: ConsoleFormat.number(r.summary.screenedAccounts)),
            Stat(name: "Flagged among screened", value: ConsoleFormat.number(r.summary.flaggedScreened)),
            Stat(name: "Signed off", value: "\(ConsoleFormat.number(r.summary.signedOff)) of \(ConsoleFormat.number(r.summary.screenedAccounts))"),
            Stat(name: "Exchanges in period", value: ConsoleFormat.number(r.summary.exchanges)),
            Stat(name: "Input digest (SHA-256)", value: r.provenance.inputDigest),
            Stat(name: "Policy digest (SHA-256)", value: r.provenance.policyDigest),
            Stat(name: "Engine version", value: r.provenance.engineVersion),
            Stat(name: "Source", value: r.provenance.source),
        ]
        let range = range.map { $0.clamped(to: r.accounts.indices) } ?? r.accounts.indices
        let rows = r.accounts[range].enumerated().map { k, e in
            ScreeningRowView(
                id: e.accountID, rowID: k, href: links.account(e.accountID), exchanges: ConsoleFormat.number(e.exchanges),
                outputTokens: ConsoleFormat.number(e.outputTokens), spend: ConsoleFormat.dollars(e.spendUSD),
                thresholds: e.thresholdsMet.joined(separator: ", "), purpose: e.purpose, badge: Badge(e.verdict),
                score: ConsoleFormat.decimal(e.score), signals: e.signals.isEmpty ? "–" : e.signals.joined(separator: ", "),
                campaign: e.campaignID ?? "–", disposition: e.disposition?.disposition.text ?? "not signed off",
                signedOff: e.disposition.map { s in "by \(s.analyst ?? "unknown") at \(ConsoleFormat.time(s.at))" + (s.note.map { ": \($0)" } ?? "") },
                form: form.map { f in
                    ScreeningFormView(action: f.action, csrf: f.csrf, from: r.period.from.rfc3339, to: r.period.to.rfc3339,
                                      dispositions: ScreeningReport.Disposition.allCases.map {
                                          OptionView(value: $0.rawValue, text: $0.text, selected: e.disposition?.disposition == $0)
                                      })
                })
        }
        let total = r.accounts.count
        return section("screeningReport", ScreeningSectionView(
            period: r.period.text, facts: facts, rows: rows, pager: pager,
            count: "\(ConsoleFormat.number(total)) account\(total == 1 ? "" : "s") above a threshold, by exchanges"
                + (rows.count < total ? " (\(ConsoleFormat.number(range.lowerBound + 1))–\(ConsoleFormat.number(range.upperBound)) here)" : "")))
    }

    /// The screening report as one self-contained HTML file (inline CSS, no script).
    public func screeningDocument(_ r: ScreeningReport) -> String {
        let links = ConsoleLinks(campaign: { _ in nil }, account: { _ in nil })
        let body = "<h1>High-volume screening report</h1>" + screeningSection(r, links: links, form: nil)
        return section("layout", Page(title: "Screening \(r.period.text)", stylesheet: nil, inlineStyle: ConsoleStyle.css, nav: nil,
                                      reportTitle: "High-volume screening", flash: nil, body: body,
                                      footer: "Report \(r.format); engine \(r.provenance.engineVersion)."))
    }
}

/// Reading the screening period's bounds as people write them.
public enum ScreeningPeriodParsing {
    /// `2026-01-31` (UTC midnight, or the next midnight when `endOfDay`, so the day is
    /// included) or an RFC 3339 time.
    public static func parse(_ text: String, endOfDay: Bool) -> Timestamp? {
        let bytes = Array(text.utf8)
        if bytes.count == 10, let t = parseRFC3339(text + "T00:00:00Z") {
            return endOfDay ? t.adding(milliseconds: 86_400_000) : t
        }
        return parseRFC3339(text)
    }

    /// Why a period cannot be screened: outside 2000–2100 (the times records may carry),
    /// longer than ten years, or not bounded by whole hours; `nil` when it can.
    ///
    /// Volumes are kept per hour (``HourlyActivityLedger``): a bound inside an hour would
    /// count that whole hour, so exchanges outside the period would be judged against the
    /// thresholds while the report names the period given.
    public static func problem(from: Timestamp, to: Timestamp) -> String? {
        let lowest = Timestamp(millisecondsSinceEpoch: 946_684_800_000)   // 2000-01-01
        let highest = Timestamp(millisecondsSinceEpoch: 4_102_444_800_000) // 2100-01-01
        guard from >= lowest, to <= highest else { return "the period must lie between 2000-01-01 and 2100-01-01 (UTC)" }
        guard to.milliseconds(since: from) <= 3_660 * 86_400_000 else { return "the period is longer than ten years" }
        // The end first: a start left to its default (30 days before the end) is off the
        // hour only when the end is, and the message should name what was typed.
        for (name, t) in [("end", to), ("start", from)] where t.millisecondsSinceEpoch % 3_600_000 != 0 {
            return "the period's \(name), \(t.rfc3339), is not on the hour: volumes are counted per hour (UTC), "
                + "so a period starts and ends at a whole hour (for example \(Timestamp(millisecondsSinceEpoch: t.hourIndex * 3_600_000).rfc3339))"
        }
        return nil
    }

    static func parseRFC3339(_ s: String) -> Timestamp? {
        var bytes = Array(s.utf8)
        return bytes.withUnsafeMutableBufferPointer { Timestamp.parseRFC3339(UnsafeBufferPointer($0)) }
    }
}

/// The screening report's JSON: sorted keys, so the same report gives the same bytes.
public enum ScreeningOutput {
    public static func json(_ report: ScreeningReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
    }
}
