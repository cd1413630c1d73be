import ArgumentParser
import DistillWatchCore
import DistillWatchIngest
import DistillWatchSharing
import DistillWatchTAXII
import Foundation

/// `distillwatch share`: indicators out (STIX 2.1, MISP) and in (STIX 2.1).
struct ShareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "share",
        abstract: "Share campaign indicators with other providers and authorities (STIX 2.1, MISP), and read theirs.",
        discussion: "Documentation/Sharing.md says what is shared, what never is, and how two providers agree a sharing key.",
        subcommands: [ShareExportCommand.self, ShareRevokeCommand.self, ShareImportCommand.self, SharePullCommand.self,
                      SharePushCommand.self, ShareKeygenCommand.self]
    )
}

/// Reads a sharing-keys file (`NAME SECRET` per line), naming the file and line on error.
func loadSharingKeys(_ path: String?) throws -> [SharingKey] {
    guard let path else { return [] }
    let data = try UserFile.read(path, what: "sharing-keys file")
    do {
        return try SharingKeyFile.parse(String(decoding: data, as: UTF8.self))
    } catch {
        throw ScanFailure("\(path): \(error)")
    }
}

struct ShareKeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Print a new sharing key line (NAME SECRET) to add to both parties' sharing-keys files.")

    @Argument(help: "The key's name, agreed by both parties (e.g. acme-globex-2026q4).")
    var name: String

    func validate() throws {
        guard SharingKey.isValidID(name) else { throw ValidationError("the name must be 1–64 characters of A–Z a–z 0–9 . _ -") }
    }

    func run() throws {
        var generator = SystemRandomNumberGenerator()
        print(SharingKeyFile.newLine(name: name, using: &generator))
    }
}

