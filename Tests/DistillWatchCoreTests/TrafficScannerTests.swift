import Testing
@testable import DistillWatchCore

@Suite struct TrafficScannerTests {
    /// Mixed traffic: a harvester, a steady product, a person. Sorted by time.
    func traffic(seed: UInt64) -> [Exchange] {
        var rng = SeededGenerator(seed: seed)
        var out: [Exchange] = []
        var t = ManualClock().now
        for i in 0..<3_000 {
            t = t.adding(seconds: Double.random(in: 1...30, using: &rng))
            // Half harvester, most of the rest a product, and a person now and then.
            let account = i % 2 == 0 ? "harvester" : (i % 40 == 1 ? "person" : "product")
            let pinned = account == "harvester"
            out.append(exchange(account, at: t, output: pinned ? 9_000 : Int.random(in: 50...900, using: &rng),
                                maxTokens: pinned ? 32_000 : 1024, temperature: pinned ? 1 : 0.7,
                                thinking: pinned, messages: pinned ? 1 : 3))
        }
        return out
    }

    func run(_ exchanges: [Exchange], batches: [Int]? = nil) -> ScanReport {
        var scanner = TrafficScanner()
        scanner.register(AccountRecord(accountID: "harvester", tier: "free"))
        scanner.register(AccountRecord(accountID: "product", tier: "enterprise"))
        var decisions: [String: Decision] = [:]
        if let batches {
            // Feed in batches of the given sizes, flushing nothing in between: the server's
            // ingest path does exactly this.
            var i = 0
            var b = 0
            while i < exchanges.count {
                let n = min(batches[b % batches.count], exchanges.count - i)
                for e in exchanges[i..<(i + n)] { scanner.observe(e) { decisions[$0.accountID] = $1 } }
                i += n
                b += 1
            }
        } else {
            for e in exchanges { scanner.observe(e) { decisions[$0.accountID] = $1 } }
        }
        return scanner.finish(generatedAt: ManualClock().now, includeAllAccounts: true)
    }

    @Test func disorderWithinFiveMinutesGivesTheSameResultAsSortedInput() {
        let sorted = traffic(seed: 1)
        var rng = SeededGenerator(seed: 99)
        // Arrival order: time plus a random delay of up to 4.5 minutes, as merged logs of
        // several gateway nodes are. No record then arrives more than 4.5 minutes after a
        // later one.
        let shuffled = sorted
            .map { ($0, $0.time.millisecondsSinceEpoch + Int64.random(in: 0...270_000, using: &rng)) }
            .sorted { $0.1 < $1.1 }
            .map(\.0)
        #expect(shuffled != sorted)
        let a = run(sorted)
        var scanner = TrafficScanner()
        scanner.register(AccountRecord(accountID: "harvester", tier: "free"))
        scanner.register(AccountRecord(accountID: "product", tier: "enterprise"))
        for e in shuffled { scanner.observe(e) }
        let b = scanner.finish(generatedAt: ManualClock().now, includeAllAccounts: true)
        #expect(scanner.buffer.lateExchanges == 0)
        #expect(scanner.engine.outOfOrderExchanges == 0)
        #expect(a.accounts == b.accounts)
        #expect(a.accounts.first { $0.accountID == "harvester" }?.verdict.isFlagged == true)
        #expect(a.accounts.first { $0.accountID == "person" }?.verdict == .allow)
    }

