import Testing
@testable import DistillWatchCore

let testKey = ContentKey(k0: 0x0706_0504_0302_0100, k1: 0x0F0E_0D0C_0B0A_0908)

func tokens(_ text: String) -> [UInt64] {
    var out: [UInt64] = []
    var text = text
    text.withUTF8 { PromptNormalizer.forEachToken($0) { out.append($0) } }
    return out
}

@Suite struct ContentKeyTests {
    @Test func sipHashMatchesTheReferenceVectors() {
        // Aumasson and Bernstein's test vectors: key 00..0f, messages 00..(n-1).
        #expect([UInt8]().withUnsafeBufferPointer { testKey.prf(bytes: $0) } == 0x726F_DB47_DD0E_0E31)
        #expect([UInt8(0)].withUnsafeBufferPointer { testKey.prf(bytes: $0) } == 0x74F8_39C5_93DC_67FD)
        let eight: [UInt8] = Array(0..<8)
        #expect(eight.withUnsafeBufferPointer { testKey.prf(bytes: $0) } == 0x93F5_F579_9A93_2462)
        #expect(testKey.prf(0x0706_0504_0302_0100) == 0x93F5_F579_9A93_2462)
    }

    @Test func hexRoundTrip() {
        #expect(ContentKey(hex: testKey.hex) == testKey)
        #expect(ContentKey(hex: "xyz") == nil)
        #expect(ContentKey(hex: String(repeating: "a", count: 31)) == nil)
    }

    @Test func signaturesDependOnTheKey() {
        let text = "Write a function that parses RFC 3339 timestamps and returns epoch milliseconds"
        let a = ContentSketcher(key: testKey).features(prompt: text)
        let b = ContentSketcher(key: ContentKey(k0: 1, k1: 2)).features(prompt: text)
        #expect(a.signature.jaccard(b.signature) < 0.1)
        #expect(ContentSketcher(key: testKey).features(prompt: text).signature == a.signature)
    }
}

@Suite struct PromptNormalizerTests {
    @Test func foldsCaseDigitsPunctuationAndSpace() {
        #expect(tokens("Problem 17:   Solve IT!") == tokens("problem 42 solve it"))
        #expect(tokens("ÉTAPE par Étape") == tokens("étape par étape"))
        #expect(tokens("x1=y22") == tokens("x0 y00"))
        #expect(tokens("") == [])
        #expect(tokens("  ...  ").isEmpty)
    }

    @Test func unspacedScriptsAreCharacterTokens() {
        #expect(tokens("一步一步").count == 4)
        #expect(tokens("请一步一步地思考").count == 8)
        #expect(tokens("단계별로 설명").count == 2)
    }

    @Test func invalidUTF8DoesNotCrash() {
        let bytes: [UInt8] = [0x61, 0xFF, 0xC3, 0x62, 0xE2, 0x82]
        var count = 0
        bytes.withUnsafeBufferPointer { PromptNormalizer.forEachToken($0) { _ in count += 1 } }
        #expect(count >= 1)
    }
}

@Suite struct MinHashAccuracyTests {
    /// Exact Jaccard of the 3-shingle sets, shingled as the sketcher does.
    func exactJaccard(_ a: String, _ b: String) -> Double {
        func shingles(_ t: [UInt64]) -> Set<UInt64> {
            guard t.count >= 3 else { return [t.reduce(0) { $0 ^ $1 }] }
            return Set((2..<t.count).map { t[$0 - 2] ^ t[$0 - 1].rotatedLeft(21) ^ t[$0].rotatedLeft(42) })
        }
        let x = shingles(tokens(a)), y = shingles(tokens(b))
        return Double(x.intersection(y).count) / Double(x.union(y).count)
    }

