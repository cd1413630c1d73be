import Testing
@testable import DistillWatchCore

/// Content signals on hand-built accounts, positives and tricky negatives.
@Suite struct ContentSignalTests {
    let sketcher = ContentSketcher(key: testKey)
    let topics = ["graph", "queue", "matrix", "parser", "cache", "tree", "heap", "socket", "regex", "string",
                  "integer", "stream", "schema", "lock", "index", "vector", "token", "buffer", "router", "ledger"]
    let verbs = ["implement", "optimise", "test", "document", "refactor", "benchmark", "design", "debug"]

    func observe(_ engine: inout DetectionEngine, _ account: String, _ prompts: [String], system: String? = nil, tools: Int? = nil) {
        var t = ManualClock().now
        for p in prompts {
            t = t.adding(seconds: 97)
            var e = exchange(account, at: t)
            e.content = sketcher.features(prompt: p, system: system, toolCount: tools)
            engine.observe(e)
        }
    }

    /// Distinct tasks over a 1,500-word vocabulary, as a sweep over a task list would send.
    func diverseTasks(_ n: Int, seed: UInt64) -> [String] {
        var rng = SeededGenerator(seed: seed)
        let vocabulary = (0..<1_500).map { "t\(String($0 * 7919 % 104_729, radix: 36))" }
        return (0..<n).map { i in
            let w = (0..<12).map { _ in vocabulary.randomElement(using: &rng)! }.joined(separator: " ")
            return "\(verbs.randomElement(using: &rng)!) a \(topics.randomElement(using: &rng)!) module in Python, number \(i), that handles \(w)"
        }
    }

    @Test func harvesterWithChainOfThoughtWrapper() {
        var engine = DetectionEngine()
        let prompts = diverseTasks(1_000, seed: 1).map { "Think step by step and show your reasoning. Task: \($0)" }
        observe(&engine, "harvester", prompts)
        #expect(value(engine, "harvester", .cotElicitation) == 1)
        #expect(value(engine, "harvester", .coverageSweep) > 0.3)
        let detail = engine.readings(for: "harvester").first { $0.kind == .coverageSweep }!.detail
        #expect(detail.contains("coding"))
    }

    @Test func tutorAppIsNotChainOfThoughtElicitation() {
        var engine = DetectionEngine()
        let questions = diverseTasks(200, seed: 2).map { "Can you help me understand this homework: \($0)?" }
        observe(&engine, "tutor", questions, system: "You are a tutor. Let's think step by step with the student.")
        #expect(value(engine, "tutor", .cotElicitation) == 0)
    }

    @Test func evaluationTeamRepeatsProblemsSoItIsNoSweep() {
        var engine = DetectionEngine()
        let problems = diverseTasks(25, seed: 3)
        // Each problem sampled 16 times in a row, as pass@k evaluation does.
        let prompts = problems.flatMap { Array(repeating: "Think step by step. \($0)", count: 16) }
        observe(&engine, "eval-team", prompts)
        #expect(value(engine, "eval-team", .coverageSweep) == 0)
        let detail = engine.readings(for: "eval-team").first { $0.kind == .coverageSweep }!.detail
        #expect(detail.contains("near-duplicates 9"))
    }

    @Test func templateSharedByManyAccountsVersusOneSupportBot() {
        var engine = DetectionEngine()
        let tasks = diverseTasks(30 * 40, seed: 4)
        let wrap = { (x: String) in "Solve the following task and return only code in one block: \(x) Use idiomatic style, no comments at all." }
        for a in 0..<30 {
            observe(&engine, "head-\(a)", tasks[(a * 40)..<(a * 40 + 40)].map(wrap))
        }
        let support = (0..<200).map { "Customer message: order \($0) has not arrived, it was for the \(topics[$0 % 20]) set. Reply politely with tracking help and an apology." }
        observe(&engine, "support-bot", support)
        #expect(value(engine, "head-29", .templateSharing) > 0.8)
        #expect(value(engine, "support-bot", .templateSharing) == 0)
    }

    @Test func gradingRewritingAndSyntheticSignals() {
        var engine = DetectionEngine()
        let tasks = diverseTasks(60, seed: 5)
        observe(&engine, "grader", tasks.map { "Here is a response about \($0). Rate this response on a scale of 1 to 10 and output the rating as JSON." })
        observe(&engine, "rewriter", tasks.map { "Rewrite this question so that it is acceptable: why did \($0) fail?" })
        observe(&engine, "generator", tasks.map { "Generate 20 diverse problems like: \($0), each with a solution." })
        #expect(value(engine, "grader", .rubricGrading) == 1)
        #expect(value(engine, "rewriter", .sensitiveRewriting) == 1)
        #expect(value(engine, "generator", .syntheticDataGeneration) == 1)
        #expect(value(engine, "grader", .sensitiveRewriting) == 0)
    }

