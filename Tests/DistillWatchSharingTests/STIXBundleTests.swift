import DistillWatchCore
import Foundation
import Testing

@testable import DistillWatchSharing

/// A small campaign at provider A and honest traffic around it, fingerprinted under one
/// sharing key, gathered and exported as a STIX bundle, then read back.
struct SharingFixture {
    static let key = SharingKey(id: "acme-globex-test", secretHex: "0f1e2d3c4b5a69788796a5b4c3d2e1f0")!
    static let start = Timestamp(rfc3339: "2026-04-01T00:00:00Z")!
    static let canaryPrompt = "CANARY-PROMPT-7731 please"
    static let members = (0..<6).map { "acct-CANARY-\($0)" }

    static func template(_ item: Int, _ wording: Int) -> String {
        let verbs = ["Solve", "Work through", "Answer"]
        return "\(canaryPrompt). You are generating supervised training data for a reasoning model. \(verbs[wording % 3]) the following "
            + "problem step by step, show every intermediate result on its own line, state each assumption explicitly and "
            + "box the final answer. Problem \(item): a tank fills at \(item % 9 + 2) litres a minute and drains at \(item % 5 + 1); when is it full?"
    }

    static func exchanges() -> (members: [Exchange], outsiders: [Exchange]) {
        let sketcher = ContentSketcher(key: ContentKey(k0: 5, k1: 6), sharingKeys: [key])
        var members: [Exchange] = []
        var t = start
        for i in 0..<120 {
            t = t.adding(seconds: 37)
            let account = Self.members[i % Self.members.count]
            var e = Exchange(time: t, accountID: account, outputTokens: 900)
            e.clientIP = i % 2 == 0 ? "203.0.113.\(10 + i % 6)" : "2001:db8:7::\(i % 4 + 1)"
            e.asn = 64501
            e.userAgent = "harvest-harness/2.1"
            e.clientFingerprint = "t13d1516h2_8daaf6152771_02713d6af862"
            e.prompt = template(i, i % 3)
            e.system = "You are a data generator."
            members.append(e.sketched(by: sketcher))
        }
        var outsiders: [Exchange] = []
        for i in 0..<40 {
            var e = Exchange(time: start.adding(seconds: Double(60 * i)), accountID: "honest-\(i % 4)", outputTokens: 200)
            e.clientIP = "198.51.100.\(i % 3 + 1)"
            e.asn = 64502
            e.userAgent = "curl/8.5"
            e.prompt = "What is a good name for a cat that likes boxes? Give three ideas, number \(i)."
            outsiders.append(e.sketched(by: sketcher))
        }
        // An honest account behind one of the campaign's exits: that address must not be shared.
        var shared = Exchange(time: start.adding(seconds: 90), accountID: "honest-resident", outputTokens: 200)
        shared.clientIP = "203.0.113.10"
        outsiders.append(shared)
        return (members, outsiders)
    }

    static var campaign: ScanReport.Campaign {
        let json = """
        {"campaign_id": "campaign-7", "score": 0.96, "verdict": "block", "accounts": \(members.map { "\"\($0)\"" }),
         "first_seen": "2026-04-01T00:00:00Z", "first_flagged_at": "2026-04-01T01:00:00Z", "last_seen": "2026-04-01T01:14:00Z",
         "exchanges": 120, "output_tokens": 108000, "capabilities": {"reasoning": 0.8, "coding": 0.2},
         "evidence": [{"kind": "template_family", "detail": "shared template", "accounts": 6}]}
        """
        return try! JSONDecoder().decode(ScanReport.Campaign.self, from: Data(json.utf8))
    }

    static func draft(policy: IndicatorSelectionPolicy = IndicatorSelectionPolicy(), addresses: Bool = true) -> SharedCampaignDraft {
        var collector = CampaignObservablesCollector(membership: ["campaign-7": Set(members)], sharingKeys: [key])
        let (m, o) = exchanges()
        for e in m + o { collector.noteMember(e) }
        for e in m + o { collector.noteOutsider(e) }
        return IndicatorSelection.select(collector.campaigns["campaign-7"]!, campaign: campaign, policy: policy, includeAddresses: addresses)
    }