struct ShareExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export approved campaigns of a scan report as a STIX 2.1 bundle or MISP events.",
        discussion: """
        The traffic (and accounts) the report was made from is read again, in two passes, to gather the \
        campaigns' addresses, networks, clients and keyed fingerprints, and to leave out whatever accounts \
        outside the campaigns also used. Name each campaign to share with --campaign (the analyst's approval). \
        To withdraw what was published, use `share revoke` on the published bundle.
        """)

    @Option(name: .long, help: "The scan report (distillwatch.report.v1 JSON).")
    var report: String

    @Option(name: .long, help: "Traffic the report was made from (JSON Lines, optionally gzip). Repeatable.")
    var traffic: [String] = []

    @Option(name: .long, help: "Account records (for keyed sign-up domains). Repeatable.")
    var accounts: [String] = []

    @Option(name: .long, help: "A campaign to share (its campaign_id in the report). Repeatable; required unless --all-flagged.")
    var campaign: [String] = []

    @Flag(name: .long, help: "Share every campaign the report flags (review or worse).")
    var allFlagged = false

    @Option(name: .long, help: "The producer's name (the STIX identity).")
    var producer: String

    @Option(name: .long, help: "Contact information for the producer's identity.")
    var contact: String?

    @Option(name: .long, help: "TLP 2.0 marking: clear, green, amber, amber+strict, red.")
    var tlp: String = "amber"

    @Option(name: .long, help: "providers (default) or authorities (no account ids, addresses or sign-up domains).")
    var audience: String = "providers"

    @Flag(name: .customLong("include-account-ids"), help: "Include member account ids (providers audience only).")
    var includeAccountIDs = false

    @Option(name: .long, help: "Sharing-keys file (NAME SECRET per line) for keyed fingerprints.")
    var sharingKeys: String?

    @Option(name: .long, help: "stix (default) or misp.")
    var format: String = "stix"

    @Option(name: .long, help: "Write here (a file, or - for standard output).")
    var out: String = "-"

    @Option(name: .long, help: "Export time (RFC 3339), for reproducible output. Default: now.")
    var now: String?

    func validate() throws {
        guard allFlagged || !campaign.isEmpty else {
            throw ValidationError("name the approved campaigns with --campaign ID (or share every flagged one with --all-flagged)")
        }
        guard !traffic.isEmpty else { throw ValidationError("--traffic is required: the indicators come from the traffic the report was made from") }
        guard TrafficLightProtocol(name: tlp) != nil else { throw ValidationError("--tlp must be clear, green, amber, amber+strict or red") }
        guard SharingProfile.Audience(rawValue: audience) != nil else { throw ValidationError("--audience must be providers or authorities") }
        guard ["stix", "misp"].contains(format) else { throw ValidationError("--format must be stix or misp") }
        // STIX 2.1 §4.2: an identity's name is required; a blank one names no producer.
        guard !producer.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw ValidationError("--producer must name the producer (the STIX identity's name), not be blank")
        }
        if let now, Timestamp(rfc3339: now) == nil { throw ValidationError("--now must be an RFC 3339 time") }
        if includeAccountIDs, audience == "authorities" { throw ValidationError("--include-account-ids cannot be used with --audience authorities") }
        // Members first, then outsiders: the traffic and account records are read twice.
        for path in traffic {
            try UserFile.requireRereadable(path, option: "--traffic", why: "share export reads the traffic twice (the campaigns' members, then everyone else)")
        }
        for path in accounts {
            try UserFile.requireRereadable(path, option: "--accounts", why: "share export reads the account records twice")
        }
        try UserFile.refuseStandardInputTwice([("scan report", report), ("sharing keys file", sharingKeys)])
    }

    func run() throws {
        try UserFile.refuseClashes(
            outputs: [("--out", out)],
            inputs: [("scan report", report), ("sharing keys file", sharingKeys)]
                + traffic.map { ("traffic file", $0) } + accounts.map { ("account records file", $0) })
        let data = try UserFile.read(report, what: "scan report")
        let scan: ScanReport
        do {
            scan = try JSONDecoder().decode(ScanReport.self, from: data)
        } catch {
            throw ScanFailure("\(report): not a distillwatch.report.v1 report (\(error))")
        }
        var chosen: [ScanReport.Campaign] = []
        for id in campaign where !chosen.contains(where: { $0.campaignID == id }) {
            guard let c = scan.campaigns.first(where: { $0.campaignID == id }) else {
                throw ScanFailure("\(report): no campaign \(id) (the report has \(scan.campaigns.map(\.campaignID).prefix(10).joined(separator: ", ")))")
            }
            chosen.append(c)
        }
        if allFlagged {
            for c in scan.campaigns where (c.verdict ?? .review).isFlagged && !chosen.contains(where: { $0.campaignID == c.campaignID }) {
                chosen.append(c)
            }
        }
        guard !chosen.isEmpty else { throw ScanFailure("\(report): no flagged campaign to share") }
        let keys = try loadSharingKeys(sharingKeys)
        var profile = SharingProfile(producer: producer)
        profile.producerContact = contact
        profile.tlp = TrafficLightProtocol(name: tlp)!
        profile.audience = SharingProfile.Audience(rawValue: audience)!
        profile.includeAccountIDs = includeAccountIDs
        let time = now.flatMap { Timestamp(rfc3339: $0) } ?? Timestamp(secondsSinceEpoch: Date().timeIntervalSince1970)

        var collector = CampaignObservablesCollector(
            membership: Dictionary(uniqueKeysWithValues: chosen.map { ($0.campaignID, Set($0.accounts)) }), sharingKeys: keys)
        var options = IngestOptions(sketcher: keys.isEmpty ? nil : ContentSketcher(key: ContentKey(k0: 1, k1: 2), sharingKeys: keys))
        options.inputFormat = .auto
        var statistics = IngestStatistics()
        let fallback = chosen.compactMap(\.firstSeen).min() ?? time
        do {
            for path in accounts {
                try TrafficIngest.readAccounts(from: InputSource(argument: path), options: options, statistics: &statistics) {
                    collector.noteMember($0, at: fallback)
                }
            }
            for pass in 0..<2 {
                for path in traffic {
                    let source = InputSource(argument: path)
                    var o = options
                    if o.inputFormat == .auto { o.inputFormat = try InputFormatRecognition.recognise(source).format }
                    try TrafficIngest.readTraffic(from: source, options: o, statistics: &statistics) { e in
                        if pass == 0 { collector.noteMember(e) } else { collector.noteOutsider(e) }
                    }
                }
            }
            for path in accounts {
                try TrafficIngest.readAccounts(from: InputSource(argument: path), options: options, statistics: &statistics) {
                    collector.noteOutsider($0)
                }
            }
        } catch let error as IngestError {
            throw ScanFailure(error.description)
        }
        for c in chosen where collector.campaigns[c.campaignID]?.exchanges == 0 {
            var err = StandardError()
            Swift.print("warning: no exchange of \(c.campaignID)'s \(c.accounts.count) accounts in the traffic given: is it the traffic the report was made from?", to: &err)
        }
        let authorities = profile.audience == .authorities
        let drafts = chosen.map { c -> SharedCampaignDraft in
            var d = IndicatorSelection.select(collector.campaigns[c.campaignID]!, campaign: c, policy: profile.selection,
                                              includeAddresses: !authorities, includeEmailDomains: !authorities)
            if includeAccountIDs { d.memberAccountIDs = c.accounts.sorted() }
            return d
        }
        let document: Any
        if format == "misp" {
            guard drafts.count == 1 else { throw ScanFailure("a MISP event holds one campaign: name one with --campaign") }
            document = MISPEventBuilder(profile: profile, now: time).event(drafts[0])
        } else {
            document = STIXBundleBuilder(profile: profile, now: time).bundle(drafts)
        }
        try writeJSONObject(document, to: out)
        if out != "-" {
            var err = StandardError()
            let counts = drafts.map { d -> String in
                var byKind: [String: Int] = [:]
                for i in d.indicators { byKind[i.kind.label, default: 0] += 1 }
                let kinds = byKind.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                return "\(d.campaign.campaignID): \(d.indicators.count) indicator\(d.indicators.count == 1 ? "" : "s") (\(kinds))"
            }
            Swift.print("wrote \(out) (\(format == "misp" ? "MISP event" : "STIX 2.1 bundle"), \(profile.tlp.rawValue)): "
                        + counts.joined(separator: "; "), to: &err)
        }
    }
}