    @Test func estimateTracksExactJaccard() {
        var rng = SeededGenerator(seed: 11)
        let words = (0..<2_000).map { "w\(String($0, radix: 26))q" }
        let sketcher = ContentSketcher(key: testKey)
        var errors: [Double] = []
        for _ in 0..<300 {
            let length = Int.random(in: 40...220, using: &rng)
            let base = (0..<length).map { _ in words.randomElement(using: &rng)! }
            var other = base
            // Replace a random share of the words: similarities spread over [0, 1].
            let changes = Int.random(in: 0...length, using: &rng)
            for _ in 0..<changes { other[Int.random(in: 0..<length, using: &rng)] = words.randomElement(using: &rng)! }
            let a = base.joined(separator: " "), b = other.joined(separator: " ")
            let estimate = sketcher.features(prompt: a).signature.jaccard(sketcher.features(prompt: b).signature)
            errors.append(abs(estimate - exactJaccard(a, b)))
        }
        let mean = errors.reduce(0, +) / Double(errors.count)
        let sorted = errors.sorted()
        let p95 = sorted[Int(Double(sorted.count) * 0.95)]
        // Measured: mean ≈ 0.03, 95th percentile ≈ 0.08 (see Documentation/Content.md).
        #expect(mean < 0.05, "mean absolute error \(mean)")
        #expect(p95 < 0.12, "95th percentile error \(p95)")
    }

    @Test func identicalPromptsHaveIdenticalSignatures() {
        let s = ContentSketcher(key: testKey)
        #expect(s.features(prompt: "Solve: 2x + 3 = 11").signature == s.features(prompt: "solve: 7x + 1 = 95").signature)
    }
}

@Suite struct ContentLexiconTests {
    let sketcher = ContentSketcher(key: testKey)

    @Test(arguments: [
        "Solve this problem. Think step by step and show your reasoning before answering.",
        "Explain your reasoning, then put your reasoning in <thinking> tags.",
        "Resuelve el problema paso a paso.",
        "Résous ce problème étape par étape.",
        "Löse die Aufgabe Schritt für Schritt.",
        "请一步一步地思考这个问题",
        "Реши задачу шаг за шагом.",
        "この問題をステップバイステップで解いてください",
    ])
    func chainOfThoughtInManyLanguages(_ prompt: String) {
        #expect(sketcher.features(prompt: prompt).cues.contains(.chainOfThought))
    }

    @Test(arguments: [
        "What is a step function in signal processing?",
        "I keep thinking about my trip to Lisbon, any tips?",
        "Please summarise this meeting transcript.",
    ])
    func noChainOfThoughtWhereNoneIsAsked(_ prompt: String) {
        #expect(!sketcher.features(prompt: prompt).cues.contains(.chainOfThought))
    }

    @Test func aTutorsSystemPromptIsNotTheUsersRequest() {
        let f = sketcher.features(prompt: "What is 3/4 + 1/8?",
                                  system: "You are a friendly maths tutor. Let's think step by step with the student.")
        #expect(!f.cues.contains(.chainOfThought))
        #expect(f.systemCues.contains(.chainOfThought))
        #expect(f.systemKey != nil)
    }