    static func bundleData(_ profile: SharingProfile = SharingProfile(producer: "Acme AI"), now: String = "2026-04-02T00:00:00Z",
                           revoked: Bool = false, drafts: [SharedCampaignDraft]? = nil) throws -> Data {
        let time = Timestamp(rfc3339: now)!
        var bundle = STIXBundleBuilder(profile: profile, now: time).bundle(drafts ?? [draft(addresses: profile.audience == .providers)])
        if revoked {
            let objects = bundle["objects"] as! [[String: Any]]
            bundle = STIXBundleBuilder.bundle(of: try STIXBundleBuilder.revocation(of: objects, at: time), producer: profile.producer, at: time)
        }
        return try JSONSerialization.data(withJSONObject: bundle, options: [.sortedKeys])
    }
}

@Suite struct STIXBundleTests {
    @Test func exportedIndicatorsReadBackAsTheSameComparisons() throws {
        let draft = SharingFixture.draft()
        let kinds = draft.indicators.map(\.kind.label)
        #expect(kinds.contains("addresses") && kinds.contains("user agents") && kinds.contains("client fingerprints"))
        #expect(kinds.contains("prompt-template family (keyed, acme-globex-test)"))
        #expect(kinds.contains("system prompts (keyed, acme-globex-test)"))
        #expect(kinds.contains("autonomous systems"))
        // The exit an honest account also used is not published.
        let addresses = draft.indicators.flatMap(\.addresses)
        #expect(!addresses.contains(IPPrefix("203.0.113.10")!))
        #expect(addresses.contains(IPPrefix("203.0.113.12")!))

        let data = try SharingFixture.bundleData(drafts: [draft])
        let result = try STIXBundleReader().read(data)
        #expect(result.problems.isEmpty, "\(result.problems)")
        #expect(result.unsupportedComparisons == 0)
        #expect(Set(result.indicators.flatMap(\.comparisons)) == Set(draft.indicators.flatMap(\.comparisons)))
        #expect(result.indicators.allSatisfy { $0.source == "Acme AI" && $0.campaign == "Acme AI campaign-7" && $0.tlp == "TLP:AMBER" })
        #expect(result.objectsByType["campaign"] == 1 && result.objectsByType["attack-pattern"] == 1)
        #expect(result.objectsByType["distillwatch-keyed-fingerprint", default: 0] > 0)
    }

    @Test func aBundleCarriesNoPromptTextAndNoAccountIDsUnlessAsked() throws {
        let text = String(decoding: try SharingFixture.bundleData(), as: UTF8.self)
        #expect(!text.contains("CANARY"))
        #expect(!text.contains("tank fills"))
        #expect(!text.contains("data generator"))
        var profile = SharingProfile(producer: "Acme AI")
        profile.includeAccountIDs = true
        var draft = SharingFixture.draft()
        draft.memberAccountIDs = SharingFixture.members
        let withIDs = String(decoding: try SharingFixture.bundleData(profile, drafts: [draft]), as: UTF8.self)
        #expect(withIDs.contains("acct-CANARY-0"))
        #expect(!withIDs.contains("CANARY-PROMPT"))
        // Authorities never get account ids or addresses, even when asked.
        profile.audience = .authorities
        let authorities = String(decoding: try SharingFixture.bundleData(profile, drafts: [SharingFixture.draft(addresses: false)]), as: UTF8.self)
        #expect(!authorities.contains("acct-CANARY") && !authorities.contains("ipv4-addr:value") && !authorities.contains("ipv6-addr:value"))
    }

    @Test func reExportKeepsIdsAndMovesModified() throws {
        func objects(_ data: Data) throws -> [String: [String: Any]] {
            let bundle = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            return Dictionary(uniqueKeysWithValues: (bundle["objects"] as! [[String: Any]]).map { ($0["id"] as! String, $0) })
        }
        let first = try objects(try SharingFixture.bundleData(now: "2026-04-02T00:00:00Z"))
        let second = try objects(try SharingFixture.bundleData(now: "2026-04-05T00:00:00Z"))
        #expect(Set(first.keys) == Set(second.keys))
        let campaign = first.keys.first { $0.hasPrefix("campaign--") }!
        #expect(first[campaign]!["created"] as? String == second[campaign]!["created"] as? String)
        #expect(second[campaign]!["modified"] as? String == "2026-04-05T00:00:00.000Z")
        // Identifiers are UUIDv5 (version nibble 5).
        #expect(campaign.dropFirst("campaign--".count + 14).first == "5")
    }

