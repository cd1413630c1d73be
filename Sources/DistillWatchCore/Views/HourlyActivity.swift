/// Traffic totals for one hour (hours since the Unix epoch, UTC).
///
/// The console's timelines and the screening report read these from the store's hourly
/// history (`account_hours`, `traffic_hours`; Documentation/Console.md, "History"), which
/// outlives the engine's 24-hour window.
public struct HourlyTotals: Sendable, Equatable, Codable {
    public var hour: Int64
    public var exchanges: Int
    public var inputTokens: Int
    public var outputTokens: Int
    /// Spend in millionths of a US dollar (integer, so sums are exact).
    public var costMicroUSD: Int64

    public init(hour: Int64, exchanges: Int = 0, inputTokens: Int = 0, outputTokens: Int = 0, costMicroUSD: Int64 = 0) {
        self.hour = hour
        self.exchanges = exchanges
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.costMicroUSD = costMicroUSD
    }

    public var costUSD: Double { Double(costMicroUSD) / 1_000_000 }

    /// Adds another hour's (or exchange's) counts, saturating at the type's bounds.
    public mutating func add(_ o: HourlyTotals) {
        exchanges = exchanges.addingReportingOverflow(o.exchanges).overflow ? .max : exchanges + o.exchanges
        inputTokens = inputTokens.addingReportingOverflow(o.inputTokens).overflow ? .max : inputTokens + o.inputTokens
        outputTokens = outputTokens.addingReportingOverflow(o.outputTokens).overflow ? .max : outputTokens + o.outputTokens
        costMicroUSD = costMicroUSD.addingReportingOverflow(o.costMicroUSD).overflow ? .max : costMicroUSD + o.costMicroUSD
    }

    /// One exchange's contribution: 1 exchange, its tokens (missing or negative as 0) and
    /// its cost (missing, negative or not finite as 0; at most $1M per exchange).
    public init(exchange e: Exchange) {
        let cost = e.costUSD.flatMap { $0.isFinite && $0 > 0 ? min($0, 1_000_000) : nil } ?? 0
        self.init(hour: e.time.hourIndex, exchanges: 1, inputTokens: max(0, e.inputTokens ?? 0),
                  outputTokens: max(0, e.outputTokens ?? 0), costMicroUSD: Int64((cost * 1_000_000).rounded()))
    }
}

/// Hourly totals per account and for all traffic, gathered from a batch of exchanges
/// before they are stored (serve) or over a whole file (scan, screen).
///
/// Pure and deterministic: rows come out sorted by account, then hour.
/// - Complexity: O(1) amortised per exchange; memory O(distinct account-hours).
public struct HourlyActivityLedger: Sendable {
    public private(set) var accounts: [String: [Int64: HourlyTotals]] = [:]
    public private(set) var traffic: [Int64: HourlyTotals] = [:]
    /// Client addresses and API keys per account, for search ("who used 198.51.100.7?").
    public private(set) var sightings: [IdentifierSighting.Key: IdentifierSighting] = [:]

    public init() {}

    public var isEmpty: Bool { traffic.isEmpty }

    public mutating func record(_ exchange: Exchange) {
        let t = HourlyTotals(exchange: exchange)
        accounts[exchange.accountID, default: [:]][t.hour, default: HourlyTotals(hour: t.hour)].add(t)
        traffic[t.hour, default: HourlyTotals(hour: t.hour)].add(t)
        if let ip = exchange.clientIP, !ip.isEmpty { sight(.clientAddress, ip, exchange) }
        if let key = exchange.apiKeyID, !key.isEmpty { sight(.apiKey, key, exchange) }
        if let agent = exchange.userAgent, !agent.isEmpty { sight(.userAgent, agent, exchange) }
    }

    private mutating func sight(_ kind: IdentifierSighting.Kind, _ value: String, _ e: Exchange) {
        let key = IdentifierSighting.Key(kind: kind, value: value, accountID: e.accountID)
        if var s = sightings[key] {
            s.firstSeen = min(s.firstSeen, e.time)
            s.lastSeen = max(s.lastSeen, e.time)
            s.exchanges += 1
            sightings[key] = s
        } else {
            sightings[key] = IdentifierSighting(kind: kind, value: value, accountID: e.accountID, firstSeen: e.time, lastSeen: e.time, exchanges: 1)
        }
    }

    /// Sightings sorted by kind, value, account.
    public var sightingRows: [IdentifierSighting] {
        sightings.values.sorted { ($0.kind.rawValue, $0.value, $0.accountID) < ($1.kind.rawValue, $1.value, $1.accountID) }
    }

    /// (account, totals) rows sorted by account id then hour.
    public var accountRows: [(accountID: String, totals: HourlyTotals)] {
        accounts.keys.sorted().flatMap { id in accounts[id]!.values.sorted { $0.hour < $1.hour }.map { (id, $0) } }
    }

    public var trafficRows: [HourlyTotals] { traffic.values.sorted { $0.hour < $1.hour } }

    /// One account's hours in time order (empty for an account not seen).
    public func hours(of accountID: String) -> [HourlyTotals] {
        (accounts[accountID] ?? [:]).values.sorted { $0.hour < $1.hour }
    }

    /// The hours of several accounts summed per hour, in time order.
    /// - Complexity: O(Σ hours of the accounts).
    public func hours(of accountIDs: some Sequence<String>) -> [HourlyTotals] {
        var sum: [Int64: HourlyTotals] = [:]
        for id in accountIDs {
            for t in (accounts[id] ?? [:]).values { sum[t.hour, default: HourlyTotals(hour: t.hour)].add(t) }
        }
        return sum.values.sorted { $0.hour < $1.hour }
    }

    /// Each account's totals over hours in `range` (hours since the epoch, upper bound
    /// excluded).
    public func totals(in range: Range<Int64>) -> [String: HourlyTotals] {
        var out: [String: HourlyTotals] = [:]
        for (id, hours) in accounts {
            var sum = HourlyTotals(hour: range.lowerBound)
            var any = false
            for (h, t) in hours where range.contains(h) { sum.add(t); any = true }
            if any { out[id] = sum }
        }
        return out
    }
}

/// An account seen using a client address, an API key or a user agent, with when and how often: the
/// index behind the console's search by address or key (`identifier_sightings`).
public struct IdentifierSighting: Sendable, Equatable, Codable {
    public enum Kind: Int, Sendable, Codable, Hashable {
        case clientAddress = 1
        case apiKey = 2
        case userAgent = 3

        public var name: String {
            switch self {
            case .clientAddress: return "address"
            case .apiKey: return "API key"
            case .userAgent: return "user agent"
            }
        }
    }

    public struct Key: Sendable, Hashable {
        public var kind: Kind
        public var value: String
        public var accountID: String
    }

    public var kind: Kind
    public var value: String
    public var accountID: String
    public var firstSeen: Timestamp
    public var lastSeen: Timestamp
    public var exchanges: Int

    public init(kind: Kind, value: String, accountID: String, firstSeen: Timestamp, lastSeen: Timestamp, exchanges: Int) {
        self.kind = kind
        self.value = value
        self.accountID = accountID
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.exchanges = exchanges
    }
}