struct ShareRevokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Withdraw a published STIX bundle: write revoked new versions of its campaigns' objects.",
        discussion: "Recipients that read the result (share import, scan --indicators, a TAXII feed) stop matching every indicator of the bundle. The producer's identity, the shared attack-pattern and the marking and extension definitions are not revoked; observables have no revocation in STIX and are left out.")

    @Argument(help: "The bundle that was published.")
    var bundle: String

    @Option(name: .long, help: "Write here (a file, or - for standard output).")
    var out: String = "-"

    @Option(name: .long, help: "Revocation time (RFC 3339). Default: now.")
    var now: String?

    func validate() throws {
        if let now, Timestamp(rfc3339: now) == nil { throw ValidationError("--now must be an RFC 3339 time") }
    }

    func run() throws {
        try UserFile.refuseClashes(outputs: [("--out", out)], inputs: [("published bundle", bundle)])
        let data = try UserFile.read(bundle, what: "STIX bundle")
        do {
            _ = try STIXBundleReader().read(data)
        } catch {
            throw ScanFailure("\(bundle): \(error.message)")
        }
        let parsed = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let objects = (parsed["objects"] as? [Any] ?? []).compactMap { $0 as? [String: Any] }
        let time = now.flatMap { Timestamp(rfc3339: $0) } ?? Timestamp(secondsSinceEpoch: Date().timeIntervalSince1970)
        let revoked: [[String: Any]]
        do {
            revoked = try STIXBundleBuilder.revocation(of: objects, at: time)
        } catch {
            throw ScanFailure("\(bundle): \(error)")
        }
        guard !revoked.isEmpty else { throw ScanFailure("\(bundle): nothing to revoke (no campaign objects, or all already revoked)") }
        // What the revoked objects refer to, unchanged, so the bundle stands on its own.
        let context = objects.filter { ["identity", "marking-definition", "extension-definition"].contains($0["type"] as? String ?? "") }
        let producer = (objects.first { $0["type"] as? String == "identity" }?["name"] as? String) ?? "producer"
        let document = STIXBundleBuilder.bundle(of: context + revoked, producer: producer, at: time)
        try writeJSONObject(document, to: out)
        if out != "-" {
            var err = StandardError()
            Swift.print("wrote \(out): \(revoked.count) objects revoked", to: &err)
        }
    }
}

struct ShareImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Read STIX 2.1 bundles from other providers: check every object and list what the engine will match.",
        discussion: "Problems are listed per object (position and id) and never stop the rest of the bundle. Use the bundles with `scan --indicators`.")

    @Argument(help: "STIX 2.1 bundle files, read in order (a later revocation withdraws an earlier indicator).")
    var bundles: [String]

    @Option(name: .long, help: "Sharing-keys file: says which keyed indicators this installation can match.")
    var sharingKeys: String?

    func run() throws {
        let keys = try loadSharingKeys(sharingKeys)
        let library = try loadIndicatorBundles(bundles, quiet: false)
        let indicators = library.indicators
        var byKind: [String: Int] = [:]
        var unmatchedKeys = Set<String>()
        for i in indicators {
            for c in i.comparisons {
                let kind: String
                switch c {
                case .address: kind = "addresses and blocks"
                case .autonomousSystem: kind = "autonomous systems"
                case .userAgent: kind = "user agents"
                case .clientFingerprint: kind = "client fingerprints"
                case .templateBand(let k, _), .systemPrompt(let k, _), .emailDomain(let k, _):
                    kind = "keyed fingerprints (\(k))"
                    if !keys.contains(where: { $0.id == k }) { unmatchedKeys.insert(k) }
                }
                byKind[kind, default: 0] += 1
            }
        }
        print("\(indicators.count) indicator\(indicators.count == 1 ? "" : "s") to match, \(library.revoked.count) revoked")
        for (kind, n) in byKind.sorted(by: { $0.key < $1.key }) { print("  \(kind): \(n)") }
        for k in unmatchedKeys.sorted() {
            print("note: keyed fingerprints under sharing key \(k) cannot be matched: it is not in \(sharingKeys ?? "a --sharing-keys file")")
        }
    }
}