    @Test func aRevokedVersionWithdrawsTheIndicatorsInALaterRead() throws {
        var library = SharedIndicatorLibrary()
        let reader = STIXBundleReader()
        library.add(try reader.read(try SharingFixture.bundleData(now: "2026-04-02T00:00:00Z")))
        #expect(!library.indicators.isEmpty)
        let revoked = try reader.read(try SharingFixture.bundleData(now: "2026-04-03T00:00:00Z", revoked: true))
        #expect(revoked.indicators.isEmpty && !revoked.revoked.isEmpty)
        library.add(revoked)
        #expect(library.indicators.isEmpty)
        // The shared attack-pattern and the producer's identity are not revoked.
        let revokedBundle = try JSONSerialization.jsonObject(with: try SharingFixture.bundleData(now: "2026-04-03T00:00:00Z", revoked: true)) as! [String: Any]
        let types = Set((revokedBundle["objects"] as! [[String: Any]]).map { $0["type"] as! String })
        #expect(!types.contains("attack-pattern") && !types.contains("identity") && types.contains("indicator"))
        // A re-export after more traffic updates the same ids (but address groups), so a
        // revocation of the newer export withdraws the older one too.
        var later = SharingFixture.draft()
        later.indicators = later.indicators.map { var i = $0; i.validUntil = i.validUntil.adding(seconds: 86_400); return i }
        let olderIDs = Set(try reader.read(try SharingFixture.bundleData(now: "2026-04-02T00:00:00Z")).indicators.filter { !$0.comparisons.contains { if case .address = $0 { return true } else { return false } } }.map(\.id))
        let newerIDs = Set(try reader.read(try SharingFixture.bundleData(now: "2026-04-04T00:00:00Z", drafts: [later])).indicators.map(\.id))
        #expect(olderIDs.isSubset(of: newerIDs))
        // A stale (older) unrevoked copy read afterwards does not bring them back.
        library.add(try reader.read(try SharingFixture.bundleData(now: "2026-04-02T00:00:00Z")))
        #expect(library.indicators.isEmpty)
    }

