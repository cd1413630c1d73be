import ArgumentParser
import Crypto
import DistillWatchConsole
import DistillWatchCore
import DistillWatchIngest
import DistillWatchStore
import Foundation

/// `distillwatch provenance`: prove that a published or seized dataset came from this
/// provider's API, and through which accounts (Documentation/Provenance.md).
struct ProvenanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provenance",
        abstract: "Index the answers served (keyed sketches, never the text) and check a dataset against them.",
        subcommands: [ProvenanceIndexCommand.self, ProvenanceCheckCommand.self])
}

/// The content key, as `scan` finds it: `--content-key`, else the key file.
struct ProvenanceKeyOptions: ParsableArguments {
    @Option(name: .long, help: "Content key (32 hex digits) the sketches are made under. Default: the stored key.")
    var contentKey: String?

    @Option(name: .long, help: "File holding the content key. Default: $DISTILLWATCH_HOME/content.key or ~/.distillwatch/content.key.")
    var contentKeyFile: String?

    func validate() throws {
        if let contentKey, ContentKey(hex: contentKey) == nil {
            throw ValidationError("--content-key must be 32 hexadecimal digits")
        }
    }

    /// - Parameter create: make the key file when missing (indexing); a check needs the key
    ///   the index was made with, so it never makes one.
    func key(create: Bool) throws -> ContentKey {
        if let contentKey, let key = ContentKey(hex: contentKey) { return key }
        let path = contentKeyFile ?? ContentKeyStore.defaultPath()
        do {
            if create {
                let loaded = try ContentKeyStore.loadOrCreate(path: path)
                if loaded.created {
                    var err = StandardError()
                    Swift.print("note: created a new content key at \(path); keep it: checks need the same key", to: &err)
                }
                return loaded.key
            }
            guard let key = try ContentKeyStore.load(path: path) else {
                throw ScanFailure("\(path): no content key; give the key the index was made with (--content-key or --content-key-file)")
            }
            return key
        } catch let error as IngestError {
            throw ScanFailure(error.description)
        }
    }
}

struct ProvenanceIndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Add the answers of traffic files (exchanges with response text) to a provenance index.",
        discussion: """
            Each exchange's `response` is reduced to a keyed MinHash sketch (132 bytes) and stored \
            with its account, time, request id and model; the text is not kept. Exchanges without \
            response text are counted and skipped. Running it again on more files appends.
            """)

    @Argument(help: "Traffic files (JSON Lines, optionally gzip) whose exchanges carry `response`.")
    var traffic: [String] = []

    @Option(name: .long, help: ArgumentHelp("The index file (SQLite; made if missing).", valueName: "path"))
    var index: String

    @Option(name: .long, help: "Input format of the traffic files (as scan).")
    var inputFormat: InputFormat = .v1

    @OptionGroup var key: ProvenanceKeyOptions

    func validate() throws {
        guard !traffic.isEmpty else { throw ValidationError("give at least one traffic file") }
        guard traffic.filter({ $0 == "-" }).count <= 1 else { throw ValidationError("standard input (-) can be read only once") }
    }

    func run() throws {
        try UserFile.refuseRepeats(traffic, what: "traffic file", consequence: "its answers would be indexed twice")
        try UserFile.refuseClashes(outputs: [("--index", index)], inputs: traffic.map { ("traffic file", $0) })
        let started = ContinuousClock.now
        let contentKey = try key.key(create: true)
        let store: ProvenanceIndex
        do {
            store = try ProvenanceIndex(path: index, create: true)
            try store.bind(to: contentKey)
        } catch let error as StoreError {
            throw ScanFailure(error.description)
        }
        var statistics = IngestStatistics()
        var pending: [ServedResponse] = []
        var indexed = 0, withoutText = 0
        var failure: Error?
        let options = IngestOptions(captureText: true, inputFormat: inputFormat)
        for path in traffic {
            do {
                try TrafficIngest.readTraffic(from: InputSource(argument: path), options: options, statistics: &statistics) { exchange in
                    guard failure == nil else { return }
                    guard let text = exchange.response, let sketch = ResponseSketch.of(text, key: contentKey) else {
                        withoutText += 1
                        return
                    }
                    pending.append(ServedResponse(at: exchange.time, accountID: exchange.accountID, requestID: exchange.requestID,
                                                  model: exchange.model, sketch: sketch))
                    if pending.count >= 10_000 {
                        do { try store.append(pending) } catch { failure = error }
                        indexed += pending.count
                        pending.removeAll(keepingCapacity: true)
                    }
                }
            } catch let error as IngestError {
                throw ScanFailure(error.description)
            } catch let error as MalformedLine {
                throw ScanFailure(error.description)
            }
            if let failure { throw ScanFailure("\(index): cannot write the index: \(failure)") }
        }
        do {
            try store.append(pending)
            indexed += pending.count
            let summary = try store.summary()
            try store.close()
            let bytes = (try? FileManager.default.attributesOfItem(atPath: index)[.size] as? Int) ?? 0
            let seconds = Double((ContinuousClock.now - started).components.seconds)
                + Double((ContinuousClock.now - started).components.attoseconds) / 1e18
            var err = StandardError()
            Swift.print("provenance index: \(Wording.counted(indexed, "response")) indexed, \(Wording.counted(withoutText, "exchange")) "
                        + "without response text, \(Wording.counted(statistics.malformedCount, "malformed line")); "
                        + "\(index) holds \(Wording.counted(summary.count, "response")) in \(Wording.number(bytes)) bytes "
                        + "(\(Wording.rounded(Double(seconds), digits: 1)) s)", to: &err)
        } catch {
            throw ScanFailure("\(index): cannot write the index: \(error)")
        }
    }
}

