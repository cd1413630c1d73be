import DistillWatchCore
import Foundation

/// `shard:` in the configuration file (`--shard`, `--shard-nodes`, … on the command line):
/// this `serve` node is live shard `k` of `N` and answers for the accounts it owns,
/// `cityHash64(account_id) % N == k` (``AccountShard``, the assignment `scan --shard` and
/// ClickHouse use).
///
/// ```yaml
/// shard:
///   index: 0                                   # k
///   nodes: [http://dw-0:8080, http://dw-1:8080] # every shard's node, in shard order (N = 2)
///   owner_down: allow                          # or refuse
///   forward_timeout_ms: 250
///   campaigns: {store: clickhouse://ch1:8123/dw, run: nightly, interval_seconds: 300}
/// ```
///
/// See ``ShardRouter`` for what a node does with another shard's account, and
/// Documentation/ClickHouse.md, "Live shards".
public struct ShardSettings: Sendable, Equatable {
    /// This node's shard.
    public var shard: AccountShard
    /// The base URL of every shard's node (`http(s)://host:port`), in shard order: `nodes[k]`
    /// is this node, and `nodes.count` is N.
    public var nodes: [String]
    /// What a node answers for another shard's account while that shard's node does not.
    public var ownerDown: OwnerDown = .allow
    /// How long a forwarded call waits for the owner, in ms (then the owner is down).
    public var forwardTimeoutMilliseconds = 250
    /// Where the campaign step's verdicts come from (``CampaignFeed``), if anywhere.
    public var campaigns: CampaignFeed?

    /// The answer for an account whose owner cannot be reached.
    public enum OwnerDown: String, Sendable, CaseIterable {
        /// Answer `allow`, marked `owner_unavailable` (in `reasons`, the audit and
        /// `distillwatch_shard_forwards_total{result="owner_unavailable"}`): the gateway
        /// serves the request. The default: a node down must not take the API down.
        case allow
        /// Answer 503 naming the shard, so the gateway's own failure policy decides
        /// (LiteLLM's guardrail `unreachable_fallback`, Envoy's `failure_mode_allow`), and an
        /// ingest batch is refused whole (retry it).
        case refuse
    }

    /// The verdicts of the sharded scans' campaign step (`distillwatch campaigns --store URL
    /// --run ID`), read from ClickHouse every `intervalSeconds`: a member of a campaign found
    /// across shards is flagged on the node that owns it (``CampaignStepVerdicts``).
    public struct CampaignFeed: Sendable, Equatable {
        /// `clickhouse://[USER@]HOST[:PORT]/DATABASE`, the store the step wrote to.
        public var store: String
        /// The run id given to `scan --run` and `campaigns --run`.
        public var run: String
        public var intervalSeconds: Double = 300

        public init(store: String, run: String, intervalSeconds: Double = 300) {
            self.store = store
            self.run = run
            self.intervalSeconds = intervalSeconds
        }
    }

    public init(shard: AccountShard, nodes: [String], ownerDown: OwnerDown = .allow, forwardTimeoutMilliseconds: Int = 250,
                campaigns: CampaignFeed? = nil) {
        self.shard = shard
        self.nodes = nodes
        self.ownerDown = ownerDown
        self.forwardTimeoutMilliseconds = forwardTimeoutMilliseconds
        self.campaigns = campaigns
    }

    /// The node of shard `index`, without a trailing slash.
    func node(_ index: Int) -> String {
        var url = nodes[index]
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    /// Checks the node list against the shard, the timeout and the feed.
    /// - Throws: ``ConfigurationError`` naming the setting.
    public func validate() throws(ConfigurationError) {
        guard nodes.count == shard.count else {
            throw ConfigurationError("shard.nodes: \(nodes.count) node(s) for shard \(shard): give the URL of every shard's node, "
                                     + "\(shard.count) in shard order (this node's own at position \(shard.index))")
        }
        var seen = Set<String>()
        for (i, url) in nodes.enumerated() {
            let parts = URLComponents(string: url)
            guard url.hasPrefix("http://") || url.hasPrefix("https://"), url.utf8.count <= 2_048,
                  !url.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F }),
                  let parts, let host = parts.host, !host.isEmpty, parts.query == nil, parts.fragment == nil,
                  parts.user == nil, parts.path.isEmpty || parts.path == "/" else {
                throw ConfigurationError("shard.nodes[\(i)] \"\(url)\": should be a node's base URL, without a path, such as http://dw-\(i):8080")
            }
            if let port = parts.port, !(1...65_535).contains(port) {
                throw ConfigurationError("shard.nodes[\(i)] \"\(url)\": port \(port) is not in 1...65535")
            }
            guard seen.insert(node(i)).inserted else { throw ConfigurationError("shard.nodes[\(i)] \"\(url)\": appears twice") }
        }
        guard (10...60_000).contains(forwardTimeoutMilliseconds) else {
            throw ConfigurationError("shard.forward_timeout_ms: \(forwardTimeoutMilliseconds); give 10 to 60000")
        }
        if let feed = campaigns {
            guard feed.store.hasPrefix("clickhouse://") || feed.store.hasPrefix("clickhouses://") else {
                throw ConfigurationError("shard.campaigns.store \"\(feed.store)\": should be clickhouse://HOST:PORT/DATABASE")
            }
            guard !feed.run.isEmpty else { throw ConfigurationError("shard.campaigns.run: give the run id of the sharded scans") }
            guard feed.intervalSeconds >= 1, feed.intervalSeconds <= 86_400, feed.intervalSeconds.isFinite else {
                throw ConfigurationError("shard.campaigns.interval_seconds: \(feed.intervalSeconds); give 1 to 86400")
            }
        }
    }
}