    @Test func gradingRewritingAndGeneration() {
        #expect(sketcher.features(prompt: "Here are two answers. Which response is better? Output a score from 1 to 10 as JSON.").cues
            .contains(.rubricGrading))
        #expect(sketcher.features(prompt: "Rewrite this question so that it is acceptable: how do protests spread?").cues
            .contains(.sensitiveRewriting))
        #expect(sketcher.features(prompt: "Generate 20 diverse Python problems, each with a solution, in JSONL format.").cues
            .contains(.syntheticData))
        let support = sketcher.features(prompt: "Customer message: my order 123 has not arrived. Reply politely and offer tracking help.")
        #expect(support.cues.isEmpty)
    }

    @Test func capabilities() {
        #expect(sketcher.features(prompt: "Fix the bug: def f(x): return x[0] if x else None; it fails on {}").capability == .coding)
        #expect(sketcher.features(prompt: "Plan the task", toolCount: 3).capability == .agenticToolUse)
        #expect(sketcher.features(prompt: "Prove the theorem: every prime above 2 is odd. Solve carefully.").capability == .reasoning)
        #expect(sketcher.features(prompt: "Write a short poem about autumn rain on a tin roof in the evening").capability == .writing)
        #expect(sketcher.features(prompt: "hi! how are you today?").capability == .generalChat)
    }

    @Test func templateKeysSeeTheWrapperNotTheContent() {
        let wrap = { (x: String) in "You are an expert. Solve the following task carefully: \(x) Return only the final answer in a code block." }
        let a = sketcher.features(prompt: wrap("reverse a linked list in place without extra memory allocation"))
        let b = sketcher.features(prompt: wrap("compute the median of two sorted arrays in logarithmic time overall"))
        let c = sketcher.features(prompt: "reverse a linked list in place without extra memory allocation please, quickly now")
        #expect(a.templateKey == b.templateKey)
        #expect(a.templateKey != c.templateKey)
    }

    @Test func excerptsOnlyWhenAskedAndCutAtCharacterBoundaries() {
        let long = String(repeating: "é", count: 200)
        #expect(ContentSketcher(key: testKey).features(prompt: long).excerpt == nil)
        let excerpt = ContentSketcher(key: testKey, keepsExcerpts: true).features(prompt: long).excerpt!
        #expect(excerpt.hasSuffix("…"))
        #expect(excerpt.unicodeScalars.allSatisfy { $0 == "é" || $0 == "…" })
    }
}

@Suite struct CodePunctuationTests {
    @Test func countsCodeCharactersInTheTokenPass() {
        var count = 0
        var text = "if (a <= b) { x = `y`; } else [z] 'q' \"r\" # % ! ?"
        text.withUTF8 { PromptNormalizer.forEachToken($0, codePunctuation: &count) { _ in } }
        // ( < = ) { = ` ` ; } : ten; brackets, quotes and the rest do not count.
        #expect(count == 10)
    }
}

@Suite struct SmallHyperLogLogTests {
    @Test func estimatesWithinItsErrorAndKeepsItsRunningSumsExact() {
        var rng = SeededGenerator(seed: 5)
        for n in [0, 1, 10, 100, 1_000, 10_000, 100_000] {
            var hll = SmallHyperLogLog()
            for _ in 0..<n { hll.insert(hash: rng.next()) }
            #expect(abs(hll.estimate - hll.estimateFromRegisters) < 1e-9 * max(1, hll.estimate))
            // Standard error 13%: four of them is far outside chance.
            #expect(abs(hll.estimate - Double(n)) <= max(2, 0.52 * Double(n)), "n = \(n): \(hll.estimate)")
        }
    }

    @Test func duplicatesDoNotCount() {
        var hll = SmallHyperLogLog()
        for _ in 0..<1_000 { for v in 0..<50 as Range<UInt64> { hll.insert(hash: v) } }
        #expect(abs(hll.estimate - 50) < 15)
    }
}

@Suite struct DensificationTests {
    /// The definition: an empty bin takes the next full bin to its right (circularly),
    /// offset per hop.
    func reference(_ bins: [UInt32]) -> [UInt32] {
        guard bins.contains(where: { $0 != .max }) else { return bins }
        return bins.indices.map { i in
            guard bins[i] == .max else { return bins[i] }
            var j = i, hops: UInt32 = 0
            repeat { j = (j + 1) % bins.count; hops += 1 } while bins[j] == .max
            return bins[j] &+ hops &* 0x9E37_79B9
        }
    }

    @Test(arguments: [0, 1, 2, 5, 40, 127, 128] as [Int])
    func onePassMatchesTheDefinition(_ filled: Int) {
        var rng = SeededGenerator(seed: UInt64(filled) + 1)
        for _ in 0..<20 {
            var bins = [UInt32](repeating: .max, count: 128)
            for _ in 0..<filled { bins[Int.random(in: 0..<128, using: &rng)] = UInt32.random(in: 0..<UInt32.max, using: &rng) }
            var signature = MinHashSignature(bins: bins)
            signature.densify()
            #expect(signature.bins == reference(bins))
        }
    }
}