struct ProvenanceCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a dataset of prompt/response pairs against the answers served.",
        discussion: """
            Reads JSON Lines or a JSON array in the common instruction-tuning shapes ({"messages": \
            [...]}, Alpaca's instruction/input/output, ShareGPT's conversations, prompt/completion), \
            sketches each answer under the index's content key, and reports the share of records that \
            reproduce an answer served (copied, truncated or partly paraphrased), to which accounts \
            and campaigns (with --report), when, how closely, and how often an unrelated text would \
            match. Text on standard error; JSON with --json.
            """)

    @Argument(help: "The suspect dataset (JSON Lines or a JSON array, optionally gzip).")
    var dataset: String

    @Option(name: .long, help: ArgumentHelp("A provenance index, or the server's database.", valueName: "path"))
    var index: String

    @Option(name: .long, help: ArgumentHelp("A scan report (scan --json, GET /v1/report) naming the accounts' verdicts and campaigns.", valueName: "path"))
    var report: String?

    @Option(name: .long, help: ArgumentHelp("Write the distillwatch.provenance/1 JSON report here.", valueName: "path|-"))
    var json: String?

    @Option(name: .long, help: ArgumentHelp("Write the report as a self-contained HTML file here.", valueName: "path"))
    var html: String?

    @Option(name: .long, help: "Least estimated share of a record's 3-word shingles found in the answer (default 0.4).")
    var minContainment: Double = 0.4

    @Option(name: .long, help: "Least of the 64 sketch bins that must agree (default 16).")
    var minAgreement: Int = 16

    @Option(name: .long, help: "Matched records listed in the JSON report (default 1000; the counts cover all).")
    var recordsListed: Int = 1_000

    @OptionGroup var key: ProvenanceKeyOptions

    func validate() throws {
        guard (0...1).contains(minContainment) else { throw ValidationError("--min-containment must be between 0 and 1") }
        guard (1...64).contains(minAgreement) else { throw ValidationError("--min-agreement must be from 1 to 64") }
        guard recordsListed >= 0 else { throw ValidationError("--records-listed must not be negative") }
        if let html, html == "-" || html.isEmpty { throw ValidationError("--html takes a file path (the report is one HTML file)") }
        try UserFile.refuseStandardInputTwice([("dataset", dataset), ("scan report", report), ("content key file", key.contentKeyFile)])
    }

    func run() throws {
        try UserFile.refuseClashes(
            outputs: [("--json", json), ("--html", html)],
            inputs: [("dataset", dataset), ("index", index), ("scan report", report), ("content key file", key.contentKeyFile)])
        let contentKey = try key.key(create: false)
        let store: ProvenanceIndex
        do {
            store = try ProvenanceIndex(path: index, create: false)
            if let held = try store.keyFingerprint(), held != ProvenanceIndex.fingerprint(contentKey) {
                throw ScanFailure("\(index): the index was made under another content key (fingerprint \(held)); give that key")
            }
        } catch let error as StoreError {
            throw ScanFailure(error.description)
        }
        let read: (records: [DatasetRecord], problems: [DatasetProblem], lines: Int)
        let data: Data
        do {
            // Read once: the digest below is of these bytes, even when the dataset is a pipe.
            data = try DatasetReader.readWhole(dataset)
            read = try DatasetReader.read(bytes: data, source: dataset)
        } catch let error as IngestError { throw ScanFailure(error.description) }
        var err = StandardError()
        for problem in read.problems.prefix(5) { Swift.print("\(dataset): \(problem)", to: &err) }
        if read.problems.count > 5 { Swift.print("\(dataset): … \(read.problems.count - 5) more records could not be used", to: &err) }

        var sketches: [ResponseSketch?] = []
        var owner: [Int] = []
        for (i, record) in read.records.enumerated() {
            for text in record.responses {
                sketches.append(ResponseSketch.of(text, key: contentKey))
                owner.append(i)
            }
        }
        var matcher = ProvenanceMatcher(records: sketches, thresholds: .init(minimumAgreement: minAgreement, minimumContainment: minContainment))
        do {
            let damaged = try store.forEachSketch { id, sketch in matcher.offer(sketch, id: id) }
            if damaged > 0 { Swift.print("\(index): \(damaged) damaged sketches skipped", to: &err) }
        } catch {
            throw ScanFailure("\(index): cannot read the index: \(error)")
        }
        let matchedIDs = matcher.matches.flatMap { $0.map(\.response) }
        let served: [Int64: ProvenanceReport.Served]
        let summary: (count: Int, first: Timestamp?, last: Timestamp?)
        do {
            served = try store.responses(ids: matchedIDs).mapValues {
                ProvenanceReport.Served(accountID: $0.accountID, requestID: $0.requestID, model: $0.model, at: $0.at)
            }
            summary = try store.summary()
        } catch {
            throw ScanFailure("\(index): cannot read the index: \(error)")
        }
        let known = try report.map(Self.accountsOfReport) ?? [:]
        var shapes: [String: Int] = [:]
        for r in read.records { shapes[r.shape.rawValue, default: 0] += 1 }
        let result = ProvenanceReport.assemble(
            dataset: .init(path: dataset, sha256: SHA256.hash(data: data).lowercaseHex, lines: read.lines, records: read.records.count,
                           problems: read.problems.count, shapes: shapes),
            index: .init(responses: summary.count, firstTime: summary.first, lastTime: summary.last,
                         keyFingerprint: ProvenanceIndex.fingerprint(contentKey)),
            matcher: matcher, recordShapes: read.records.map { ($0.position, $0.shape.rawValue) }, owner: owner, served: served,
            accounts: known, background: matcher.backgroundRate(pairs: 1_000_000), generatedAt: Timestamp(secondsSinceEpoch: Date().timeIntervalSince1970), recordsListed: recordsListed)
        Swift.print(result.text, terminator: "", to: &err)
        if let html {
            do {
                let page = try ConsoleRenderer().provenanceDocument(result)
                try UserFile.write(Data(page.utf8), to: html, what: "HTML report")
            } catch let error as ScanFailure {
                throw error
            } catch {
                throw ScanFailure("\(html): cannot write the HTML report: \(error.localizedDescription)")
            }
        }
        if let json {
            try writeJSON(result, to: json)
        }
    }

    /// The verdict and campaign of each account a scan report (format section 4) lists; only
    /// `accounts[].account_id`, `verdict` and `campaign_id` are read.
    static func accountsOfReport(_ path: String) throws -> [String: (verdict: Verdict, campaignID: String?)] {
        let data = try UserFile.read(path, what: "scan report")
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let accounts = object["accounts"] as? [[String: Any]] else {
            throw ScanFailure("\(path): not a scan report (a JSON object with an accounts list, as scan --json writes)")
        }
        var out: [String: (verdict: Verdict, campaignID: String?)] = [:]
        for (i, a) in accounts.enumerated() {
            guard let id = a["account_id"] as? String, let verdict = (a["verdict"] as? String).flatMap(Verdict.init(rawValue:)) else {
                throw ScanFailure("\(path): accounts[\(i)] needs account_id and a verdict (allow, review, throttle, block)")
            }
            out[id] = (verdict, a["campaign_id"] as? String)
        }
        return out
    }
}
