import DistillWatchCore
import DistillWatchIngest
import FuzzSupport

// The engine driven directly, past the readers: the bytes choose a sequence of exchanges
// (times that jump back and forth and across the years, extreme but valid counts, values
// just outside RecordLimits that the engine must refuse), account records, labels and
// flushes, among few enough accounts, networks and prompts that campaigns form.
let models = ["m-small", "m-large", "m-new"]
let tiers = ["free", "standard", "enterprise", "research"]
let words = ["solve", "step", "by", "rate", "answer", "write", "python", "function", "explain", "reasoning",
             "rewrite", "question", "generate", "examples", "diverse", "tool", "call", "json", "the", "a"]

let target: Fuzz.Target = { data, size in
    var r = ByteReader(Fuzz.bytes(data, size))
    // Half the runs join exchanges by request_id, as the server does (a small id space, so
    // that merges, duplicates and third views happen).
    let merging = r.byte() & 1 == 0
    var scanner = TrafficScanner(toleranceMilliseconds: Int64(r.byte()) * 1000, mergesRequestIDs: merging)
    // The same sequence on several engine threads, in small batches: the same decisions and
    // report (the engine's linkage overlapped with the next batch's accounts).
    var threaded = TrafficScanner(toleranceMilliseconds: scanner.buffer.toleranceMilliseconds, mergesRequestIDs: merging)
    threaded.engineThreads = 2 + Int(r.byte() % 2)
    threaded.engineBatchSize = 1 + Int(r.byte() % 16)
    var time = Fuzz.start.millisecondsSinceEpoch
    var operations = 0
    while !r.isAtEnd, operations < 2000 {
        operations += 1
        let op = r.byte()
        let account = "acct-\(r.byte() % 12)"
        switch op % 10 {
        case 0...5:
            switch r.byte() % 8 {
            // The harness's own clock wraps (&+): after case 3 it may be anywhere.
            case 0: time &+= Int64(Int16(bitPattern: r.uint16())) * 60_000                 // minutes, either way
            case 1: time = RecordLimits.endOfTime.millisecondsSinceEpoch - 1 - Int64(r.byte()) // the last instant
            case 2: time = RecordLimits.earliestTime.millisecondsSinceEpoch + Int64(r.byte())
            case 3: time = Int64(bitPattern: r.uint64())                                     // anything: refused
            default: time &+= Int64(r.uint16())
            }
            var e = Exchange(time: Timestamp(millisecondsSinceEpoch: time), accountID: account)
            let id = r.byte()
            if id < 160 { e.requestID = "r\(id % 24)" }
            let flags = r.byte()
            if flags & 1 != 0 { e.model = models[Int(r.byte()) % models.count] }
            if flags & 2 != 0 {
                let big = r.byte() > 200
                e.outputTokens = big ? RecordLimits.maximumTokens - Int(r.byte()) + 128 : Int(r.uint16())
                e.inputTokens = big ? RecordLimits.maximumTokens : Int(r.uint16())
                e.reasoningTokens = Int(r.uint32() % 200_000)
            }
            if flags & 4 != 0 { e.maxTokens = [1024, 32000, 64000, RecordLimits.maximumTokens][Int(r.byte()) % 4] }
            if flags & 8 != 0 { e.temperature = Double(r.byte()) / 100; e.thinking = r.byte() & 1 == 0 }
            if flags & 16 != 0 { e.status = [200, 429, 500, 99, 600][Int(r.byte()) % 5] }
            if flags & 32 != 0 {
                e.clientIP = r.byte() & 1 == 0 ? "198.51.100.\(r.byte() % 8)" : "2001:db8::\(r.byte() % 8)"
                e.asn = Int(r.uint32())
                e.userAgent = "client/\(r.byte() % 3)"
                e.clientFingerprint = "fp\(r.byte() % 3)"
            }
            if flags & 64 != 0 {
                e.messageCount = Int(r.byte() % 4)
                e.toolCount = Int(r.byte() % 3)
                e.latencyMilliseconds = Double(r.uint32()) / 3
            }
            if flags & 128 != 0 {
                let n = Int(r.byte() % 24)
                let prompt = (0..<n).map { _ in words[Int(r.byte()) % words.count] }.joined(separator: " ")
                e.content = Fuzz.sketcher.features(prompt: prompt, system: r.byte() & 1 == 0 ? "You are a grader." : nil,
                                                   toolCount: e.toolCount)
            }
            scanner.observe(e)
            threaded.observe(e)
        case 6:
            var a = AccountRecord(accountID: account)
            a.tier = tiers[Int(r.byte()) % tiers.count]
            a.created = Timestamp(millisecondsSinceEpoch: time &- Int64(r.uint32()) * 1000)
            a.emailDomain = "mail\(r.byte() % 3).example"
            a.paymentFingerprint = "pay\(r.byte() % 3)"
            a.verified = r.byte() & 1 == 0
            a.allowlisted = r.byte() % 8 == 0
            scanner.register(a)
            threaded.register(a)
        case 7:
            let label: AnalystLabel = r.byte() & 1 == 0 ? .confirmedAttack : .legitimate
            let decided = scanner.applyLabel(label, to: account, at: Timestamp(millisecondsSinceEpoch: time))
            Fuzz.require(threaded.applyLabel(label, to: account, at: Timestamp(millisecondsSinceEpoch: time)) == decided,
                         "a label decides the same on several engine threads")
        case 8:
            let label: AnalystLabel = r.byte() & 1 == 0 ? .confirmedAttack : .legitimate
            let campaign = Int(r.byte() % 4)
            let found = scanner.applyCampaignLabel(label, toCampaign: campaign, at: Timestamp(millisecondsSinceEpoch: time))
            Fuzz.require(threaded.applyCampaignLabel(label, toCampaign: campaign, at: Timestamp(millisecondsSinceEpoch: time)) == found,
                         "a campaign label finds the same campaign on several engine threads")
        default:
            if r.byte() & 1 == 0 {
                scanner.flush()
                threaded.flush()
            } else {
                // A restart: the one-thread scanner continues from its snapshot (the reorder
                // buffer's waiting records and merge keys included) and must go on as before.
                do {
                    scanner = try TrafficScanner(snapshot: scanner.snapshot(), policy: scanner.engine.policy,
                                                 toleranceMilliseconds: scanner.buffer.toleranceMilliseconds, mergesRequestIDs: merging)
                } catch {
                    Fuzz.require(false, "a snapshot reads back: \(error)")
                }
            }
        }
        let decision = scanner.engine.decision(for: account)
        if operations % 16 == 0 {
            Fuzz.require(threaded.engine.decision(for: account) == decision, "several engine threads decide the same")
        }
    }
    let expected = scanner.finish(generatedAt: Fuzz.start, includeAllAccounts: true)
    Fuzz.require(threaded.finish(generatedAt: Fuzz.start, includeAllAccounts: true) == expected,
                 "several engine threads report the same")
    Fuzz.report(&scanner)
    return 0
}

/// SwiftPM links `main` to `fuzz_engine_main`: hand over to libFuzzer's driver.
@_cdecl("fuzz_engine_main")
public func fuzz_engineMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    Fuzz.main(argc, argv, target)
}
