/// One shard of N: the accounts whose `cityHash64(account_id) % count == index`.
///
/// The same assignment everywhere: pushed into ClickHouse as a `WHERE` filter, applied to a
/// file's exchanges here, and used to route a live account to the `serve` node that owns it.
/// An account's exchanges all land on one shard, so every per-account signal sees the whole
/// account; only cross-account linkage needs the other shards (``LinkKeyLedger``).
public struct AccountShard: Sendable, Hashable, CustomStringConvertible {
    /// From 0 to `count - 1`.
    public let index: Int
    /// How many shards there are, at least 1.
    public let count: Int

    /// The one shard that holds every account.
    public static let whole = AccountShard(uncheckedIndex: 0, count: 1)

    init(uncheckedIndex index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// Parses `k/N` (shard `k` of `N`, counted from 0).
    /// - Throws: ``AccountShard/ParseError`` naming what is wrong.
    public init(parsing text: String) throws(ParseError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]) else {
            throw ParseError("'\(text)' is not k/N (shard k of N, counted from 0, for example 0/2)")
        }
        guard n >= 1, n <= 65_536 else { throw ParseError("'\(text)': N must be from 1 to 65536") }
        guard k >= 0, k < n else { throw ParseError("'\(text)': k must be from 0 to \(n - 1)") }
        self.init(uncheckedIndex: k, count: n)
    }

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// The shard an account belongs to among `count`.
    public static func index(of accountID: String, among count: Int) -> Int {
        Int(CityHash64.hash(accountID) % UInt64(count))
    }

    /// Whether this shard owns the account.
    public func owns(_ accountID: String) -> Bool {
        count == 1 || Self.index(of: accountID, among: count) == index
    }

    public var description: String { "\(index)/\(count)" }
}
