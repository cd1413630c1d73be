/// Which account was served each recent reasoning-bearing exchange, so that a later
/// request that sends a signed reasoning block back (`reasoning_replay_of`, traffic format
/// revision 1.1) can be told apart: the account's own recent conversation (what every
/// multi-turn tool loop does), its own older session, or another account's exchange.
///
/// A direct-mapped cache of ``capacity`` slots keyed by a 64-bit hash of the `request_id`:
/// a newer exchange overwrites an older one in its slot, so memory is fixed (16 bytes a
/// slot, 4 MiB) and lookups are one probe. A replay whose source was overwritten or never
/// seen is counted as a replay of unknown origin, never as foreign.
///
/// - Complexity: ``record(requestID:account:at:)`` and ``source(of:)`` are O(length of the
///   id) for the hash, O(1) otherwise.
struct ReasoningIndex: Sendable {
    /// Slots (a power of two): 2^18.
    static let capacity = 1 << 18

    struct Source: Sendable, Equatable {
        var account: Int32
        var time: Timestamp
    }

    private var keys: [UInt64] = []
    private var accounts: [Int32] = []
    private var minutes: [Int32] = []

    /// Notes that `account` was served a reasoning-bearing exchange `requestID` at `time`.
    mutating func record(requestID: String, account: Int32, at time: Timestamp) {
        if keys.isEmpty {
            keys = [UInt64](repeating: 0, count: Self.capacity)
            accounts = [Int32](repeating: -1, count: Self.capacity)
            minutes = [Int32](repeating: 0, count: Self.capacity)
        }
        let h = Self.key(requestID)
        let slot = Self.slot(h)
        keys[slot] = h
        accounts[slot] = account
        minutes[slot] = Int32(clamping: time.minuteIndex)
    }

    /// The account and minute that were served `requestID`, if still in the cache.
    func source(of requestID: String) -> Source? {
        guard !keys.isEmpty else { return nil }
        let h = Self.key(requestID)
        let slot = Self.slot(h)
        guard keys[slot] == h, accounts[slot] >= 0 else { return nil }
        return Source(account: accounts[slot], time: Timestamp(millisecondsSinceEpoch: Int64(minutes[slot]) * 60_000))
    }

    private static func key(_ requestID: String) -> UInt64 {
        stableHash(requestID, salt: 0x2EA5) | 1
    }

    private static func slot(_ h: UInt64) -> Int {
        Int(truncatingIfNeeded: (h &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - 18))
    }
}

// MARK: Snapshot

extension ReasoningIndex: SnapshotCodable {
    static var snapshotFieldCount: Int { 3 }

    func write(to w: inout SnapshotWriter) {
        w.array(keys) { $0.int($1) }
        w.array(accounts) { $0.int($1) }
        w.array(minutes) { $0.int($1) }
    }

    init(from r: inout SnapshotReader) throws(SnapshotError) {
        keys = try r.array(minimumElementSize: 8) { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() }
        accounts = try r.array(minimumElementSize: 4) { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() }
        minutes = try r.array(minimumElementSize: 4) { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() }
        guard (keys.isEmpty || keys.count == Self.capacity), accounts.count == keys.count, minutes.count == keys.count else {
            throw SnapshotError("the reasoning index holds \(keys.count) slots; this version has \(Self.capacity)")
        }
    }
}
