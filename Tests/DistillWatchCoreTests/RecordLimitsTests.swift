import Testing
@testable import DistillWatchCore

/// `Exchange.isWithinLimits`, the fast check every reader runs on every record, must agree
/// with `firstProblem`, the field-by-field check that names what is wrong: a value it let
/// through that `firstProblem` refuses would reach the engine.
@Suite struct RecordLimitsTests {
    static let valid = Exchange(time: Timestamp(millisecondsSinceEpoch: 1_772_409_600_000), accountID: "acct-1")

    /// One field set to `value` on an otherwise acceptable exchange.
    typealias Edit = (field: String, apply: (inout Exchange) -> Void)

    /// Values on, just inside and just outside each bound, per field.
    static var edits: [Edit] {
        let long = String(repeating: "x", count: RecordLimits.maximumIdentifierBytes)
        let longer = long + "x"
        let field = String(repeating: "y", count: RecordLimits.maximumFieldBytes)
        let fieldPlus = field + "é"  // 8,194 bytes: counted in bytes, not characters
        var edits: [Edit] = []
        for t: Int64 in [RecordLimits.earliestTime.millisecondsSinceEpoch - 1, RecordLimits.earliestTime.millisecondsSinceEpoch,
                         RecordLimits.endOfTime.millisecondsSinceEpoch - 1, RecordLimits.endOfTime.millisecondsSinceEpoch] {
            edits.append(("time", { $0.time = Timestamp(millisecondsSinceEpoch: t) }))
        }
        let identifiers: [(String, WritableKeyPath<Exchange, String?>)] = [
            ("request_id", \.requestID), ("api_key_id", \.apiKeyID), ("end_user_id", \.endUserID),
            ("batch_id", \.batchID), ("reasoning_replay_of", \.reasoningReplayOf),
        ]
        let shortStrings: [(String, WritableKeyPath<Exchange, String?>)] = [
            ("model", \.model), ("operation", \.operation), ("finish_reason", \.finishReason), ("client_ip", \.clientIP),
            ("country", \.country), ("user_agent", \.userAgent), ("client_fingerprint", \.clientFingerprint),
            ("reasoning_effort", \.reasoningEffort),
        ]
        for s in ["", "a", long, longer] {
            edits.append(("account_id", { $0.accountID = s }))
            for (field, path) in identifiers { edits.append((field, { $0[keyPath: path] = s })) }
        }
        for s in ["", "gpt", field, fieldPlus] {
            for (field, path) in shortStrings { edits.append((field, { $0[keyPath: path] = s })) }
        }
        for v in [-1, 0, RecordLimits.maximumTokens, RecordLimits.maximumTokens + 1, Int.min, Int.max] {
            edits.append(("input_tokens", { $0.inputTokens = v }))
            edits.append(("output_tokens", { $0.outputTokens = v }))
            edits.append(("reasoning_tokens", { $0.reasoningTokens = v }))
            edits.append(("max_tokens", { $0.maxTokens = v }))
        }
        for v in [-1, 0, RecordLimits.maximumToolCount, RecordLimits.maximumToolCount + 1] {
            edits.append(("tool_count", { $0.toolCount = v }))
        }
        for v in [-1, 0, RecordLimits.maximumMessageCount, RecordLimits.maximumMessageCount + 1] {
            edits.append(("message_count", { $0.messageCount = v }))
        }
        for v in [99, 100, 599, 600, -200] { edits.append(("status", { $0.status = v })) }
        for v in [-1, 0, 4_294_967_295, 4_294_967_296] { edits.append(("asn", { $0.asn = v })) }
        let specials: [Double] = [.nan, .infinity, -.infinity, -0.0, -1e-300]
        for v in specials + [0, RecordLimits.maximumLatencyMilliseconds, RecordLimits.maximumLatencyMilliseconds.nextUp] {
            edits.append(("latency_ms", { $0.latencyMilliseconds = v }))
        }
        for v in specials + [0, 2, RecordLimits.maximumTemperature, RecordLimits.maximumTemperature.nextUp] {
            edits.append(("temperature", { $0.temperature = v }))
        }
        for v in specials + [0, RecordLimits.maximumCostUSD, RecordLimits.maximumCostUSD.nextUp] {
            edits.append(("cost_usd", { $0.costUSD = v }))
        }
        return edits
    }

    @Test func theFastCheckAgreesWithTheNamedCheckOnEveryBound() {
        var refused = Set<String>()
        var accepted = Set<String>()
        for edit in Self.edits {
            var e = Self.valid
            edit.apply(&e)
            let problem = e.firstProblem
            #expect(e.isWithinLimits == (problem == nil), "\(edit.field): fast \(e.isWithinLimits), named \(String(describing: problem))")
            #expect(e.problem == problem)
            if let problem {
                #expect(problem.field == edit.field)
                refused.insert(edit.field)
            } else {
                accepted.insert(edit.field)
            }
        }
        // Every bounded field was both accepted (on its bound) and refused (past it).
        let fields = Set(Self.edits.map(\.field))
        #expect(refused == fields)
        #expect(accepted == fields)
    }

    @Test func theFastCheckAgreesOnRandomCombinations() {
        var random = SplitMix64(seed: 21)
        let edits = Self.edits
        for _ in 0..<5_000 {
            var e = Self.valid
            for _ in 0..<Int.random(in: 0...4, using: &random) {
                edits[Int.random(in: 0..<edits.count, using: &random)].apply(&e)
            }
            #expect(e.isWithinLimits == (e.firstProblem == nil))
        }
    }
}