/// Reads STIX bundles in order into one library, printing each bundle's problems (per
/// object) to standard error. A file that is not a bundle at all is an error.
func loadIndicatorBundles(_ paths: [String], quiet: Bool) throws -> SharedIndicatorLibrary {
    var library = SharedIndicatorLibrary()
    let reader = STIXBundleReader()
    var err = StandardError()
    for path in paths {
        let data = try UserFile.read(path, what: "STIX bundle")
        let result: STIXBundleReader.Result
        do {
            result = try reader.read(data)
        } catch {
            throw ScanFailure("\(path): \(error.message)")
        }
        for p in result.problems { Swift.print("\(path): \(p)", to: &err) }
        if !quiet {
            let types = result.objectsByType.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            Swift.print("\(path): \(result.indicators.count) indicators read, \(result.revoked.count) revoked, "
                        + "\(result.problems.count) problem\(result.problems.count == 1 ? "" : "s")"
                        + (result.unsupportedComparisons > 0 ? ", \(result.unsupportedComparisons) comparisons not matched" : "")
                        + " (\(types))", to: &err)
        }
        library.add(result)
    }
    return library
}

/// How the TAXII commands authenticate: secrets come from the environment, never from
/// the command line (where other users of the machine could read them).
struct TAXIIAuthenticationOptions: ParsableArguments {
    @Option(name: .long, help: "Environment variable holding a bearer token (DistillWatch's TAXII server).")
    var bearerEnv: String?

    @Option(name: .long, help: "User for HTTP Basic authentication (medallion and most TAXII servers).")
    var user: String?

    @Option(name: .long, help: "Environment variable holding the Basic password.")
    var passwordEnv: String?

    @Option(name: .long, help: "Environment variable holding an API key sent as `Authorization: Token KEY`.")
    var tokenEnv: String?

    func authentication() throws -> TAXIIClient.Authentication {
        func secret(_ name: String) throws -> String {
            guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else {
                throw ScanFailure("environment variable \(name) is not set")
            }
            return v
        }
        let chosen = [bearerEnv != nil, user != nil || passwordEnv != nil, tokenEnv != nil].filter { $0 }.count
        guard chosen <= 1 else { throw ScanFailure("choose one of --bearer-env, --user/--password-env and --token-env") }
        if let bearerEnv { return .bearer(try secret(bearerEnv)) }
        if let tokenEnv { return .token(try secret(tokenEnv)) }
        if let user {
            guard let passwordEnv else { throw ScanFailure("--user needs --password-env") }
            return .basic(user: user, password: try secret(passwordEnv))
        }
        return .none
    }
}

/// Runs async work from a synchronous command and waits for it.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = BlockingBox<T>()
    Task {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        box.done.signal()
    }
    box.done.wait()
    return try box.result!.get()
}

/// The result of ``runBlocking(_:)``: written by the task before it signals, read after.
final class BlockingBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
    let done = DispatchSemaphore(value: 0)
}

