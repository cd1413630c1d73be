@testable import DistillWatchCore

/// Hand-built traffic on a manual clock: every exchange's time is given explicitly.
struct ManualClock {
    var now: Timestamp

    init(_ rfc3339: String = "2026-04-01T00:00:00Z") {
        now = Timestamp(rfc3339: rfc3339)!
    }

    mutating func advance(seconds: Double) {
        now = now.adding(seconds: seconds)
    }
}

/// The tests' seeded generator: Core's SplitMix64, so tests with random gaps repeat.
typealias SeededGenerator = SplitMix64

func exchange(
    _ account: String, at time: Timestamp, model: String? = "model-a", output: Int? = 500,
    maxTokens: Int? = nil, temperature: Double? = nil, thinking: Bool? = nil,
    messages: Int? = nil, tools: Int? = nil, status: Int? = nil
) -> Exchange {
    Exchange(time: time, accountID: account, model: model, outputTokens: output, maxTokens: maxTokens,
             temperature: temperature, thinking: thinking, toolCount: tools, messageCount: messages, status: status)
}

/// A policy where only `kind` counts, with weight 1, so a test can read one signal's
/// effect on the verdict.
func policyWithOnly(_ kind: SignalKind, base: Policy = .default) -> Policy {
    var p = base
    for k in SignalKind.allCases { p.setWeight(k == kind ? 1 : 0, for: k) }
    return p
}

func value(_ engine: DetectionEngine, _ account: String, _ kind: SignalKind) -> Double {
    engine.readings(for: account).first { $0.kind == kind }!.value
}
