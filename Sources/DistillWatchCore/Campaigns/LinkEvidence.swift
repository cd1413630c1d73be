/// A kind of evidence that two accounts are run by one operator.
///
/// The raw value is the `kind` written in a campaign's evidence list (report v1 §4).
public enum LinkEvidenceKind: String, CaseIterable, Sendable, Codable {
    /// The same client address (IPv4 or IPv6), weighted by how few accounts use it.
    case sharedAddress = "shared_address"
    /// The same /24 (IPv4) or /48 (IPv6), weighted by how few accounts use it.
    case sharedSubnet = "shared_subnet"
    /// Both accounts rotate through many networks and countries, and the networks overlap:
    /// one residential-proxy pool.
    case proxyPool = "proxy_pool"
    case sharedPayment = "shared_payment"
    /// The same sign-up e-mail domain, when it is not a common mail provider.
    case sharedEmailDomain = "shared_email_domain"
    /// Opened within the same hour, weighted up when many accounts were opened then.
    case signupBurst = "signup_burst"
    case sharedUserAgent = "shared_user_agent"
    case sharedClientFingerprint = "shared_client_fingerprint"
    /// Active in the same minutes (SynchroTrap-style Jaccard over minute buckets).
    case synchronisedActivity = "synchronised_activity"
    /// Near-equal volumes over the last 24 hours: traffic spread by a load balancer.
    case balancedVolume = "balanced_volume"
    /// The same stable request parameters (max_tokens, temperature, streaming, tools, model).
    case parameterFingerprint = "parameter_fingerprint"
    /// The same system prompt or prompt template, weighted by how few accounts use it.
    case templateFamily = "template_family"
    /// Distinct items from one shared task list: a template many accounts fill with
    /// mostly different content.
    case complementaryCoverage = "complementary_coverage"
    /// Both accounts used many residential addresses and a large share of them are the
    /// same: sticky sessions through one proxy pool (low-and-slow campaigns), which two
    /// unrelated customers never show.
    case sharedProxyExits = "shared_proxy_exits"
    /// Both accounts hide behind changing proxy exits and send one identical, uncommon set
    /// of request parameters from different client software: one harness configuration,
    /// not a client's defaults.
    case proxiedFingerprint = "proxied_fingerprint"

    /// Position in `allCases`, for table lookups. - Complexity: O(1).
    @inlinable
    public var ordinal: Int {
        switch self {
        case .sharedAddress: return 0
        case .sharedSubnet: return 1
        case .proxyPool: return 2
        case .sharedPayment: return 3
        case .sharedEmailDomain: return 4
        case .signupBurst: return 5
        case .sharedUserAgent: return 6
        case .sharedClientFingerprint: return 7
        case .synchronisedActivity: return 8
        case .balancedVolume: return 9
        case .parameterFingerprint: return 10
        case .templateFamily: return 11
        case .complementaryCoverage: return 12
        case .sharedProxyExits: return 13
        case .proxiedFingerprint: return 14
        }
    }

    public static let count = 15
    public static let all: [LinkEvidenceKind] = allCases

    var bit: UInt16 { 1 << UInt16(ordinal) }
}

/// What makes a linked group of accounts look like an extraction campaign rather than an
/// organisation's ordinary accounts. Each is computed over the whole group.
public enum CampaignSignalKind: String, CaseIterable, Sendable, Codable {
    /// Members' own scores (behaviour and content), averaged over the group.
    case memberEvidence = "member_evidence"
    /// The group's exchanges over the last 24 hours, from free and standard accounts.
    case aggregateVolume = "aggregate_volume"
    /// Share of members that rotate through residential-proxy networks or share a pool of
    /// sticky proxy exits.
    case proxyRotation = "proxy_rotation"
    /// Many unverified free or standard accounts in one group.
    case accountFarm = "account_farm"
    /// Members move in synchronised waves around the clock.
    case synchronisedWaves = "synchronised_waves"
    /// Members split one task list between them.
    case splitWorkload = "split_workload"
    /// The group moved to a newly released model at once.
    case coordinatedPivot = "coordinated_pivot"

    @inlinable
    public var ordinal: Int {
        switch self {
        case .memberEvidence: return 0
        case .aggregateVolume: return 1
        case .proxyRotation: return 2
        case .accountFarm: return 3
        case .synchronisedWaves: return 4
        case .splitWorkload: return 5
        case .coordinatedPivot: return 6
        }
    }

    public static let count = 7
    public static let all: [CampaignSignalKind] = allCases
    /// The signals of accounts acting together (as opposed to members' own evidence or
    /// shared content): a group needs one of them to be flagged.
    public static let coordination: [CampaignSignalKind] = [
        .aggregateVolume, .proxyRotation, .accountFarm, .synchronisedWaves, .coordinatedPivot,
    ]
}