    @Test func hostileObjectsAreReportedOneByOneAndTheRestIsRead() throws {
        let good = try JSONSerialization.jsonObject(with: try SharingFixture.bundleData()) as! [String: Any]
        var objects = good["objects"] as! [Any]
        let goodIndicators = try STIXBundleReader().read(try SharingFixture.bundleData()).indicators.count
        func indicator(_ id: String, _ pattern: Any, spec: Any = "2.1", patternType: String = "stix", from: String = "2026-04-01T00:00:00Z", until: String? = nil) -> [String: Any] {
            var o: [String: Any] = ["type": "indicator", "spec_version": spec, "id": id, "created": "2026-04-01T00:00:00Z",
                                    "modified": "2026-04-01T00:00:00Z", "pattern": pattern, "pattern_type": patternType, "valid_from": from]
            if let until { o["valid_until"] = until }
            return o
        }
        let hostile: [Any] = [
            "not an object",
            ["type": "indicator"],
            indicator("indicator--not-a-uuid", "[ipv4-addr:value = '1.2.3.4']"),
            indicator("indicator--11111111-1111-4111-8111-111111111111", "[ipv4-addr:value = '1.2.3.4']", spec: "2.0"),
            indicator("indicator--22222222-2222-4222-8222-222222222222", "[ipv4-addr:value = '1.2.3.4'"),
            indicator("indicator--33333333-3333-4333-8333-333333333333", "[ipv4-addr:value = '999.2.3.4']"),
            indicator("indicator--44444444-4444-4444-8444-444444444444", "[file:hashes.MD5 = 'abc']"),
            indicator("indicator--55555555-5555-4555-8555-555555555555", "[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [ipv4-addr:value = '1.2.3.5']"),
            indicator("indicator--66666666-6666-4666-8666-666666666666", "alert tcp any", patternType: "snort"),
            indicator("indicator--77777777-7777-4777-8777-777777777777", "[ipv4-addr:value = '1.2.3.4']", until: "2026-03-01T00:00:00Z"),
            indicator("indicator--88888888-8888-4888-8888-888888888888", 42),
            indicator("indicator--99999999-9999-4999-8999-999999999999", "[distillwatch-keyed-fingerprint:value = 'zz']"),
            ["type": "x-unknown-thing", "id": "x-unknown-thing--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "spec_version": "2.1"],
            indicator("indicator--bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb", String(repeating: "[ipv4-addr:value = '1.2.3.4'] OR ", count: 40_000) + "[ipv4-addr:value = '1.2.3.4']"),
        ]
        objects.insert(contentsOf: hostile, at: 1)
        var bundle = good
        bundle["objects"] = objects
        let result = try STIXBundleReader().read(try JSONSerialization.data(withJSONObject: bundle))
        #expect(result.indicators.count == goodIndicators)
        #expect(result.problems.count == hostile.count)
        let messages = result.problems.map(\.description)
        #expect(messages.contains { $0.hasPrefix("objects[1]") && $0.contains("not a JSON object") })
        #expect(messages.contains { $0.contains("spec_version is '2.0'") })
        #expect(messages.contains { $0.contains("indicator--22222222") && $0.contains("expected AND, OR or ]") })
        #expect(messages.contains { $0.contains("indicator--44444444") && $0.contains("no comparison DistillWatch can match") })
        #expect(messages.contains { $0.contains("FOLLOWEDBY") })
        #expect(messages.contains { $0.contains("pattern_type 'snort'") })
        #expect(messages.contains { $0.contains("valid_until is not after valid_from") })
        #expect(messages.contains { $0.contains("16 hexadecimal digits") })
        #expect(messages.contains { $0.contains("x-unknown-thing") && $0.contains("not one DistillWatch reads") })
        #expect(messages.contains { $0.contains("indicator--bbbbbbbb") && $0.contains("longer than") })
        // A collection keeps valid STIX it does not evaluate (FOLLOWEDBY, another pattern
        // language, other objects), and refuses what is malformed.
        let (read, valid) = try STIXBundleReader().read(objects: hostile)
        let kept = Set(valid.compactMap { (hostile[$0] as? [String: Any])?["id"] as? String })
        #expect(kept == ["indicator--44444444-4444-4444-8444-444444444444", "indicator--55555555-5555-4555-8555-555555555555",
                         "indicator--66666666-6666-4666-8666-666666666666"], "\(read.problems)")
    }

    @Test(arguments: ["", "[]", "{}", "{\"type\":\"report\"}", "{\"type\":\"bundle\",\"id\":\"bundle--x\",\"objects\":[]}",
                      "{\"type\":\"bundle\",\"id\":\"bundle--11111111-1111-4111-8111-111111111111\"}", "[1,2"])
    func whatIsNotABundleIsOneClearError(_ text: String) {
        #expect(throws: STIXBundleReader.BundleError.self) { try STIXBundleReader().read(Data(text.utf8)) }
    }

    @Test func oversizedBundlesAreRefusedBeforeParsing() {
        var reader = STIXBundleReader()
        reader.limits.maximumBytes = 1_000
        #expect(throws: STIXBundleReader.BundleError.self) { try reader.read(Data(repeating: 0x20, count: 1_001)) }
    }

    @Test func theMISPEventCarriesTheSameIndicators() throws {
        let draft = SharingFixture.draft()
        let event = MISPEventBuilder(profile: SharingProfile(producer: "Acme AI"), now: Timestamp(rfc3339: "2026-04-02T00:00:00Z")!).event(draft)
        let e = event["Event"] as! [String: Any]
        let attributes = e["Attribute"] as! [[String: Any]]
        let values = Set(attributes.map { $0["value"] as! String })
        #expect(values.contains("203.0.113.12") && values.contains("AS64501") && values.contains("harvest-harness/2.1"))
        #expect(!values.contains("203.0.113.10"))
        let keyed = draft.indicators.filter(\.kind.isKeyed).flatMap(\.fingerprints).map(fingerprintHex)
        #expect(Set(keyed).isSubset(of: values))
        #expect((e["Tag"] as! [[String: Any]]).contains { $0["name"] as? String == "tlp:amber" })
        let text = String(decoding: try JSONSerialization.data(withJSONObject: event), as: UTF8.self)
        #expect(!text.contains("CANARY"))
    }
}

/// Reproductions of a hostile review: versions ordered by time, not text; revocation on a
/// tie; addresses that are the whole Internet; keyed comparisons other than equality.
@Suite struct STIXReaderEdgeTests {
    func indicator(_ id: String, modified: String, revoked: Any? = nil, pattern: String = "[autonomous-system:number = 4243]") -> [String: Any] {
        var o: [String: Any] = ["type": "indicator", "spec_version": "2.1", "id": id, "created": "2026-03-01T00:00:00Z", "modified": modified,
                                "pattern": pattern, "pattern_type": "stix", "valid_from": "2026-03-01T00:00:00Z"]
        if let revoked { o["revoked"] = revoked }
        return o
    }
    let id = "indicator--12345678-1234-4234-8234-123456789abc"

