@testable import DistillWatchCore
import DistillWatchTestSupport
import Testing

/// The snapshot codecs: every stored property written, damaged bytes refused with the
/// place and the reason, never a crash.
@Suite(.onTheHeavyLane) struct SnapshotCodingTests {
    let t0 = Timestamp(millisecondsSinceEpoch: 1_772_409_600_000)

    /// A stored property added to a type without adding it to the type's codec (at the
    /// bottom of its file) fails here: a snapshot would silently lose it on restart.
    @Test func everyStoredPropertyIsWritten() {
        func fields(_ value: Any) -> Int { Mirror(reflecting: value).children.count }
        let profile = Policy.default.defaultTier
        #expect(fields(AccountState(tierProfile: profile)) == AccountState.snapshotFieldCount)
        #expect(fields(ContentState()) == ContentState.snapshotFieldCount)
        #expect(fields(SmallHyperLogLog()) == SmallHyperLogLog.snapshotFieldCount)
        #expect(fields(KeyState(accountIndex: 0, keyID: "k")) == KeyState.snapshotFieldCount)
        #expect(fields(KeyTable()) == KeyTable.snapshotFieldCount)
        #expect(fields(ModelCatalog()) == ModelCatalog.snapshotFieldCount)
        #expect(fields(ModelCatalog.Model(name: "m", firstSeen: t0, isNewRelease: false)) == 5)
        #expect(fields(TemplateCatalog()) == TemplateCatalog.snapshotFieldCount)
        #expect(fields(TemplateCatalog.Family()) == 3)
        #expect(fields(ReasoningIndex()) == ReasoningIndex.snapshotFieldCount)
        #expect(fields(LinkageGraph()) == LinkageGraph.snapshotFieldCount)
        #expect(fields(LinkageGraph.FirstLink(partner: 0, kinds: 0, weight: 0, attached: false, at: t0)) == 5)
        #expect(fields(LinkageWork()) == LinkageWork.snapshotFieldCount)
        #expect(fields(LinkKeyIndex()) == LinkKeyIndex.snapshotFieldCount)
        #expect(fields(LinkKeyIndex.Entry()) == 3)
        #expect(fields(LinkProfile()) == LinkProfile.snapshotFieldCount)
        #expect(fields(CampaignState()) == CampaignState.snapshotFieldCount)
        #expect(fields(Policy.default.defaultTier) == Policy.TierProfile.snapshotFieldCount)
        #expect(fields(AccountRecord(accountID: "a")) == AccountRecord.snapshotFieldCount)
        // An exchange keeps its fields in a copy-on-write buffer; both the stored fields and
        // its mirror (which shows them) are counted.
        #expect(fields(Exchange.Fields()) == Exchange.snapshotFieldCount)
        #expect(fields(Exchange(time: t0, accountID: "a")) == Exchange.snapshotFieldCount)
        #expect(fields(DetectionEngine()) == DetectionEngine.snapshotFieldCount)
        #expect(fields(SignupIndex()) == SignupIndex.snapshotFieldCount)
        // The buffer's slot keys are not written: they are the records' own account and
        // request_id, rebuilt from the records read (`SnapshotParityTests` restore a merging buffer).
        #expect(fields(ReorderBuffer()) == ReorderBuffer.snapshotFieldCount + 1)
        #expect(fields(RecentIdentifiers<ReorderBuffer.MergeKey>(capacity: 1)) == RecentIdentifiers<ReorderBuffer.MergeKey>.snapshotFieldCount)
        // engine, buffer, sketcher, engine threads and batch size (configuration), activity (scan and screen only), the
        // pending and waiting batches of several engine threads (observed on a copy before a snapshot is written),
        // whether records are retired (configuration) and the records and batches retired (observed already,
        // kept only for the caller to free)
        #expect(fields(TrafficScanner()) == 11)
        #expect(fields(SharedIndicator(id: "i", source: "s", comparisons: [], validFrom: t0)) == SharedIndicator.snapshotFieldCount)
        #expect(fields(SharedIndicatorEvidence(id: "i", source: "s", kinds: 0, matches: 0, contentMatches: 0, first: t0, last: t0))
                == SharedIndicatorEvidence.snapshotFieldCount)
    }

    /// A small scanner with a bit of everything: linked accounts, keys, buffered records.
    func busyScanner() -> TrafficScanner {
        var scanner = TrafficScanner(policy: .default, mergesRequestIDs: true)
        let sketcher = ContentSketcher(key: ContentKey(k0: 1, k1: 2))
        for k in 0..<30 {
            scanner.register(AccountRecord(accountID: "acct-\(k)", created: t0.adding(seconds: -3_600), tier: "free",
                                           paymentFingerprint: "card-\(k % 3)", emailDomain: "gmail.com", verified: false))
        }
        var t = t0
        for i in 0..<3_000 {
            var e = Exchange(time: t, accountID: "acct-\(i % 30)", model: i > 2_000 ? "model-b" : "model-a",
                             outputTokens: 1_500, maxTokens: 16_000, thinking: true, toolCount: 4, messageCount: 1)
            e.requestID = "req-\(i)"
            e.apiKeyID = "key-\(i % 45)"
            e.clientIP = "100.64.\(i % 7).\(i % 200)"
            e.asn = 64_500 + i % 9
            e.country = ["US", "BR", "DE"][i % 3]
            e.userAgent = "python-httpx/0.27"
            e.content = sketcher.features(prompt: "Explain step by step how to implement task \(i % 97) in Rust")
            if i % 10 == 0 { e.reasoningReplayOf = "req-\(i - 5)" }
            scanner.observe(e)
            t = t.adding(seconds: 37)
        }
        scanner.applyLabel(.legitimate, to: "acct-3", at: t)
        return scanner
    }

    @Test func theSameStateGivesTheSameBytesAndReadsBackWhole() throws {
        let scanner = busyScanner()
        #expect(scanner.buffer.count > 0)
        #expect(scanner.engine.linkage.groups.isEmpty == false)
        let bytes = scanner.snapshot()
        let restored = try TrafficScanner(snapshot: bytes, policy: .default, toleranceMilliseconds: ReorderBuffer.defaultToleranceMilliseconds,
                                          mergesRequestIDs: true)
        #expect(restored.snapshot() == bytes)
        var a = scanner, b = restored
        let ra = a.finish(generatedAt: t0, includeAllAccounts: true)
        let rb = b.finish(generatedAt: t0, includeAllAccounts: true)
        #expect(ra == rb)
        #expect(ra.accounts.contains { $0.verdict.isFlagged })
    }

    @Test func otherReorderSettingsAreRefused() {
        let bytes = busyScanner().snapshot()
        #expect(throws: SnapshotError.self) {
            _ = try TrafficScanner(snapshot: bytes, policy: .default, toleranceMilliseconds: 60_000, mergesRequestIDs: true)
        }
        #expect(throws: SnapshotError.self) {
            _ = try TrafficScanner(snapshot: bytes, policy: .default, toleranceMilliseconds: ReorderBuffer.defaultToleranceMilliseconds)
        }
    }

    /// Every truncation and a sample of single-byte changes either read back or throw a
    /// `SnapshotError` naming a byte; none crashes. (The server also checks a CRC-32 of the
    /// whole snapshot before reading it, so a damaged file never gets this far.)
    @Test func damagedBytesAreRefusedNeverCrash() {
        let bytes = TrafficScanner(policy: .default).snapshot()
        var rng = SeededGenerator(seed: 9)
        for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 4_000)) {
            #expect(throws: SnapshotError.self) {
                _ = try TrafficScanner(snapshot: Array(bytes[..<cut]), policy: .default,
                                       toleranceMilliseconds: ReorderBuffer.defaultToleranceMilliseconds)
            }
        }
        let small = busyScanner().snapshot()
        for _ in 0..<40 {
            var damaged = small
            damaged[rng.below(damaged.count)] ^= UInt8(1 + rng.below(255))
            do {
                _ = try TrafficScanner(snapshot: damaged, policy: .default, toleranceMilliseconds: ReorderBuffer.defaultToleranceMilliseconds,
                                       mergesRequestIDs: true)
            } catch {
                #expect(error.description.hasPrefix("byte ") || error.description.contains("the "))
            }
        }
        #expect(throws: SnapshotError.self) {
            _ = try TrafficScanner(snapshot: small + [0], policy: .default, toleranceMilliseconds: ReorderBuffer.defaultToleranceMilliseconds,
                                   mergesRequestIDs: true)
        }
    }
}

/// The change list a server publishes from: a merge republishes exactly the members whose
/// campaign number changes.
@Suite struct CampaignChangeTests {
    func group(_ number: Int32, _ members: [Int32]) -> CampaignState {
        var g = CampaignState()
        g.number = number
        g.members = members
        return g
    }

    @Test(arguments: [(Int32(0), Int32(3), true), (Int32(2), Int32(3), false), (Int32(5), Int32(3), true), (Int32(4), Int32(0), false),
                      (Int32(0), Int32(0), false)])
    func aMergeListsTheMembersWhoseCampaignChanges(bigNumber: Int32, smallNumber: Int32, bigMembersChange: Bool) {
        let big = group(bigNumber, [1, 2, 3, 4]), small = group(smallNumber, [7, 8])
        var merged = big
        merged.merge(small)
        let listed = DetectionEngine.membersWithNewCampaign(big: big, small: small, merged: merged)
        #expect(Set(listed) == Set(bigMembersChange ? [1, 2, 3, 4, 7, 8] : [7, 8]),
                "big \(bigNumber), small \(smallNumber) -> merged \(merged.number)")
    }
}
