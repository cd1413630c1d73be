@testable import DistillWatchCore
@testable import DistillWatchSimulator
import DistillWatchTestSupport
import Testing

/// The per-exchange path reads an account's signals and its unkeyed traffic's key signals
/// where the states lie (``BehaviourSignals/values(inPlace:_:unkeyed:)``,
/// ``BehaviourSignals/keySignals(inPlace:_:)``): `inout` for the address only. Checked on the
/// scenarios' accounts: the states are not written (their snapshot bytes are unchanged),
/// and the values are those of a copy, bit for bit.
@Suite(.onTheHeavyLane) struct SignalsReadInPlaceTests {
    static let sketcher = ContentSketcher(key: ContentKey(k0: 5, k1: 0x51_6A15))

    static func bytes(_ s: AccountState) -> [UInt8] {
        var w = SnapshotWriter()
        s.write(to: &w)
        return w.bytes
    }

    static func bytes(_ k: KeyState) -> [UInt8] {
        var w = SnapshotWriter()
        k.write(to: &w)
        return w.bytes
    }

    @Test(arguments: [("cot-harvest", 0.01), ("key-abuse", 0.01), ("mixed", 1.0)])
    func signalsReadInPlaceWriteNothingAndMatchACopy(_ name: String, scale: Double) throws {
        let plan = ScenarioPlan(scenario: try #require(Scenario.named(name)), scale: scale, seed: 5)
        // The simulator gives every exchange a key id; half the accounts here send theirs
        // without, so that their unkeyed traffic is read as a key.
        let exchanges = allExchanges(plan).map { e -> Exchange in
            var e = e.content == nil ? e.sketched(by: Self.sketcher) : e
            if e.accountID.utf8.last.map({ $0 % 2 == 0 }) ?? false { e.apiKeyID = nil }
            return e
        }.sorted { $0.time < $1.time }
        var engine = DetectionEngine(policy: .default)
        for a in plan.accounts { engine.register(a) }
        var readContent = 0
        var readUnkeyed = 0
        var nonZero = 0
        for (n, e) in exchanges.enumerated() {
            engine.observeAccepted(e)
            guard n % 97 == 0 || n == exchanges.count - 1 else { continue }
            let i = Int(try #require(engine.slot(ofAccount: e.accountID)))
            let policy = engine.policy
            let models = engine.models
            var state = engine.states[i]
            let before = Self.bytes(state)
            let k = Int(state.unkeyedSlot)
            var key = k >= 0 ? engine.keys.states[k] : nil
            let keyBefore = key.map(Self.bytes)
            SignalContext.reading(policy: policy, models: models, now: state.lastSeen) { c in
                var unkeyed: BehaviourSignals.KeySignals?
                if key != nil {
                    unkeyed = BehaviourSignals.keySignals(inPlace: &key!, c)
                    let copied = BehaviourSignals.keySignals(engine.keys.states[k], c)
                    #expect(unkeyed!.suddenChange.bitPattern == copied.suddenChange.bitPattern
                        && unkeyed!.keySharing.bitPattern == copied.keySharing.bitPattern,
                        "\(name): key signals of account \(i) differ read in place")
                    readUnkeyed += 1
                }
                let inPlace = BehaviourSignals.values(inPlace: &state, c, unkeyed: unkeyed)
                let copied = BehaviourSignals.values(engine.states[i], c, unkeyed: unkeyed)
                for kind in SignalKind.allCases {
                    #expect(inPlace[kind.ordinal].bitPattern == copied[kind.ordinal].bitPattern,
                            "\(name): \(kind) of account \(i) differs read in place")
                    if inPlace[kind.ordinal] > 0 { nonZero += 1 }
                }
            }
            if state.content.exchanges >= ContentSignals.minimumPrompts { readContent += 1 }
            #expect(Self.bytes(state) == before, "\(name): reading account \(i)'s signals in place wrote its state")
            #expect(key.map(Self.bytes) == keyBefore, "\(name): reading account \(i)'s key signals in place wrote its key")
        }
        // The reads mean something: signals that speak, and the paths a scenario brings.
        #expect(nonZero > 0, "\(name): every signal read was 0")
        if name == "cot-harvest" { #expect(readContent > 0, "\(name): no account had enough prompts for the content signals") }
        #expect(readUnkeyed > 0, "\(name): no account had unkeyed traffic")
    }
}