    /// With ``TrafficScanner/retiresRecords`` on, every record the engine observed comes
    /// back exactly once from ``TrafficScanner/takeRetiredRecords()`` (with one engine thread
    /// and with three), none before the engine observed it, and the report is the one without
    /// it. Turning it off drops what was kept.
    @Test(arguments: [1, 3])
    func retiredRecordsAreEachObservedRecordOnce(threads: Int) {
        var exchanges = traffic(seed: 9)
        for i in exchanges.indices { exchanges[i].requestID = "r\(i)" }
        var plain = TrafficScanner()
        plain.engineThreads = threads
        plain.engineBatchSize = 97
        var retiring = TrafficScanner()
        retiring.engineThreads = threads
        retiring.engineBatchSize = 97
        retiring.retiresRecords = true
        var retired: [String] = []
        for (i, e) in exchanges.enumerated() {
            plain.observe(e)
            retiring.observe(e)
            if i % 500 == 499 {
                let taken = retiring.takeRetiredRecords().flatMap { $0 }
                #expect(taken.count <= retiring.engine.exchangesObserved - retired.count)
                retired += taken.map { $0.requestID! }
            }
        }
        #expect(retired.count > 1_000)
        let report = retiring.finish(generatedAt: ManualClock().now, includeAllAccounts: true)
        retired += retiring.takeRetiredRecords().flatMap { $0 }.map { $0.requestID! }
        #expect(report == plain.finish(generatedAt: ManualClock().now, includeAllAccounts: true))
        // What the last flush released may stay unretired (the reorder window drained with
        // one thread, the last two batches with several); nothing is retired twice.
        #expect(Set(retired).count == retired.count)
        #expect(retired.count <= exchanges.count && retired.count >= exchanges.count - 250)
        retiring.retiresRecords = false
        #expect(retiring.takeRetiredRecords().isEmpty)
    }

    @Test(arguments: [[1], [7], [1000], [3, 500, 1, 64]])
    func verdictsDoNotDependOnBatching(_ batches: [Int]) {
        let exchanges = traffic(seed: 5)
        #expect(run(exchanges, batches: batches) == run(exchanges))
    }

    /// The scanner skips its limits check only for a record checked and not written since:
    /// a time moved out of range after the check is still refused before the buffer.
    @Test func aRecordWrittenAfterItsCheckIsCheckedAgain() {
        let t0 = ManualClock().now
        var scanner = TrafficScanner()
        var moved = Exchange(time: t0, accountID: "a")
        #expect(moved.checkLimits() == nil)
        moved.time = Timestamp(millisecondsSinceEpoch: .max)
        scanner.observe(moved)
        #expect(scanner.engine.refusedExchanges == 1 && scanner.buffer.count == 0)
        var checked = Exchange(time: t0, accountID: "a")
        #expect(checked.checkLimits() == nil)
        scanner.observe(checked)
        #expect(scanner.engine.refusedExchanges == 1 && scanner.buffer.count == 1)
    }

    @Test func recordsBeyondTheToleranceAreCountedAsLate() {
        var buffer = ReorderBuffer(toleranceMilliseconds: 300_000)
        let t = ManualClock().now
        var released: [Timestamp] = []
        buffer.push(exchange("a", at: t.adding(seconds: 1000))) { released.append($0.time) }
        buffer.push(exchange("a", at: t.adding(seconds: 800))) { released.append($0.time) }   // within 5 min
        buffer.push(exchange("a", at: t)) { released.append($0.time) }                       // 1000 s late
        #expect(buffer.lateExchanges == 1)
        buffer.drain { released.append($0.time) }
        #expect(released == [t, t.adding(seconds: 800), t.adding(seconds: 1000)])
    }

    @Test func watermarkReleasesInTimeOrder() {
        var buffer = ReorderBuffer(toleranceMilliseconds: 60_000)
        let t = ManualClock().now
        var released: [Int64] = []
        for s in [0, 30, 10, 50, 200, 20 * 60, 150] {
            buffer.push(exchange("a", at: t.adding(seconds: Double(s)))) {
                released.append($0.time.milliseconds(since: t) / 1000)
            }
        }
        buffer.drain { released.append($0.time.milliseconds(since: t) / 1000) }
        // 150 arrives after 1200, far beyond the tolerance: late, released at once.
        #expect(released == [0, 10, 30, 50, 200, 150, 1200])
        #expect(buffer.lateExchanges == 1)
    }
}
