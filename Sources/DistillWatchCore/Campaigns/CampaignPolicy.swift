import RealModule

/// How accounts are linked into campaigns and how a campaign is scored
/// (see Documentation/Campaigns.md).
///
/// Two accounts are joined when the evidence between them adds up to ``linkThreshold``;
/// an account whose evidence with a member of an already flagged campaign reaches the lower
/// ``attachThreshold`` joins that campaign (new heads of a known hydra). Each evidence
/// weight is what that evidence gives on its own at full strength; a key shared by more
/// accounts than its ``KeyRarity/fullWeightAccounts`` counts for less, and not at all
/// beyond ``KeyRarity/maximumAccounts`` (a campus or cloud NAT, a popular SDK).
public struct CampaignPolicy: Sendable, Equatable {
    /// How a shared key's weight falls with the number of accounts that use it.
    public struct KeyRarity: Sendable, Equatable {
        public var fullWeightAccounts: Int
        public var maximumAccounts: Int

        public init(fullWeightAccounts: Int, maximumAccounts: Int) {
            self.fullWeightAccounts = fullWeightAccounts
            self.maximumAccounts = maximumAccounts
        }

        /// 1 up to `fullWeightAccounts`, 0 beyond `maximumAccounts`, and log-linear between.
        /// - Complexity: O(1).
        public func factor(accounts n: Int) -> Double {
            if n <= fullWeightAccounts { return 1 }
            if n > maximumAccounts { return 0 }
            return Double.log(Double(maximumAccounts) / Double(n)) / Double.log(Double(maximumAccounts) / Double(fullWeightAccounts))
        }
    }

    /// Campaign detection can be turned off (accounts are then judged alone).
    public var enabled = true
    private var evidenceWeightTable: [Double]
    public var rarity: [LinkEvidenceKind: KeyRarity] {
        didSet { rarityTable = Self.table(rarity) }
    }
    /// `rarity` by ``LinkEvidenceKind/ordinal``: pair comparisons read it several times per
    /// exchange, and an array index costs a fraction of a dictionary lookup.
    private var rarityTable: [KeyRarity?]
    public var linkThreshold: Double
    public var attachThreshold: Double
    /// A linked group is scored as a campaign only from this many accounts.
    public var minimumAccounts: Int
    private var signalWeightTable: [Double]
    /// E-mail domains of mail providers anyone can sign up with: sharing one is no evidence.
    public var commonEmailDomains: Set<String>

    public init(
        evidenceWeights: [LinkEvidenceKind: Double], rarity: [LinkEvidenceKind: KeyRarity],
        linkThreshold: Double, attachThreshold: Double, minimumAccounts: Int,
        signalWeights: [CampaignSignalKind: Double], commonEmailDomains: Set<String>
    ) {
        evidenceWeightTable = LinkEvidenceKind.all.map { evidenceWeights[$0] ?? 0 }
        self.rarity = rarity
        rarityTable = Self.table(rarity)
        self.linkThreshold = linkThreshold
        self.attachThreshold = attachThreshold
        self.minimumAccounts = minimumAccounts
        signalWeightTable = CampaignSignalKind.all.map { signalWeights[$0] ?? 0 }
        self.commonEmailDomains = commonEmailDomains
    }

    public func weight(_ kind: LinkEvidenceKind) -> Double { evidenceWeightTable[kind.ordinal] }
    public mutating func setWeight(_ w: Double, for kind: LinkEvidenceKind) { evidenceWeightTable[kind.ordinal] = w }
    public func weight(_ kind: CampaignSignalKind) -> Double { signalWeightTable[kind.ordinal] }
    public mutating func setWeight(_ w: Double, for kind: CampaignSignalKind) { signalWeightTable[kind.ordinal] = w }

    /// The rarity factor of a key of `kind` shared by `n` accounts (1 for kinds without a rule).
    func rarityFactor(_ kind: LinkEvidenceKind, accounts n: Int) -> Double {
        rarityTable[kind.ordinal]?.factor(accounts: n) ?? 1
    }

    private static func table(_ rarity: [LinkEvidenceKind: KeyRarity]) -> [KeyRarity?] {
        LinkEvidenceKind.all.map { rarity[$0] }
    }

    public static let `default` = CampaignPolicy(
        evidenceWeights: [
            .sharedAddress: 0.7,
            .sharedSubnet: 0.25,
            .proxyPool: 0.5,
            .sharedPayment: 0.8,
            .sharedEmailDomain: 0.4,
            .signupBurst: 0.4,
            .sharedUserAgent: 0.3,
            .sharedClientFingerprint: 0.4,
            .synchronisedActivity: 0.6,
            .balancedVolume: 0.15,
            .parameterFingerprint: 0.3,
            .templateFamily: 0.4,
            .complementaryCoverage: 0.4,
            .sharedProxyExits: 0.7,
            .proxiedFingerprint: 0.6,
        ],
        rarity: [
            .sharedAddress: KeyRarity(fullWeightAccounts: 3, maximumAccounts: 40),
            .sharedSubnet: KeyRarity(fullWeightAccounts: 4, maximumAccounts: 64),
            .sharedPayment: KeyRarity(fullWeightAccounts: 50, maximumAccounts: 2_000),
            .sharedEmailDomain: KeyRarity(fullWeightAccounts: 10, maximumAccounts: 300),
            .sharedUserAgent: KeyRarity(fullWeightAccounts: 5, maximumAccounts: 100),
            .sharedClientFingerprint: KeyRarity(fullWeightAccounts: 5, maximumAccounts: 100),
            .parameterFingerprint: KeyRarity(fullWeightAccounts: 400, maximumAccounts: 4_000),
            .proxiedFingerprint: KeyRarity(fullWeightAccounts: 400, maximumAccounts: 4_000),
            .templateFamily: KeyRarity(fullWeightAccounts: 10, maximumAccounts: 300),
            .complementaryCoverage: KeyRarity(fullWeightAccounts: 400, maximumAccounts: 5_000),
        ],
        linkThreshold: 1.0,
        attachThreshold: 0.6,
        minimumAccounts: 3,
        signalWeights: [
            .memberEvidence: 0.45,
            .aggregateVolume: 0.5,
            .proxyRotation: 0.8,
            .accountFarm: 0.4,
            .synchronisedWaves: 0.6,
            .splitWorkload: 0.5,
            .coordinatedPivot: 0.5,
        ],
        commonEmailDomains: [
            "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com",
            "ymail.com", "proton.me", "protonmail.com", "icloud.com", "me.com", "aol.com", "gmx.de", "gmx.net",
            "web.de", "mail.ru", "yandex.com", "yandex.ru", "qq.com", "163.com", "126.com", "sina.com",
            "naver.com", "daum.net", "hanmail.net", "zoho.com", "tutanota.com", "fastmail.com", "mail.com",
        ])
}