    @Test func theLatestVersionIsTheLatestTimeNotTheLargestText() throws {
        for (first, second) in [("2026-03-01T00:00:00Z", "2026-03-01T00:00:00.500Z"), ("2026-03-01T10:00:00Z", "2026-03-01T09:30:00-01:00"),
                                ("2026-03-01T00:00:00.000001Z", "2026-03-01T00:00:00.000002Z")] {
            let (read, _) = try STIXBundleReader().read(objects: [indicator(id, modified: first), indicator(id, modified: second, revoked: true)])
            #expect(read.indicators.isEmpty && read.revoked == [id], "\(first) then \(second)")
        }
        // Equal times: the revocation wins, whatever the order.
        let (tie, _) = try STIXBundleReader().read(objects: [indicator(id, modified: "2026-03-01T00:00:00Z", revoked: true), indicator(id, modified: "2026-03-01T00:00:00Z")])
        #expect(tie.indicators.isEmpty && tie.revoked == [id])
        let (text, _) = try STIXBundleReader().read(objects: [indicator(id, modified: "2026-03-01T00:00:00Z", revoked: "true")])
        #expect(text.problems.map(\.message) == ["revoked must be true or false, not 'true'"] && text.indicators.isEmpty)
    }

    /// Reproductions of a third hostile review: a number is not a boolean, a marking that
    /// cannot be read is not dropped, a key compared twice, a revocation past 9999, and
    /// messages that say what the value was and where the JSON breaks.
    @Test func numbersAreNotBooleansAndUnreadableMarkingsAreNotDropped() throws {
        for number in [1, 0] as [Any] + [1.0 as Any] {
            let (read, _) = try STIXBundleReader().read(objects: [indicator(id, modified: "2026-03-02T00:00:00Z", revoked: number)])
            #expect(read.revoked.isEmpty && read.indicators.isEmpty, "\(number)")
            #expect(read.problems.map(\.message).first?.hasPrefix("revoked must be true or false, not the number") == true, "\(read.problems)")
        }
        let (real, _) = try STIXBundleReader().read(objects: [indicator(id, modified: "2026-03-02T00:00:00Z", revoked: true)])
        #expect(real.revoked == [id])
        let red = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
        var marked = indicator(id, modified: "2026-03-02T00:00:00Z")
        marked["object_marking_refs"] = [red, 5] as [Any]
        let (mixed, _) = try STIXBundleReader().read(objects: [marked])
        #expect(mixed.indicators.isEmpty && mixed.problems.first?.message.hasPrefix("object_marking_refs must be a list of marking-definition ids") == true,
                "\(mixed.problems)")
        marked["object_marking_refs"] = [red]
        #expect(try STIXBundleReader().read(objects: [marked]).0.indicators.first?.tlp == "TLP:RED")
        var numbered = indicator(id, modified: "2026-03-02T00:00:00Z")
        numbered["spec_version"] = 2.1
        numbered["pattern_type"] = 5
        #expect(try STIXBundleReader().read(objects: [numbered]).0.problems.map(\.message)
                == ["spec_version is the number 2.1; only STIX 2.1 (the text \"2.1\") is read"])
        numbered["spec_version"] = "2.1"
        #expect(try STIXBundleReader().read(objects: [numbered]).0.problems.map(\.message) == ["pattern_type the number 5 is not matched (only stix)"])
    }

    @Test func aKeyOrKindComparedTwiceInOneObservationIsAProblem() throws {
        let t = STIXPattern.keyedFingerprintType
        for pattern in ["[\(t):value = '0011223344556677' AND \(t):key_id = 'a' AND \(t):key_id = 'b' AND \(t):kind = 'system-prompt']",
                        "[\(t):value = '0011223344556677' AND \(t):key_id = 'a' AND \(t):kind = 'system-prompt' AND \(t):kind = 'template-band']"] {
            #expect(performing: { try STIXPattern.parse(pattern) }, throws: { "\($0)".contains("which nothing can match") })
        }
        // The same key twice is only redundant.
        #expect(try STIXPattern.parse("[\(t):value = '0011223344556677' AND \(t):key_id = 'a' AND \(t):key_id = 'a' AND \(t):kind = 'system-prompt']")
                .comparisons.count == 1)
    }

    @Test func anIPv4MappedIPv6AddressIsTheIPv4HostItMaps() throws {
        let p = try STIXPattern.parse("[ipv6-addr:value = '::ffff:198.51.100.7']")
        #expect(p.comparisons == [.address(IPPrefix("198.51.100.7")!)])
        // An IPv4 value is still not an ipv6-addr, nor the reverse.
        #expect(throws: STIXPattern.Problem.self) { try STIXPattern.parse("[ipv6-addr:value = '198.51.100.7']") }
        #expect(throws: STIXPattern.Problem.self) { try STIXPattern.parse("[ipv4-addr:value = '2001:db8::1']") }
    }

    @Test func aRevocationThatWouldPassTheYear9999IsRefusedNotWritten() throws {
        let last = indicator(id, modified: "9999-12-31T23:59:59.999Z")
        let now = Timestamp(rfc3339: "2026-12-02T00:00:00Z")!
        #expect(performing: { try STIXBundleBuilder.revocation(of: [last], at: now) },
                throws: { ($0 as? STIXBundleBuilder.RevocationError)?.objectIDs == [id] })
        let ordinary = try STIXBundleBuilder.revocation(of: [indicator(id, modified: "9999-12-31T23:59:59.998Z")], at: now)
        #expect(ordinary.first?["modified"] as? String == "9999-12-31T23:59:59.999Z" && STIXBundleReader.isTrue(ordinary.first?["revoked"]))
    }

    @Test func jsonThatDoesNotParseSaysWhere() {
        for (text, expected) in [("{\"type\": \"bundle\",\n \"objects\": [}", "(line 2, column 14)"), ("", "the file is empty"),
                                 ("{\"type\":\"bundle\"}\n{\"type\":\"bundle\"}", "(line 2, column 1)")] {
            #expect("\(text)", performing: { try STIXBundleReader().read(Data(text.utf8)) },
                    throws: { ($0 as? STIXBundleReader.BundleError)?.message.contains(expected) == true })
        }
    }

    @Test func theWholeInternetIsNotAnIndicator() throws {
        let p = try STIXPattern.parse("[ipv4-addr:value ISSUBSET '0.0.0.0/0'] OR [ipv6-addr:value ISSUBSET '::/0'] OR [ipv4-addr:value ISSUBSET '10.0.0.0/8']")
        #expect(p.comparisons == [.address(IPPrefix("10.0.0.0/8")!)] && p.unsupported.count == 2)
        let v6 = SharedIndicatorSet([SharedIndicator(id: id, source: "s", comparisons: [.address(IPPrefix("::/16")!)],
                                                     validFrom: Timestamp(rfc3339: "2026-03-01T00:00:00Z")!)])
        var e = Exchange(time: Timestamp(rfc3339: "2026-03-02T00:00:00Z")!, accountID: "a")
        e.clientIP = "198.51.100.7"
        #expect(v6.matches(e).isEmpty)
        #expect(!IPPrefix("::/0")!.contains(IPAddress("198.51.100.7")!))
    }

    @Test func keyedComparisonsOtherThanEqualityAreNotMatched() throws {
        let t = STIXPattern.keyedFingerprintType
        for op in ["!=", ">", "<", "ISSUPERSET"] {
            let p = try STIXPattern.parse("[\(t):value \(op) '0011223344556677' AND \(t):key_id = 'k' AND \(t):kind = 'system-prompt']")
            #expect(p.comparisons.isEmpty && !p.unsupported.isEmpty, "\(op)")
        }
        #expect(throws: STIXPattern.Problem.self) {
            try STIXPattern.parse("[\(t):value = '+000000000000001' AND \(t):key_id = 'k' AND \(t):kind = 'system-prompt']")
        }
    }

    @Test func manyIndicatorsOnOneValueAreEachMatchedOnce() {
        let start = Timestamp(rfc3339: "2026-03-01T00:00:00Z")!
        let set = SharedIndicatorSet((0..<8_000).map {
            SharedIndicator(id: "indicator--\($0)", source: "s", comparisons: [.userAgent("ua/1"), .autonomousSystem(7)], validFrom: start)
        })
        var e = Exchange(time: start.adding(seconds: 1), accountID: "a")
        e.userAgent = "ua/1"
        e.asn = 7
        let found = set.matches(e)
        #expect(found.count == 8_000 && found.allSatisfy { $0.kinds == SharedIndicatorKind.userAgent.bit | SharedIndicatorKind.autonomousSystem.bit })
    }

    @Test func sharingKeyFilesWithWindowsLineEndsParse() throws {
        let keys = try SharingKeyFile.parse("a 00112233445566778899aabbccddeeff\r\nb 00112233445566778899aabbccddeef0\r\n")
        #expect(keys.map(\.id) == ["a", "b"])
        #expect(throws: SharingKeyFile.Problem.self) { try SharingKeyFile.parse("a 0011\r\n") }
    }
}
