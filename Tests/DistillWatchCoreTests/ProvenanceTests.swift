@testable import DistillWatchCore
import Testing

/// Keyed response sketches and the provenance matcher (Documentation/Provenance.md).
@Suite struct ProvenanceTests {
    static let key = ContentKey(k0: 0x0123_4567_89AB_CDEF, k1: 0xFEDC_BA98_7654_3210)
    static let words = ("the a of to and in is it that for on with as was at by an be this which from or have are not but "
        + "graph node edge weight path tree root leaf queue stack heap sort merge split array index loop value return "
        + "function variable integer string float proof lemma theorem prime number divisor modulo sum product series "
        + "limit derivative integral matrix vector basis kernel rank solve check step first second then finally thus").split(separator: " ").map(String.init)

    /// A text of `n` words drawn from the vocabulary (answers of one style on one topic mix).
    static func text(_ n: Int, seed: UInt64) -> [String] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in words[Int(rng.next() % UInt64(words.count))] }
    }

    /// Replaces a share of the words, as a light paraphrase does.
    static func paraphrase(_ t: [String], share: Double, seed: UInt64) -> [String] {
        var rng = SplitMix64(seed: seed)
        return t.map { Double(rng.next() % 1000) / 1000 < share ? words[Int(rng.next() % UInt64(words.count))] + "ly" : $0 }
    }

    func sketch(_ words: [String], key: ContentKey = ProvenanceTests.key) -> ResponseSketch {
        ResponseSketch.of(words.joined(separator: " "), key: key)!
    }

    @Test func copiesTruncationsAndParaphrasesAgreeAndUnrelatedTextsDoNot() {
        let original = Self.text(300, seed: 1)
        let served = sketch(original)
        #expect(served.shingles > 200 && served.shingles <= 298, "function-word shingles are skipped: \(served.shingles)")
        let copy = sketch(original.map { $0.uppercased() }.map { $0 + "," })
        #expect(copy.agreement(with: served) == 64, "case and punctuation do not matter")

        let half = sketch(Array(original.prefix(150)))
        #expect(half.containment(in: served) > 0.8, "a truncated copy is contained: \(half.containment(in: served))")
        #expect(half.jaccard(with: served) > 0.3 && half.jaccard(with: served) < 0.75)

        let light = sketch(Self.paraphrase(original, share: 0.1, seed: 2))
        #expect(light.jaccard(with: served) > 0.4, "\(light.jaccard(with: served))")
        #expect(ProvenanceMatcher.judge(light, record: 0, against: served, id: 1, .init()) != nil)

        var falseMatches = 0
        for seed in 100..<300 where ProvenanceMatcher.judge(sketch(Self.text(300, seed: UInt64(seed))), record: 0, against: served, id: 1, .init()) != nil {
            falseMatches += 1
        }
        #expect(falseMatches == 0, "unrelated texts of the same vocabulary")
        // Under another key nothing agrees: a sketch is only comparable with its key.
        let otherKey = sketch(original, key: ContentKey(k0: 1, k1: 2))
        #expect(otherKey.agreement(with: served) <= 2)
    }

    @Test func sketchesStoreIn132Bytes() throws {
        let s = sketch(Self.text(50, seed: 9))
        #expect(s.bytes.count == 132)
        #expect(ResponseSketch(bytes: s.bytes) == s)
        #expect(ResponseSketch(bytes: [1, 2, 3]) == nil)
        #expect(ResponseSketch.of("  ... !!! ", key: Self.key) == nil, "no word, no sketch")
        #expect(ResponseSketch.of("two words", key: Self.key)?.shingles == 1)
    }

    /// Among 2,000 served responses, each harvested record finds the one it came from,
    /// lightly paraphrased or cut, and an unrelated record finds none.
    @Test func theMatcherFindsTheSourceOfEachRecord() {
        let served = (0..<2_000).map { Self.text(120 + $0 % 200, seed: UInt64(10_000 + $0)) }
        var records: [ResponseSketch?] = []
        var expected: [Int64?] = []
        for k in 0..<60 {
            let source = k * 31
            var t = served[source]
            switch k % 3 {
            case 0: t = Self.paraphrase(t, share: 0.12, seed: UInt64(k))
            case 1: t = Array(t.prefix(t.count * 2 / 3))
            default: break
            }
            records.append(sketch(t))
            expected.append(Int64(source))
        }
        for k in 0..<60 {
            records.append(sketch(Self.text(200, seed: UInt64(900_000 + k))))
            expected.append(nil)
        }
        records.append(nil)
        expected.append(nil)
        var matcher = ProvenanceMatcher(records: records)
        for (i, t) in served.enumerated() { matcher.offer(sketch(t), id: Int64(i)) }
        for (r, want) in expected.enumerated() {
            #expect(matcher.matches[r].first?.response == want, "record \(r): \(matcher.matches[r].first.map { "\($0)" } ?? "none"); direct: \(want.map { records[r]!.agreement(with: sketch(served[Int($0)])) } ?? -1), containment \(want.map { records[r]!.containment(in: sketch(served[Int($0)])) } ?? -1)")
        }
        #expect(matcher.responsesOffered == 2_000)
        #expect(matcher.candidatePairs < 2_000 * 10, "banding compares few pairs: \(matcher.candidatePairs)")
        let background = matcher.backgroundRate(pairs: 5_000)
        #expect(background.compared > 3_000 && background.matched == 0, "\(background)")
    }
}
