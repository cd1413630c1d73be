import ArgumentParser
import Crypto
import DistillWatchConsole
import DistillWatchCore
import DistillWatchIngest
import Foundation

/// `distillwatch screen`: the high-volume screening report for a period
/// (Documentation/Console.md, "Screening").
struct ScreenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "screen",
        abstract: "Screen high-volume accounts for a period: who, doing what, with which verdict and disposition.",
        discussion: """
            Lists every account whose exchanges, output tokens or spend in the period reach a \
            threshold, with its purpose and capability mix, verdict, contributing signals, campaign, \
            and the analyst's disposition and sign-off (from --signoffs). The report states the \
            period, the thresholds, SHA-256 digests of every input and of the policy, and the \
            engine version, and holds no clock time: the same input, policy and version give a \
            byte-identical report. Formats: json (default), csv, html.
            """)

    @Argument(help: "Traffic files (JSON Lines, optionally gzip; the formats scan reads).")
    var traffic: [String] = []

    @Option(name: .long, help: "Account records file (JSON Lines, optionally gzip). Repeatable.")
    var accounts: [String] = []

    @Option(name: .long, help: ArgumentHelp("First day or time of the period (UTC): 2026-03-01 or an RFC 3339 time. Default: 30 days before --to.", valueName: "date"))
    var from: String?

    @Option(name: .long, help: ArgumentHelp("Last day of the period, included (UTC), or an RFC 3339 time (excluded). Default: the day of the last exchange.", valueName: "date"))
    var to: String?

    @Option(name: .long, help: "Screen accounts with at least this many exchanges in the period (default 10000; 0 turns the threshold off).")
    var minExchanges: Int = 10_000

    @Option(name: .long, help: "Screen accounts with at least this many output tokens in the period (default 5000000; 0 turns it off).")
    var minOutputTokens: Int = 5_000_000

    @Option(name: .long, help: "Screen accounts that spent at least this many US dollars in the period (cost_usd; off by default).")
    var minSpendUsd: Double?

    @Option(name: .long, help: ArgumentHelp("Analysts' dispositions: JSON Lines of {account_id, disposition, analyst, note, at} (as GET /v1/screening lists them).", valueName: "path"))
    var signoffs: String?

    @Option(name: .long, help: "json, csv or html.")
    var format: String = "json"

    @Option(name: .long, help: ArgumentHelp("Write the report here (default: standard output).", valueName: "path|-"))
    var output: String = "-"

    @Option(name: .long, help: "YAML policy overriding the built-in weights, thresholds and allowlists.")
    var policy: String?

    @OptionGroup var content: ContentOptions

    func validate() throws {
        guard !traffic.isEmpty else { throw ValidationError("give at least one traffic file") }
        guard !traffic.contains("-"), !accounts.contains("-") else {
            throw ValidationError("screen reads files, not standard input: the report states each input's SHA-256, read before the scan")
        }
        guard ["json", "csv", "html"].contains(format) else { throw ValidationError("--format: expected json, csv or html") }
        guard minExchanges >= 0, minOutputTokens >= 0 else { throw ValidationError("thresholds must not be negative") }
        if let x = minSpendUsd, !(x.isFinite && x >= 0) { throw ValidationError("--min-spend-usd must be a number ≥ 0") }
        guard minExchanges > 0 || minOutputTokens > 0 || (minSpendUsd ?? 0) > 0 else {
            throw ValidationError("every threshold is off: set --min-exchanges, --min-output-tokens or --min-spend-usd")
        }
    }

    func run() throws {
        try UserFile.refuseClashes(
            outputs: [("--output", output)],
            inputs: traffic.map { ("traffic file", $0) } + accounts.map { ("account records file", $0) }
                + [("sign-offs file", signoffs), ("policy file", policy)])
        let policy = try loadPolicy(self.policy)
        // Digests first: the report states what it was computed from.
        var inputs: [ScreeningReport.Provenance.Input] = []
        for path in traffic + accounts + (signoffs.map { [$0] } ?? []) { inputs.append(try Self.digest(path)) }
        var all = SHA256()
        for i in inputs { all.update(data: Array("\(i.sha256)\n".utf8)) }
        let outcome = try runScan(
            traffic: traffic.map(InputSource.init(argument:)), accounts: accounts.map(InputSource.init(argument:)), policy: policy,
            options: IngestOptions(strict: false, malformedLinesKept: 1000, sketcher: try content.sketcher(), inputFormat: .auto),
            includeAllAccounts: true, showProgress: false, collectActivity: true)
        let activity = outcome.activity ?? HourlyActivityLedger()
        let lastDay = outcome.report.input.lastTime.map { Timestamp(millisecondsSinceEpoch: ($0.dayIndex + 1) * 86_400_000) }
        func time(_ text: String?, _ flag: String, endOfDay: Bool) throws -> Timestamp? {
            guard let text else { return nil }
            guard let t = ScreeningPeriodParsing.parse(text, endOfDay: endOfDay) else {
                throw ScanFailure("\(flag) \(text): expected a UTC date (2026-03-31) or an RFC 3339 time")
            }
            return t
        }
        guard let end = try time(to, "--to", endOfDay: true) ?? lastDay else {
            throw ScanFailure("no exchange in the input and no --to: nothing to screen")
        }
        let start = try time(from, "--from", endOfDay: false) ?? end.adding(milliseconds: -30 * 86_400_000)
        guard start < end else { throw ScanFailure("--from must be before --to") }
        if let problem = ScreeningPeriodParsing.problem(from: start, to: end) { throw ScanFailure("--from/--to: \(problem)") }
        let period = ScreeningReport.Period(from: start, to: end)
        let entries = Dictionary(outcome.report.accounts.map { ($0.accountID, $0) }, uniquingKeysWith: { a, _ in a })
        let report = ScreeningReport(
            period: period,
            thresholds: .init(exchanges: minExchanges > 0 ? minExchanges : nil, outputTokens: minOutputTokens > 0 ? minOutputTokens : nil,
                              spendUSD: minSpendUsd == 0 ? nil : minSpendUsd),
            totals: activity.totals(in: period.hours), account: { entries[$0] }, signOffs: try loadSignOffs(),
            provenance: .init(inputDigest: all.finalize().lowercaseHex, inputs: inputs,
                              policyDigest: SHA256.hash(data: Array(PolicyFile.render(policy).utf8)).lowercaseHex,
                              engineVersion: DistillWatchVersion.current, source: "scan"))
        let text: String
        switch format {
        case "csv": text = report.csv
        case "html": text = try ConsoleRenderer().screeningDocument(report)
        default: text = try ScreeningOutput.json(report)
        }
        var isDirectory: ObjCBool = false
        if output != "-", FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ScanFailure("\(output): is a directory; give a file path for the report")
        }
        if output == "-" {
            FileHandle.standardOutput.write(Data(text.utf8))
        } else {
            try UserFile.write(Data(text.utf8), to: output, what: "report")
            var err = StandardError()
            Swift.print("screened \(report.summary.screenedAccounts) of \(report.summary.activeAccounts) active accounts (\(period.text)); \(report.summary.signedOff) signed off; report: \(output)", to: &err)
        }
    }

    /// SHA-256 and size of a file, streamed.
    static func digest(_ path: String) throws -> ScreeningReport.Provenance.Input {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ScanFailure("\(path): cannot read the file to digest it: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            // The digest is read before the scan; a pipe read here would leave the scan nothing.
            throw ScanFailure("\(path): not a regular file; screen states each input's SHA-256, read before the scan, so a pipe or device cannot be an input (save it to a file first)")
        }
        var hasher = SHA256()
        var bytes = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            // A read error is an error: a digest of the bytes before it would name another file.
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw ScanFailure("\(path): cannot read the file to digest it: \(String(cString: strerror(errno)))")
            }
            chunk.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            bytes += n
        }
        return .init(name: URL(fileURLWithPath: path).lastPathComponent,
                     sha256: hasher.finalize().lowercaseHex, bytes: bytes)
    }

    struct SignOffLine: Decodable {
        var account_id: String
        var disposition: String
        var analyst: String?
        var note: String?
        var at: Timestamp
    }

    /// The latest disposition per account from `--signoffs`; a bad line names its number.
    func loadSignOffs() throws -> [String: ScreeningReport.SignOff] {
        guard let signoffs else { return [:] }
        let data = try UserFile.read(signoffs, what: "sign-offs file")
        var out: [String: ScreeningReport.SignOff] = [:]
        for (n, line) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.filter { $0 != UInt8(ascii: "\r") }
            guard !trimmed.allSatisfy({ $0 == UInt8(ascii: " ") }) else { continue }
            let entry: SignOffLine
            do {
                entry = try Array(trimmed).withUnsafeBytes { (raw) throws(BodyError) in try JSONBodyDecoder.decode(SignOffLine.self, from: raw) }
            } catch {
                throw ScanFailure("\(signoffs):\(n + 1): \((error as? BodyError)?.message ?? "\(error)") (a sign-off line is {\"account_id\", \"disposition\", \"at\", \"analyst\", \"note\"})")
            }
            guard let d = ScreeningReport.Disposition(rawValue: entry.disposition) else {
                throw ScanFailure("\(signoffs):\(n + 1): field \"disposition\": \(entry.disposition) is not one of "
                                  + ScreeningReport.Disposition.allCases.map(\.rawValue).joined(separator: ", "))
            }
            if let old = out[entry.account_id], old.at > entry.at { continue }
            // Notes are cut at 2,000 characters, as the console cuts them.
            out[entry.account_id] = .init(disposition: d, note: entry.note.map { String($0.prefix(2_000)) },
                                          analyst: entry.analyst.map { String($0.prefix(256)) }, at: entry.at)
        }
        return out
    }
}