struct SharePullCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Read a TAXII 2.1 collection into a STIX bundle (incrementally with --state).",
        discussion: "Follows the server's pages (`next`); with --state, asks only for objects added after the last pull (`added_after`, from X-TAXII-Date-Added-Last). Use the bundle with `scan --indicators` or `share import`.")

    @Argument(help: "The API root's URL (e.g. http://127.0.0.1:5000/api1/ or https://dw.example/taxii2/api/).")
    var apiRoot: String

    @Option(name: .long, help: "The collection's id.")
    var collection: String

    @OptionGroup var auth: TAXIIAuthenticationOptions

    @Option(name: .long, help: "Only objects added after this time (RFC 3339).")
    var addedAfter: String?

    @Option(name: .long, help: "File remembering where the last pull of each collection stopped (made if missing).")
    var state: String?

    @Option(name: .long, help: "Write the bundle here (a file, or - for standard output).")
    var out: String = "-"

    func run() throws {
        try UserFile.refuseClashes(outputs: [("--out", out), ("--state", state)], inputs: [])
        let client = TAXIIClient(apiRoot: apiRoot, collectionID: collection, authentication: try auth.authentication())
        var remembered: [String: String] = [:]
        // A pull-state file that exists but cannot be read is an error, not a first pull:
        // pulling everything again would hide it.
        if let state, let data = try UserFile.readIfPresent(state, what: "pull-state file", maximumBytes: 64 << 20) {
            guard let map = try? JSONSerialization.jsonObject(with: data) as? [String: String] else {
                throw ScanFailure("\(state): not a pull-state file (a JSON object of collection URL → last date added)")
            }
            remembered = map
        }
        let after = addedAfter ?? remembered[client.collectionURL]
        let pulled: TAXIIClient.Pulled
        do {
            pulled = try runBlocking { try await client.pull(addedAfter: after) }
        } catch let failure as TAXIIClient.Failure {
            throw ScanFailure(failure.description)
        }
        let now = Timestamp(secondsSinceEpoch: Date().timeIntervalSince1970)
        let bundle = STIXBundleBuilder.bundle(of: pulled.objects, producer: client.collectionURL, at: now)
        try writeJSONObject(bundle, to: out)
        if let state, let last = pulled.lastAdded {
            remembered[client.collectionURL] = last
            try writeJSONObject(remembered, to: state)
        }
        var err = StandardError()
        Swift.print("pulled \(pulled.objects.count) objects in \(pulled.pages) page\(pulled.pages == 1 ? "" : "s") from \(client.collectionURL)"
                    + (after.map { " added after \($0)" } ?? "") + (pulled.lastAdded.map { "; last added \($0)" } ?? ""), to: &err)
        if let reason = pulled.stoppedEarly {
            Swift.print("warning: the pull stopped before the end of the collection (\(reason)); "
                        + "the bundle holds what was read up to there", to: &err)
        }
        if let state, !pulled.objects.isEmpty, pulled.lastAdded == after {
            Swift.print("warning: the server sent no usable X-TAXII-Date-Added-Last (TAXII 2.1 §5.4.1; an RFC 3339 time), so \(state) was not "
                        + "advanced: the next pull reads these objects again", to: &err)
        }
    }
}

struct SharePushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Add a STIX bundle's objects to a TAXII 2.1 collection and print the status resource.")

    @Argument(help: "The API root's URL.")
    var apiRoot: String

    @Argument(help: "The STIX 2.1 bundle to publish.")
    var bundle: String

    @Option(name: .long, help: "The collection's id.")
    var collection: String

    @OptionGroup var auth: TAXIIAuthenticationOptions

    @Option(name: .long, help: "Leave out objects of this STIX type. Repeatable. (medallion 3.0.0 cannot serve an extension-definition: it reads its version property as a timestamp; --omit-type extension-definition works around it.)")
    var omitType: [String] = []

    func run() throws {
        let data = try UserFile.read(bundle, what: "STIX bundle")
        do {
            _ = try STIXBundleReader().read(data)
        } catch {
            throw ScanFailure("\(bundle): \(error.message)")
        }
        let parsed = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let objects = (parsed["objects"] as? [Any] ?? []).compactMap { $0 as? [String: Any] }
            .filter { !omitType.contains($0["type"] as? String ?? "") }
        let client = TAXIIClient(apiRoot: apiRoot, collectionID: collection, authentication: try auth.authentication())
        let payload = try JSONSerialization.data(withJSONObject: objects)
        let status: [String: Any]
        do {
            status = try runBlocking {
                let list = try JSONSerialization.jsonObject(with: payload) as! [[String: Any]]
                return try SendableJSON(await client.add(objects: list))
            }.value
        } catch let failure as TAXIIClient.Failure {
            throw ScanFailure(failure.description)
        }
        try writeJSONObject(status, to: "-")
        // TAXII 2.1 §4.3.1: a status resource counts its objects; one without the counts,
        // or still pending, does not confirm the push.
        guard let failures = status["failure_count"] as? Int, let pending = status["pending_count"] as? Int else {
            throw ScanFailure("the server's status resource has no integer failure_count and pending_count: the push is not confirmed")
        }
        if failures > 0 { throw ScanFailure("\(failures) of \(objects.count) objects were refused (see failures above)") }
        if pending > 0 {
            var err = StandardError()
            Swift.print("warning: \(pending) of \(objects.count) objects are still pending; read the status resource "
                        + "(GET \(apiRoot.hasSuffix("/") ? apiRoot : apiRoot + "/")status/\(status["id"] as? String ?? "ID")/) to confirm them", to: &err)
        }
    }
}

/// A JSON object carried across a task boundary (JSONSerialization's values are immutable).
struct SendableJSON: @unchecked Sendable {
    let value: [String: Any]
    init(_ value: [String: Any]) { self.value = value }
}