    @Test func contentSignalsWaitForTwentyPrompts() {
        var engine = DetectionEngine()
        observe(&engine, "new", Array(repeating: "Think step by step: what is 2+2?", count: 19))
        #expect(value(engine, "new", .cotElicitation) == 0)
    }
}

@Suite struct InMemorySketchingTests {
    @Test func theScannerSketchesInMemoryExchangesLikeTheDecoderDoes() {
        let sketcher = ContentSketcher(key: testKey)
        var withSketcher = TrafficScanner(sketcher: sketcher)
        var without = TrafficScanner()
        var t = ManualClock().now
        for i in 0..<60 {
            t = t.adding(seconds: 40)
            let e = Exchange(time: t, accountID: "a", prompt: "Think step by step about task \(i) of the list and show your reasoning.")
            withSketcher.observe(e)
            without.observe(e)
        }
        withSketcher.flush()
        without.flush()
        #expect(value(withSketcher.engine, "a", .cotElicitation) == 1)
        #expect(value(without.engine, "a", .cotElicitation) == 0)
        let sketched = Exchange(time: t, accountID: "a", system: "s", prompt: "p q r", response: "x").sketched(by: sketcher)
        #expect(sketched.prompt == "" && sketched.system == "" && sketched.response == "" && sketched.content != nil)
    }
}

@Suite struct SplitTaskListTests {
    @Test func aClassSharingHomeworkIsNotASplitTaskList() {
        let sketcher = ContentSketcher(key: testKey)
        var engine = DetectionEngine()
        let homework = (0..<24).map { "Exercise \($0): explain why the derivative of x squared times sine of x needs the product rule, and give one worked example for lecture \($0)." }
        let wrap = { (x: String) in "Course assistant, week five. Question from a student: \(x) Please answer for a first-year student." }
        var t = ManualClock().now
        // Thirty students send the same 24 exercises in the same wrapper: enough prompts for
        // the signal to speak, and a family shared by all of them.
        for student in 0..<30 {
            for h in homework {
                t = t.adding(seconds: 11)
                var e = exchange("student-\(student)", at: t)
                e.content = sketcher.features(prompt: wrap(h))
                engine.observe(e)
            }
        }
        #expect(value(engine, "student-29", .templateSharing) == 0)
        let detail = engine.readings(for: "student-29").first { $0.kind == .templateSharing }!.detail
        #expect(detail.contains("0% of 24"))
    }
}

/// The catalogue of template families behind the template-sharing and split-workload signals.
@Suite struct TemplateCatalogTests {
    func use(_ key: UInt64) -> ContentFeatures {
        var f = ContentFeatures()
        f.templateKey = key
        return f
    }

    @Test func familiesSurviveTheIndexGrowingAndCountDistinctAccounts() {
        var catalog = TemplateCatalog()
        var shared: TemplateCatalog.Use?
        // 3,000 one-off families make the index (1,024 slots at first) double three times,
        // while one family (key 0, a valid key) is used by 30 accounts in between.
        for i in 0..<3_000 {
            _ = catalog.record(use(UInt64(i + 1) &* 0xD6E8_FEB8_6659_FD93), account: Int32(i))
            if i % 100 == 0 { shared = catalog.record(use(0), account: Int32(10_000 + i / 100)) }
        }
        #expect(catalog.families.count == 3_001)
        let accounts = try! #require(shared).accounts
        #expect(accounts > 22 && accounts < 38, "linear counting of 30 accounts gave \(accounts)")
        // A one-off family seen again from the same account still has one account.
        let again = catalog.record(use(UInt64(1_234 + 1) &* 0xD6E8_FEB8_6659_FD93), account: 1_234)
        #expect(again.accounts < 1.1)
        #expect(catalog.families.count == 3_001)
    }

    @Test func aFullCatalogTracksNoNewFamilyButKeepsCountingKnownOnes() {
        var catalog = TemplateCatalog()
        for i in 0..<TemplateCatalog.capacity { _ = catalog.record(use(UInt64(i) + 1), account: 0) }
        #expect(catalog.families.count == TemplateCatalog.capacity)
        let new = catalog.record(use(UInt64.max), account: 1)
        #expect(new.accounts == 1 && new.novelty == 1)
        #expect(catalog.families.count == TemplateCatalog.capacity)
        // Accounts 0 and 3 fall on different bits of the family's account bitmap.
        let known = catalog.record(use(1), account: 3)
        #expect(known.accounts > 1.9)
    }
}
