import DistillWatchCore
import DistillWatchIngest
@testable import DistillWatchSimulator
import DistillWatchTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Renders a plan's traffic, accounts and labels to bytes (no files).
func renderedBytes(_ plan: ScenarioPlan) -> (traffic: [UInt8], accounts: [UInt8], labels: [UInt8]) {
    var traffic: [UInt8] = []
    var stream = plan.makeTraffic()
    while let e = stream.next() { JSONLineEncoder.append(e, to: &traffic) }
    var accounts: [UInt8] = []
    for a in plan.accounts { JSONLineEncoder.append(a, to: &accounts) }
    var labels: [UInt8] = []
    for l in plan.labels { JSONLineEncoder.append(l, to: &labels) }
    return (traffic, accounts, labels)
}

/// The raw bytes of a file (compressed files stay compressed).
func readAll(_ path: String) throws -> [UInt8] {
    guard let file = fopen(path, "rb") else { throw IngestError(source: path, "cannot open") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n <= 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return bytes
}

func allExchanges(_ plan: ScenarioPlan) -> [Exchange] {
    var out: [Exchange] = []
    var stream = plan.makeTraffic()
    while let e = stream.next() { out.append(e) }
    return out
}

@Suite(.onTheHeavyLane) struct SimulatorTests {
    @Test func sameSeedGivesByteIdenticalOutput() {
        let a = renderedBytes(ScenarioPlan(scenario: .mixed, scale: 1, seed: 42))
        let b = renderedBytes(ScenarioPlan(scenario: .mixed, scale: 1, seed: 42))
        #expect(a.traffic == b.traffic)
        #expect(a.accounts == b.accounts)
        #expect(a.labels == b.labels)
        let c = renderedBytes(ScenarioPlan(scenario: .mixed, scale: 1, seed: 43))
        #expect(a.traffic != c.traffic)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func mixedScenarioIsSmallAndHasEveryPersona(seed: UInt64) {
        let plan = ScenarioPlan(scenario: .mixed, scale: 1, seed: seed)
        let exchanges = allExchanges(plan)
        #expect(exchanges.count > 2_000)
        #expect(exchanges.count < 20_000)
        let personaOf = Dictionary(uniqueKeysWithValues: plan.labels.map { ($0.accountID, $0.persona ?? "") })
        let seen = Set(exchanges.map { personaOf[$0.accountID] ?? "?" })
        // Every persona but the cross-provider operator, which only the two-provider world has.
        let personas = Persona.allCases.filter { $0 != .crossProviderOperator }
        for persona in personas {
            #expect(seen.contains(persona.rawValue), "no traffic from \(persona.rawValue)")
        }
        #expect(Set(plan.labels.compactMap(\.persona)) == Set(personas.map(\.rawValue)))
    }

    @Test func labelsAgreeWithTrafficAndAccounts() {
        let plan = ScenarioPlan(scenario: .mixed, scale: 1, seed: 5)
        let labelled = Dictionary(uniqueKeysWithValues: plan.labels.map { ($0.accountID, $0) })
        #expect(labelled.count == plan.labels.count, "duplicate label")
        #expect(Set(plan.accounts.map(\.accountID)) == Set(labelled.keys))
        for e in allExchanges(plan) {
            let label = labelled[e.accountID]
            #expect(label != nil, "traffic account \(e.accountID) has no label")
        }
        for l in plan.labels {
            #expect(l.persona != nil)
            let persona = Persona(rawValue: l.persona ?? "")
            #expect(persona != nil)
            #expect((l.label == .attack) == (persona?.isAttack ?? false))
            #expect((l.campaign != nil) == (l.label == .attack))
        }
        for a in plan.accounts where a.allowlisted == true {
            #expect(labelled[a.accountID]?.persona == Persona.licensedDistiller.rawValue)
        }
    }

    @Test func trafficIsInTimeOrderWithinTolerance() {
        let plan = ScenarioPlan(scenario: .mixed, scale: 1, seed: 9)
        var latest: Int64 = .min
        var maxLag: Int64 = 0
        var outOfOrder = 0
        for e in allExchanges(plan) {
            let t = e.time.millisecondsSinceEpoch
            if t < latest { outOfOrder += 1; maxLag = max(maxLag, latest - t) }
            latest = max(latest, t)
            #expect(t >= plan.scenario.start.millisecondsSinceEpoch)
            #expect(t < plan.scenario.end.millisecondsSinceEpoch)
        }
        #expect(maxLag <= 5 * 60_000)
        #expect(outOfOrder > 0, "merged gateway logs are expected to be slightly out of order")
    }

    @Test func simulatedRecordsPassIngestValidation() throws {
        let plan = ScenarioPlan(scenario: .mixed, scale: 1, seed: 11)
        let bytes = renderedBytes(plan)
        let exchangeDecoder = ExchangeLineDecoder(captureText: true)
        var decoded = 0
        for line in bytes.traffic.split(separator: UInt8(ascii: "\n")) {
            let e = try Array(line).withUnsafeBufferPointer { try exchangeDecoder.decode($0) }
            #expect(!e.accountID.isEmpty)
            decoded += 1
        }
        #expect(decoded == allExchanges(plan).count)
        let accountDecoder = AccountLineDecoder()
        for line in bytes.accounts.split(separator: UInt8(ascii: "\n")) {
            _ = try Array(line).withUnsafeBufferPointer { try accountDecoder.decode($0) }
        }
        let labelDecoder = LabelLineDecoder()
        for line in bytes.labels.split(separator: UInt8(ascii: "\n")) {
            _ = try Array(line).withUnsafeBufferPointer { try labelDecoder.decode($0) }
        }
    }

    @Test func roundTripThroughDecoderPreservesRecords() throws {
        let plan = ScenarioPlan(scenario: .mixed, scale: 1, seed: 12)
        let decoder = ExchangeLineDecoder(captureText: true)
        var stream = plan.makeTraffic()
        var checked = 0
        while let e = stream.next(), checked < 500 {
            var line: [UInt8] = []
            JSONLineEncoder.append(e, to: &line)
            line.removeLast()
            let back = try line.withUnsafeBufferPointer { try decoder.decode($0) }
            #expect(back.accountID == e.accountID)
            #expect(back.time == e.time)
            #expect(back.outputTokens == e.outputTokens)
            #expect(back.clientIP == e.clientIP)
            checked += 1
        }
    }

    @Test func newModelAppearsOnlyAfterRelease() {
        let plan = ScenarioPlan(scenario: .mixed, scale: 1, seed: 3)
        let release = plan.scenario.modelRelease
        var after = 0
        for e in allExchanges(plan) where e.model == SimulatedModels.newModel {
            #expect(e.time >= release)
            after += 1
        }
        #expect(after > 0)
    }

    /// Phrases only `PromptGrammar.mundaneChat`'s templates produce: the campaign's
    /// camouflage, which is not on its task list.
    static let everydayChatAnchors = ["recipe using", "Plan a ", "Write a polite email", "gift ideas", "Summarise the pros and cons",
                                      "What should I do?", "Suggest ", "Explain "]

    /// The campaign deals out its task list round-robin, so task seeds never repeat across
    /// accounts; prompt texts from different tasks coincide only rarely, for short,
    /// low-entropy everyday prompts (as between people).
    @Test(arguments: [4, 5, 6] as [UInt64])
    func lowAndSlowAccountsNeverShareATask(seed: UInt64) {
        let plan = ScenarioPlan(scenario: .lowAndSlow, scale: 0.1, seed: seed)
        // Only the campaign's accounts: the background does not matter here.
        var stream = TrafficStream(accounts: plan.generators.filter { $0.persona == .lowAndSlow }, context: plan.context)
        var ownersOfPrompt: [String: Set<String>] = [:]
        var prompts = 0
        while let e = stream.next() {
            // Agent continuations ("Go ahead.") and camouflage chat (everyday requests, which
            // people share too) are not tasks.
            guard let prompt = e.prompt, prompt.count > 60,
                  !Self.everydayChatAnchors.contains(where: prompt.contains) else { continue }
            ownersOfPrompt[prompt, default: []].insert(e.accountID)
            prompts += 1
        }
        let shared = ownersOfPrompt.values.filter { $0.count > 1 }.count
        #expect(prompts > 1_000)
        #expect(Double(shared) / Double(prompts) < 0.01, "\(shared) of \(prompts) prompts sent by several accounts")
    }

    @Test func lowAndSlowTaskSeedsAreDisjointAcrossAccounts() {
        let plan = ScenarioPlan(scenario: .lowAndSlow, scale: 0.1, seed: 1)
        var seen = Set<UInt64>()
        for var account in plan.generators where account.persona == .lowAndSlow {
            for n in 0..<200 {
                account.exchangeCount = n
                #expect(seen.insert(account.taskSeed(for: account.pending)).inserted)
            }
        }
        #expect(seen.count == 30 * 200)
    }

    @Test func scaleMultipliesAccounts() {
        let small = ScenarioPlan(scenario: .agenticHydra, scale: 0.01, seed: 1)
        let larger = ScenarioPlan(scenario: .agenticHydra, scale: 0.02, seed: 1)
        #expect(larger.accounts.count > small.accounts.count)
        let hydra = larger.labels.filter { $0.campaign == "agentic-hydra-1" }.count
        #expect(hydra == 40)
    }

    @Test func writtenFilesAreByteIdenticalForTheSameSeed() throws {
        let plan = ScenarioPlan(scenario: .mixed, scale: 0.5, seed: 21)
        let base = "/tmp/distillwatch-simulator-test-\(plan.seed)"
        let first = try ScenarioWriter.write(plan, directory: base + "-a")
        let second = try ScenarioWriter.write(ScenarioPlan(scenario: .mixed, scale: 0.5, seed: 21), directory: base + "-b")
        #expect(first.exchanges == second.exchanges)
        #expect(first.exchanges > 0)
        for name in [ScenarioWriter.trafficFileName, ScenarioWriter.accountsFileName, ScenarioWriter.labelsFileName] {
            let a = try readAll(base + "-a/" + name)
            let b = try readAll(base + "-b/" + name)
            #expect(!a.isEmpty)
            #expect(a == b, "\(name) differs between runs")
        }
        // The traffic file is gzip and decodes to the same records the stream gives.
        var decoded = 0
        var reader = LineReader(.file(base + "-a/" + ScenarioWriter.trafficFileName))
        let decoder = ExchangeLineDecoder()
        try reader.forEachLine { _, bytes in
            _ = try decoder.decode(bytes)
            decoded += 1
        }
        #expect(decoded == first.exchanges)
    }

    @Test func lowAndSlowAccountsHaveUniqueUserAgentsAndCards() {
        let plan = ScenarioPlan(scenario: .lowAndSlow, scale: 0.3, seed: 1)
        let ids = Set(plan.labels.filter { $0.persona == Persona.lowAndSlow.rawValue }.map(\.accountID))
        #expect(ids.count == 90)
        let cards = plan.accounts.filter { ids.contains($0.accountID) }.compactMap(\.paymentFingerprint)
        #expect(Set(cards).count == ids.count)
        let agents = plan.generators.filter { ids.contains($0.accountID) }.map(\.client.userAgent)
        #expect(Set(agents).count == ids.count)
    }

    @Test func heapPopsInKeyOrder() {
        var rng = SplitMix64(seed: 99)
        var heap = EventHeap(capacity: 0)
        var keys: [Int64] = []
        for i in 0..<1000 {
            let k = Int64(rng.below(500))
            keys.append(k)
            heap.push(key: k, index: Int32(i))
        }
        var popped: [Int64] = []
        while let e = heap.popMin() { popped.append(e.key) }
        #expect(popped == keys.sorted())
    }
}

@Suite struct OutputDirectoryTests {
    @Test func missingParentFoldersAreCreatedAndAFileInTheWayIsAnError() throws {
        let base = "/tmp/distillwatch-simdir-\(UInt64.random(in: 0...UInt64.max))"
        defer { _ = system("rm -rf '\(base)'") }
        try ScenarioWriter.makeDirectory(base + "/a/b/c")
        var st = stat()
        #expect(stat(base + "/a/b/c", &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR)
        // Again: an existing folder is fine.
        try ScenarioWriter.makeDirectory(base + "/a/b/c")
        _ = fclose(fopen(base + "/file", "w"))
        #expect(throws: IngestError.self) { try ScenarioWriter.makeDirectory(base + "/file/sub") }
    }
}
