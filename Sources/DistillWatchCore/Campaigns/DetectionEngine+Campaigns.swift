import RealModule

/// Campaign detection inside the engine: linking accounts as their exchanges arrive,
/// scoring linked groups, and carrying a flagged campaign's verdict to its members.
extension DetectionEngine {
    // MARK: Per exchange

    /// What `observe` knew before it updated the account, for the group's running totals.
    struct LinkContext {
        var ownScoreBefore: Double
        var pivotWindowBefore: Int32
        var pivotNewModelBefore: Int32
        /// The template family of this exchange, when it was a split task list.
        var splitFamily: UInt64?
        /// The exchange's address keys (``AddressKeys/keys(_:)``), read in ``prepare(_:)``.
        var networkKeys: (address: UInt64, subnet: UInt64?)?
    }

    /// Updates the linkage graph with one exchange of account `i`, already counted in its
    /// own state: the group's totals, the account's profile, and any new links.
    /// - Complexity: O(1) amortised; at milestones, O(profile keys × 4) comparisons.
    /// - Parameter firstRecord: the account's record, read at its first exchange (by
    ///   reference: an optional record passed by value was copied on every exchange).
    mutating func link(_ i: Int32, _ e: Exchange, at t: Timestamp, context: LinkContext, firstRecord: FirstRecord?) {
        let ii = Int(i)
        guard policy.campaigns.enabled, !linkage.profiles[ii].detached, !linkViews[ii].allowlisted else { return }
        let first = linkViews[ii].exchanges == 1
        if first, let firstRecord { readRecord(i, firstRecord.record) }

        // The group's totals.
        let r = linkage.find(i)
        if let gi = linkage.groups.index(forKey: r) {
            // Updated in place through the index (a group's totals are ~300 bytes).
            linkage.groups.values[gi].record(
                at: t, outputTokens: Int64(max(0, e.outputTokens ?? 0)),
                pivotWindow: Int64(linkViews[ii].pivotWindowExchanges - context.pivotWindowBefore),
                pivotNewModel: Int64(linkViews[ii].pivotNewModelExchanges - context.pivotNewModelBefore))
            linkage.groups.values[gi].ownScoreSum += linkViews[ii].score - context.ownScoreBefore
        }

        // The account's profile.
        linkage.profiles[ii].noteNetwork(asn: e.asn, country: e.country)
        linkage.profiles[ii].noteMinute(t.minuteIndex)
        if let family = context.splitFamily { linkage.profiles[ii].splitFamilyKey = family }
        var announce = first || linkViews[ii].exchanges >= linkage.profiles[ii].nextMilestone
        if !linkage.profiles[ii].countedRotating, linkage.profiles[ii].isRotating {
            linkage.profiles[ii].countedRotating = true
            announce = true
        }
        if !linkage.profiles[ii].countedProxy, linkage.profiles[ii].countedRotating || linkage.profiles[ii].usesManyExits {
            linkage.profiles[ii].countedProxy = true
            if let gi = linkage.groups.index(forKey: r) { linkage.groups.values[gi].rotatingMembers += 1 }
            announce = true
        }

        // Keys seen on the exchange.
        let networkKeys = context.networkKeys
        if let key = networkKeys?.address { linkage.profiles[ii].voteAddress(key) }
        if let key = networkKeys?.address, key != linkage.profiles[ii].lastAddressKey {
            linkage.profiles[ii].lastAddressKey = key
            linkage.profiles[ii].noteAddress(key)
            let a = linkage.keys.joinExchangeKey(key, account: i)
            if a.isNew { compare(i, with: a.candidates, key: .sharedAddress, accounts: a.accounts, at: t) }
            if let subnet = networkKeys?.subnet {
                let s = linkage.keys.joinExchangeKey(subnet, account: i)
                if s.isNew { compare(i, with: s.candidates, key: .sharedSubnet, accounts: s.accounts, at: t) }
            }
        }
        if let agent = e.userAgent {
            let key = stableHash(agent, salt: 0x0A6E)
            if key != linkage.profiles[ii].userAgentKey {
                linkage.profiles[ii].userAgentKey = key
                let j = linkage.keys.joinClientKey(key, account: i)
                if j.isNew { compare(i, with: j.candidates, key: .sharedUserAgent, accounts: j.accounts, at: t) }
            }
        }
        if let fingerprint = e.clientFingerprint {
            let key = stableHash(fingerprint, salt: 0xF1F6)
            if key != linkage.profiles[ii].fingerprintKey {
                linkage.profiles[ii].fingerprintKey = key
                let j = linkage.keys.joinClientKey(key, account: i)
                if j.isNew { compare(i, with: j.candidates, key: .sharedClientFingerprint, accounts: j.accounts, at: t) }
            }
        }

        if announce {
            let next = linkage.profiles[ii].nextMilestone
            linkage.profiles[ii].nextMilestone = next <= 1 ? 8 : next * 2
            announceProfileKeys(i, at: t)
        }
        rescoreGroup(linkage.find(i), at: t, force: false)
    }

    private mutating func readRecord(_ i: Int32, _ record: AccountRecord) {
        let ii = Int(i)
        if let payment = record.paymentFingerprint, !payment.isEmpty {
            linkage.profiles[ii].paymentKey = stableHash(payment, salt: 0x9A7)
        }
        if let domain = record.emailDomain?.lowercased(), !domain.isEmpty,
           !policy.campaigns.commonEmailDomains.contains(domain) {
            linkage.profiles[ii].emailKey = stableHash(domain, salt: 0xE3A1)
        }
        linkage.profiles[ii].created = record.created
        let tier = record.tier?.lowercased()
        let selfServe = tier == nil || tier == "free" || tier == "standard"
        linkage.profiles[ii].unverifiedSelfServe = selfServe && record.verified != true
    }

    /// Joins the account's profile keys and compares it with the recent accounts on each.
    private mutating func announceProfileKeys(_ i: Int32, at t: Timestamp) {
        let ii = Int(i)
        let p = linkage.profiles[ii]
        var keys: [(LinkEvidenceKind, UInt64)] = []
        if p.paymentKey != 0 { keys.append((.sharedPayment, p.paymentKey)) }
        if p.emailKey != 0 { keys.append((.sharedEmailDomain, p.emailKey)) }
        if let created = p.created { keys.append((.signupBurst, Self.signupKey(created))) }
        let facts = linkFacts(ii)
        if let params = facts.parameters { keys.append((.parameterFingerprint, params)) }
        if let system = facts.systemPrompt { keys.append((.templateFamily, Self.templateKey(system))) }
        if p.splitFamilyKey != 0 { keys.append((.complementaryCoverage, Self.taskListKey(p.splitFamilyKey))) }
        if p.countedRotating { keys.append((.proxyPool, 0x9_0017_0001)) }
        if p.usesManyExits, !p.countedRotating { keys.append((.sharedProxyExits, 0x9_0017_0002)) }
        if p.activeMinutes >= 16 {
            for band in 0..<4 {
                var h = UInt64(band) &+ 0x5_1AC0
                for k in 0..<4 { h = finalMix(h ^ UInt64(p.minuteSketch[band * 4 + k])) }
                keys.append((.synchronisedActivity, h))
            }
        }
        for (kind, key) in keys {
            let countAgain = kind == .synchronisedActivity || linkage.profiles[ii].joinedKinds & kind.bit == 0
            linkage.profiles[ii].joinedKinds |= kind.bit
            let j = linkage.keys.joinProfileKey(key, account: i, countAgain: countAgain)
            compare(i, with: j.candidates, key: nil, accounts: j.accounts, at: t)
        }
    }

    static func signupKey(_ created: Timestamp) -> UInt64 {
        stableHash(UInt64(bitPattern: created.hourIndex), salt: 0x516)
    }

    /// The profile key of a system prompt (its content key, salted apart from other kinds).
    static func templateKey(_ systemKey: UInt64) -> UInt64 { stableHash(systemKey, salt: 0x7E3) }

    /// The profile key of a split task list (its template family's key, salted).
    static func taskListKey(_ familyKey: UInt64) -> UInt64 { stableHash(familyKey, salt: 0xC0F) }

    /// An account's request-parameter fingerprint as of its latest exchange
    /// (``AccountState/parameterKey(of:)``), kept in its link view.
    func parameterKey(of i: Int) -> UInt64? { linkViews[i].parameters }

    // MARK: Comparing two accounts

    /// The evidence between two accounts, split by what it rests on.
    struct PairEvidence {
        var total = 0.0
        /// Evidence about the accounts and their clients: payment, e-mail, sign-up,
        /// addresses, user agent, client fingerprint, proxy pool.
        var identity = 0.0
        /// Everything but content and parameters (identity plus synchrony and balance).
        var independent = 0.0
        /// The largest single contribution of a kind that ties the two accounts' operators
        /// or clients together (an address, a proxy pool, a payment method, a user agent, a
        /// client fingerprint or synchronised activity): what a link must rest on. Not
        /// registration data: an e-mail domain or a sign-up hour is what a stranger shares by
        /// coincidence with some member of a campaign of thousands, the more often the
        /// larger the campaign. Nor a subnet, a balanced volume, content or parameters.
        var strongest = 0.0
        var kinds: UInt16 = 0

        mutating func add(_ kind: LinkEvidenceKind, _ weight: Double) {
            total += weight
            kinds |= kind.bit
            switch kind {
            case .templateFamily, .complementaryCoverage, .parameterFingerprint: break
            case .synchronisedActivity, .balancedVolume: independent += weight
            default:
                identity += weight
                independent += weight
            }
            switch kind {
            case .sharedSubnet, .balancedVolume, .templateFamily, .complementaryCoverage, .parameterFingerprint,
                 .sharedEmailDomain, .signupBurst: break
            default: strongest = max(strongest, weight)
            }
        }
    }

    /// Compares account `a` with each candidate and links them when the evidence is enough.
    private mutating func compare(_ a: Int32, with candidates: InlineArray<4, Int32>, key: LinkEvidenceKind?,
                                  accounts: Int, at t: Timestamp) {
        let factor = key.map { policy.campaigns.rarityFactor($0, accounts: accounts) } ?? 0
        let ruledOut = Self.ruledOutBelow(policy.campaigns.attachThreshold)
        linkage.work.keyJoins += 1
        for k in 0..<4 {
            let b = candidates[k]
            guard b >= 0 else { break }
            guard !linkage.profiles[Int(b)].detached, !linkViews[Int(b)].allowlisted,
                  linkViews[Int(b)].label != .legitimate else { continue }
            // Most pairs a shared network brings together fall short of attaching (seven in
            // eight on the shared-network benchmark file): the bound rules them out before the
            // sketches are compared and the keys' account counts looked up. Counted as
            // compared either way, so the linkage work reported does not depend on it.
            if pairEvidenceBound(a, b, sharedKey: key, keyFactor: factor) < ruledOut {
                linkage.work.pairComparisons += 1
                continue
            }
            let evidence = pairEvidence(a, b, sharedKey: key, keyFactor: factor)
            guard evidence.total >= policy.campaigns.attachThreshold else { continue }
            join(a, b, evidence: evidence, at: t)
        }
    }

    /// The evidence that accounts `a` and `b` are run by one operator, as they stand: the
    /// key that brought them together (weighted by its rarity) plus every comparison of
    /// their profiles. Returns the total weight and the kinds that contributed, and counts
    /// the comparison in ``LinkageWork/pairComparisons``.
    ///
    /// `mutating` for the count, and so that the engine is passed by address: called as a
    /// non-mutating method from `compare` (which is), it was passed as a copy of the
    /// engine's 848 inline bytes per pair compared (callgrind and the disassembly, 30
    /// November 2026).
    /// - Complexity: O(1) (a few hash lookups and two 16-bin sketch comparisons).
    mutating func pairEvidence(_ a: Int32, _ b: Int32, sharedKey: LinkEvidenceKind?, keyFactor: Double) -> PairEvidence {
        linkage.work.pairComparisons += 1
        precondition(a >= 0 && b >= 0 && Int(a) < linkage.profiles.count && Int(b) < linkage.profiles.count,
                     "pair \(a), \(b) outside the \(linkage.profiles.count) link profiles")
        // The two profiles are read in place: `let pa = linkage.profiles[a]` copied both
        // 240-byte profiles to the stack on every pair, about 130 of the pair's 340
        // instructions, most fields unread (callgrind, 1 December 2026).
        return linkage.profiles.withUnsafeBufferPointer { profiles in
            evidence(profiles.baseAddress! + Int(a), profiles.baseAddress! + Int(b), a, b,
                     sharedKey: sharedKey, keyFactor: keyFactor)
        }
    }

    /// The value below which ``pairEvidenceBound(_:_:sharedKey:keyFactor:)`` rules a pair
    /// out, for an attach threshold `attach`: `attach` less 10⁻⁹ of `max(1, attach)`.
    ///
    /// The bound and the exact total sum at most 16 non-negative terms in different orders
    /// and groupings, so as floating-point numbers they can differ by up to about 30 units of
    /// rounding (2⁻⁵³) of the total even where the bound's terms are as large as the exact
    /// ones (recursive summation's error bound, Higham, *Accuracy and Stability of Numerical
    /// Algorithms*, 2nd ed., §4.2). A margin relative to the threshold covers that at any
    /// scale a policy file allows (weights and thresholds up to 10¹²): an absolute 10⁻⁹
    /// did not, with a threshold near 2³⁹ (a review of this change found the policy).
    static func ruledOutBelow(_ attach: Double) -> Double {
        attach - 1e-9 * max(1, abs(attach))
    }

    /// An upper bound on ``pairEvidence(_:_:sharedKey:keyFactor:)``'s total for accounts `a`
    /// and `b`, from their profiles' and link views' fields alone: each kind of evidence
    /// whose conditions hold counts at its full weight, since every factor the exact
    /// comparison applies (a key's rarity, a sketch's overlap, a clamped excess, the quarter
    /// for a second client key) is between 0 and 1. It compares no sketch and looks up no
    /// key's account count. The shared key counts unless either account is already counted
    /// as behind proxies (where the exact comparison surely drops an address or a subnet; it
    /// also drops them for a member of a rotating group, which the bound does not look up).
    ///
    /// `mutating` only so that the engine is passed by address (as for ``pairEvidence``).
    /// - Complexity: O(1): about a dozen field comparisons on two profiles and two views.
    mutating func pairEvidenceBound(_ a: Int32, _ b: Int32, sharedKey: LinkEvidenceKind?, keyFactor: Double) -> Double {
        precondition(a >= 0 && b >= 0 && Int(a) < linkage.profiles.count && Int(b) < linkage.profiles.count,
                     "pair \(a), \(b) outside the \(linkage.profiles.count) link profiles")
        return linkage.profiles.withUnsafeBufferPointer { profiles in
            evidenceBound(profiles.baseAddress! + Int(a), profiles.baseAddress! + Int(b), a, b,
                          sharedKey: sharedKey, keyFactor: keyFactor)
        }
    }

    @inline(__always)
    private func evidenceBound(_ pa: UnsafePointer<LinkProfile>, _ pb: UnsafePointer<LinkProfile>, _ a: Int32, _ b: Int32,
                               sharedKey: LinkEvidenceKind?, keyFactor: Double) -> Double {
        var bound = 0.0
        func full(_ kind: LinkEvidenceKind) -> Double { max(0, policy.campaigns.weight(kind)) }
        if let sharedKey, sharedKey != .sharedUserAgent, sharedKey != .sharedClientFingerprint,
           !((pa.pointee.countedProxy || pb.pointee.countedProxy) && (sharedKey == .sharedAddress || sharedKey == .sharedSubnet)) {
            bound += full(sharedKey) * max(0, keyFactor)
        }
        if pa.pointee.paymentKey != 0, pa.pointee.paymentKey == pb.pointee.paymentKey { bound += full(.sharedPayment) }
        if pa.pointee.emailKey != 0, pa.pointee.emailKey == pb.pointee.emailKey { bound += full(.sharedEmailDomain) }
        // The sign-up hour, or (exclusive of it) the weak three-day corroboration.
        if let ca = pa.pointee.created, let cb = pb.pointee.created,
           abs(ca.milliseconds(since: cb)) <= 3 * Timestamp.millisecondsPerDay { bound += full(.signupBurst) }
        if pa.pointee.userAgentKey != 0, pa.pointee.userAgentKey == pb.pointee.userAgentKey { bound += full(.sharedUserAgent) }
        if pa.pointee.fingerprintKey != 0, pa.pointee.fingerprintKey == pb.pointee.fingerprintKey {
            bound += full(.sharedClientFingerprint)
        }
        if pa.pointee.usesManyExits, pb.pointee.usesManyExits, !pa.pointee.countedRotating, !pb.pointee.countedRotating {
            bound += full(.sharedProxyExits)
        }
        if pa.pointee.countedRotating, pb.pointee.countedRotating { bound += full(.proxyPool) }
        if pa.pointee.activeMinutes >= 16, pb.pointee.activeMinutes >= 16 { bound += full(.synchronisedActivity) }
        let fa = linkFacts(Int(a)), fb = linkFacts(Int(b))
        let va = Double(fa.lastDay), vb = Double(fb.lastDay)
        if va >= 20, vb >= 20, abs(va - vb) <= 0.1 * max(va, vb) { bound += full(.balancedVolume) }
        if let ka = fa.parameters, ka == fb.parameters { bound += full(.parameterFingerprint) + full(.proxiedFingerprint) }
        if let system = fa.systemPrompt, system == fb.systemPrompt { bound += full(.templateFamily) }
        if pa.pointee.splitFamilyKey != 0, pa.pointee.splitFamilyKey == pb.pointee.splitFamilyKey { bound += full(.complementaryCoverage) }
        return bound
    }

    /// ``pairEvidence(_:_:sharedKey:keyFactor:)`` on profiles `pa` (of account `a`) and
    /// `pb` (of `b`), read where they lie. `policy.campaigns` is read in place too: a local
    /// `let` of it is a copy here (its sets and arrays retained and released per pair).
    @inline(__always)
    private func evidence(_ pa: UnsafePointer<LinkProfile>, _ pb: UnsafePointer<LinkProfile>, _ a: Int32, _ b: Int32,
                          sharedKey: LinkEvidenceKind?, keyFactor: Double) -> PairEvidence {
        var evidence = PairEvidence()
        func add(_ kind: LinkEvidenceKind, _ factor: Double) {
            let w = policy.campaigns.weight(kind) * factor
            guard w > 0 else { return }
            evidence.add(kind, w)
        }
        // An address a rotating account used is a proxy exit, which ordinary customers'
        // devices can be too: between a rotating account or one that keeps changing exits
        // (or a member of a group that mostly does, whose new heads have not yet) and any
        // other, addresses say little (the proxy pool and shared-exit comparisons below
        // cover two such accounts).
        let proxyExit = pa.pointee.countedProxy || pb.pointee.countedProxy || inRotatingGroup(a) || inRotatingGroup(b)
        if let sharedKey, !(proxyExit && (sharedKey == .sharedAddress || sharedKey == .sharedSubnet)) {
            // A shared client key (user agent, fingerprint) is weighed with its pair below.
            if sharedKey != .sharedUserAgent, sharedKey != .sharedClientFingerprint { add(sharedKey, keyFactor) }
        }
        if pa.pointee.paymentKey != 0, pa.pointee.paymentKey == pb.pointee.paymentKey {
            add(.sharedPayment, policy.campaigns.rarityFactor(.sharedPayment, accounts: linkage.keys.accounts(onProfileKey: pa.pointee.paymentKey)))
        }
        if pa.pointee.emailKey != 0, pa.pointee.emailKey == pb.pointee.emailKey {
            add(.sharedEmailDomain, policy.campaigns.rarityFactor(.sharedEmailDomain, accounts: linkage.keys.accounts(onProfileKey: pa.pointee.emailKey)))
        }
        if let ca = pa.pointee.created, let cb = pb.pointee.created, abs(ca.milliseconds(since: cb)) <= Timestamp.millisecondsPerHour {
            // Accounts opened together: more telling the more accounts were opened that hour.
            let opened = Double(linkage.keys.accounts(onProfileKey: Self.signupKey(ca)))
            add(.signupBurst, 0.25 + 0.75 * CampaignSignals.clamp((opened - 5) / 45))
        }
        // A user agent and a TLS fingerprint both name the client software, and one implies
        // the other: when both match, the weaker adds a quarter of its weight, so that a rare
        // client version shared with a stranger cannot attach them to a campaign on its own.
        var agentFactor = 0.0, fingerprintFactor = 0.0
        if pa.pointee.userAgentKey != 0, pa.pointee.userAgentKey == pb.pointee.userAgentKey {
            agentFactor = sharedKey == .sharedUserAgent ? keyFactor
                : policy.campaigns.rarityFactor(.sharedUserAgent, accounts: linkage.keys.accounts(onProfileKey: pa.pointee.userAgentKey))
        }
        if pa.pointee.fingerprintKey != 0, pa.pointee.fingerprintKey == pb.pointee.fingerprintKey {
            fingerprintFactor = sharedKey == .sharedClientFingerprint ? keyFactor
                : policy.campaigns.rarityFactor(.sharedClientFingerprint, accounts: linkage.keys.accounts(onProfileKey: pa.pointee.fingerprintKey))
        }
        let agentWeight = policy.campaigns.weight(.sharedUserAgent) * agentFactor
        let fingerprintWeight = policy.campaigns.weight(.sharedClientFingerprint) * fingerprintFactor
        if agentWeight > 0 {
            add(.sharedUserAgent, fingerprintWeight > 0 && agentWeight <= fingerprintWeight ? agentFactor * 0.25 : agentFactor)
        }
        if fingerprintWeight > 0 {
            add(.sharedClientFingerprint, agentWeight > 0 && fingerprintWeight < agentWeight ? fingerprintFactor * 0.25 : fingerprintFactor)
        }
        if pa.pointee.usesManyExits, pb.pointee.usesManyExits, !pa.pointee.countedRotating, !pb.pointee.countedRotating {
            // One pool of sticky exits: two customers' homes, offices and phones never
            // overlap; from 0.4 at an exit overlap of 0.1 to 1 at 0.4.
            let overlap = LinkProfile.similarity(pa.pointee.addressSketch, pb.pointee.addressSketch)
            if overlap >= 0.1 { add(.sharedProxyExits, min(1, 0.4 + 2 * (overlap - 0.1))) }
        }
        if let ca = pa.pointee.created, let cb = pb.pointee.created, pa.pointee.unverifiedSelfServe, pb.pointee.unverifiedSelfServe,
           pa.pointee.emailKey == 0, pb.pointee.emailKey == 0, evidence.kinds & LinkEvidenceKind.signupBurst.bit == 0,
           abs(ca.milliseconds(since: cb)) <= 3 * Timestamp.millisecondsPerDay {
            // Opened within three days of each other, unverified, both on free mail: a weak
            // corroboration (0.3 of the sign-up weight; registration data never links alone).
            add(.signupBurst, 0.3)
        }
        if pa.pointee.countedRotating, pb.pointee.countedRotating {
            // One proxy pool: from 0.4 for two rotating accounts to 1 at network overlap 0.5.
            let overlap = LinkProfile.similarity(pa.pointee.networkSketch, pb.pointee.networkSketch)
            add(.proxyPool, min(1, 0.4 + 1.2 * overlap))
        }
        let fa = linkFacts(Int(a)), fb = linkFacts(Int(b))
        if pa.pointee.activeMinutes >= 16, pb.pointee.activeMinutes >= 16 {
            // Overlap beyond what two independent accounts, each active in its share of the
            // minutes, would show by chance (busy accounts overlap anyway).
            let overlap = LinkProfile.similarity(pa.pointee.minuteSketch, pb.pointee.minuteSketch)
            let p = min(1, Double(pa.pointee.activeMinutes) / Double(fa.spanMinutes))
            let q = min(1, Double(pb.pointee.activeMinutes) / Double(fb.spanMinutes))
            let chance = p * q / max(1e-9, p + q - p * q)
            add(.synchronisedActivity, CampaignSignals.clamp((overlap - chance - 0.15) / 0.35))
        }
        let va = Double(fa.lastDay), vb = Double(fb.lastDay)
        if va >= 20, vb >= 20, abs(va - vb) <= 0.1 * max(va, vb) { add(.balancedVolume, 1) }
        if let ka = fa.parameters, ka == fb.parameters {
            let accounts = linkage.keys.accounts(onProfileKey: ka)
            add(.parameterFingerprint, policy.campaigns.rarityFactor(.parameterFingerprint, accounts: accounts))
            if pa.pointee.countedProxy, pb.pointee.countedProxy, pa.pointee.userAgentKey != 0, pb.pointee.userAgentKey != 0, pa.pointee.userAgentKey != pb.pointee.userAgentKey {
                // The same uncommon configuration from different client software, both
                // behind changing exits: configured by one operator, not a client's defaults.
                add(.proxiedFingerprint, policy.campaigns.rarityFactor(.proxiedFingerprint, accounts: accounts))
            }
        }
        if let system = fa.systemPrompt, system == fb.systemPrompt {
            let key = Self.templateKey(system)
            add(.templateFamily, policy.campaigns.rarityFactor(.templateFamily, accounts: linkage.keys.accounts(onProfileKey: key)))
        }
        if pa.pointee.splitFamilyKey != 0, pa.pointee.splitFamilyKey == pb.pointee.splitFamilyKey {
            let key = Self.taskListKey(pa.pointee.splitFamilyKey)
            add(.complementaryCoverage,
                policy.campaigns.rarityFactor(.complementaryCoverage, accounts: linkage.keys.accounts(onProfileKey: key)))
        }
        return evidence
    }

    /// The account is in a group at least a fifth of whose members rotate through proxies.
    /// Always inlined: called out of line from a mutating method, the engine was passed as a
    /// copy of its 848 inline bytes.
    @inline(__always)
    func inRotatingGroup(_ i: Int32) -> Bool {
        guard let gi = linkage.groups.index(forKey: linkage.root(of: i)) else { return false }
        // One read: each `values[gi]` copies the whole 450-byte group out of the dictionary
        // (its getter runs out of line), field read or not.
        let group = linkage.groups.values[gi]
        return Int(group.rotatingMembers) * 5 >= group.members.count
    }

    /// What pair comparisons read of an account's state.
    struct LinkFacts {
        /// Exchanges in the last 24 hours (as of the account's latest exchange).
        var lastDay: Int64
        var parameters: UInt64?
        var systemPrompt: UInt64?
        /// Minutes from the account's first to its latest exchange, at least 1.
        var spanMinutes: Int64
    }

    /// Read from the account's link view (as of its latest exchange linked so far).
    func linkFacts(_ i: Int) -> LinkFacts {
        LinkFacts(lastDay: linkViews[i].windowExchangeSum, parameters: linkViews[i].parameters,
                  systemPrompt: linkViews[i].systemPrompt, spanMinutes: linkViews[i].spanMinutes)
    }

    // MARK: Joining groups

    /// Joins the groups of `a` and `b` when `weight` reaches the link threshold, or the
    /// attach threshold with one side a flagged campaign and the other not yet a campaign.
    private mutating func join(_ a: Int32, _ b: Int32, evidence: PairEvidence, at t: Timestamp) {
        var ra = linkage.find(a), rb = linkage.find(b)
        let kinds = evidence.kinds
        if ra == rb {
            linkage.groups[ra]?.notePair(kinds: kinds)
            return
        }
        // Content and parameters are shared by customers with similar work; they corroborate
        // but cannot link on their own. Attaching to a flagged campaign needs identity evidence.
        guard evidence.independent >= policy.campaigns.linkThreshold / 2, evidence.strongest >= policy.campaigns.linkThreshold * 0.3 else { return }
        let weight = evidence.total
        if weight < policy.campaigns.linkThreshold {
            guard evidence.identity >= policy.campaigns.attachThreshold * 0.75 else { return }
            let flaggedA = linkage.groups[ra].map { $0.verdict.isFlagged } ?? false
            let flaggedB = linkage.groups[rb].map { $0.verdict.isFlagged } ?? false
            let smallA = Int(linkage.size[Int(ra)]) < policy.campaigns.minimumAccounts
            let smallB = Int(linkage.size[Int(rb)]) < policy.campaigns.minimumAccounts
            guard (flaggedA && smallB) || (flaggedB && smallA) else { return }
        }
        // Union by size: the smaller group goes under the larger.
        if linkage.size[Int(ra)] < linkage.size[Int(rb)] { swap(&ra, &rb) }
        let big = linkage.groups.removeValue(forKey: ra) ?? singletonGroup(ra)
        let small = linkage.groups.removeValue(forKey: rb) ?? singletonGroup(rb)
        let wasFlagged = big.verdict.isFlagged
        var merged = big
        merged.merge(small)
        merged.notePair(kinds: kinds)
        linkage.parent[Int(rb)] = ra
        linkage.size[Int(ra)] += linkage.size[Int(rb)]
        linkage.groups[ra] = merged
        linkage.noteFirstLink(a, b, kinds: kinds, weight: weight, attached: weight < policy.campaigns.linkThreshold, at: t)
        // The smaller group's members now belong to the larger one's campaign (union by
        // size: each account moves O(log n) times), and the pair may have its first link.
        if changeLog != nil { changeLog!.accounts += Self.membersWithNewCampaign(big: big, small: small, merged: merged) + [a, b] }
        linkage.work.unions += 1
        rescoreGroup(ra, at: t, force: true)
        // Members joining an already flagged campaign are flagged now.
        if wasFlagged, linkage.groups[ra]!.verdict.isFlagged { flagMembers(small.members, at: t) }
    }

    /// The members whose campaign changes when `small` joins `big` as `merged`: always the
    /// smaller group's (their root changes; union by size moves each account O(log n)
    /// times), and the larger group's too when the merged group keeps the smaller one's
    /// lower number (``CampaignState/merge(_:)``), which happens at most once per numbering.
    static func membersWithNewCampaign(big: CampaignState, small: CampaignState, merged: CampaignState) -> [Int32] {
        merged.number == big.number ? small.members : small.members + big.members
    }

    private func singletonGroup(_ r: Int32) -> CampaignState {
        var g = CampaignState()
        // With one engine thread the state is the account as of now; with several, only its
        // window view is (linkage has no states then).
        let window = keepsWindowViews ? linkWindows[Int(r)] : AccountWindowView(of: states[Int(r)])
        g.absorb(member: r, view: linkViews[Int(r)], window: window, profile: linkage.profiles[Int(r)])
        return g
    }

    // MARK: Campaign verdicts

    /// Scores a group (at most once per minute of traffic unless `force`), numbers it when
    /// it first reaches review, and flags its members when it becomes flagged.
    mutating func rescoreGroup(_ r: Int32, at t: Timestamp, force: Bool) {
        guard let gi = linkage.groups.index(forKey: r) else { return }
        let minute = t.minuteIndex
        // One copy out of the dictionary (each `values[gi]` read copies the whole group).
        var g = linkage.groups.values[gi]
        guard force || g.lastScoredMinute != minute else { return }
        g.lastScoredMinute = minute
        linkage.work.groupScorings += 1
        let wasFlagged = g.verdict.isFlagged
        let n = g.members.count
        if n < policy.campaigns.minimumAccounts {
            g.score = 0
            g.strongest = nil
            g.verdict = g.confirmed ? .block : .allow
        } else {
            let contributions = CampaignSignals.contributions(
                CampaignSignals.values(g, members: n), dismissed: g.dismissed, policy: policy.campaigns)
            var remaining = 1.0
            var strongest: CampaignSignalKind?
            var best = 0.0
            for kind in CampaignSignalKind.all {
                let contribution = contributions[kind.ordinal]
                remaining *= 1 - contribution
                if contribution > best { best = contribution; strongest = kind }
            }
            g.score = 1 - remaining
            g.strongest = strongest
            // Without coordination (volume, rotation, a farm, waves, a joint pivot), a linked
            // group is an organisation whose members happen to be busy, not a campaign.
            var coordination = 0.0
            for kind in CampaignSignalKind.coordination {
                coordination = max(coordination, contributions[kind.ordinal])
            }
            if coordination < Self.minimumCoordination { g.score = min(g.score, policy.thresholds.review * 0.99) }
            g.verdict = g.confirmed ? .block : policy.thresholds.verdict(for: g.score)
        }
        changeLog?.campaignRoots.append(r)
        if g.verdict.isFlagged {
            if g.number == 0 {
                g.number = linkage.nextCampaignNumber
                linkage.nextCampaignNumber += 1
                // Once per group: its members now have a campaign number.
                if changeLog != nil { changeLog!.accounts += g.members }
            }
            if g.firstFlaggedAt == nil { g.firstFlaggedAt = t }
        }
        linkage.groups[r] = g
        if g.verdict.isFlagged, !wasFlagged { flagMembers(g.members, at: t) }
    }

    /// The contribution some coordination signal must make before a group can be flagged.
    static let minimumCoordination = 0.15

    /// Marks members flagged as of `t` (those not flagged before and not exempt).
    private mutating func flagMembers(_ members: [Int32], at t: Timestamp) {
        for m in members {
            let mm = Int(m)
            guard !linkFlagged[mm], campaignApplies(to: mm) else { continue }
            noteFirstFlag(mm, at: t)
        }
    }

    /// A campaign's verdict applies to a member unless the member is allowlisted, labelled
    /// legitimate by an analyst, or detached from the group.
    /// Always inlined: called out of line from ``settle(_:at:wasFlagged:)``, a mutating
    /// method, it was passed a copy of the whole engine (1,200 bytes) on every exchange
    /// (callgrind, 1 December 2026).
    @inline(__always)
    func campaignApplies(to i: Int) -> Bool {
        !linkViews[i].allowlisted && linkViews[i].label != .legitimate && !linkage.profiles[i].detached
    }

    /// The campaign verdict that applies to account `i`, if it is in a scored group.
    /// Always inlined, as ``combinedDecision(_:)``: called out of line from a mutating
    /// method, it was passed a copy of the linkage graph (344 bytes) to find the root.
    @inline(__always)
    func campaignDecision(for i: Int) -> (verdict: Verdict, score: Double, number: Int32)? {
        guard policy.campaigns.enabled, campaignApplies(to: i),
              let gi = linkage.groups.index(forKey: linkage.root(of: Int32(i))) else { return nil }
        // One read (this runs on every exchange of a grouped account): each `values[gi]`
        // copies the whole 450-byte group out of the dictionary, and five did.
        let group = linkage.groups.values[gi]
        guard group.members.count >= policy.campaigns.minimumAccounts || group.confirmed else { return nil }
        return (group.verdict, group.score, group.number)
    }

    /// The account's decision: its own, raised to its campaign's when that is stricter.
    /// Always inlined, with ``campaignDecision(for:)``: out of line, a call from a mutating
    /// method passed the linkage graph as a 344-byte copy on every exchange (found with an
    /// interposed `memcpy` that recorded sizes and callers, 1 December 2026).
    @inline(__always)
    func combinedDecision(_ i: Int) -> Decision {
        var d = Decision(verdict: linkViews[i].verdict, score: linkViews[i].score, allowlisted: linkViews[i].allowlisted,
                         strongestSignal: linkViews[i].strongestSignal, newlyFlagged: false)
        if let c = campaignDecision(for: i) {
            if c.number > 0 { d.campaign = c.number }
            if c.verdict > d.verdict {
                d.verdict = c.verdict
                d.score = max(d.score, c.score)
            }
        }
        return d
    }

    /// Records account `i`'s first flag at `t`: in the linkage side's own table at once,
    /// and in the account's state (`firstFlaggedAt`, `exchangesBeforeFlag`) through
    /// ``flagLog`` when ``applyFlagLog()`` runs (the account states may be in another
    /// thread's hands meanwhile).
    mutating func noteFirstFlag(_ i: Int, at t: Timestamp) {
        linkFlagged[i] = true
        flagLog.append(FirstFlag(account: Int32(i), at: t, exchanges: linkViews[i].exchanges))
    }

    /// The decision after an exchange: combined, with the account's first flag recorded.
    mutating func settle(_ i: Int, at t: Timestamp, wasFlagged: Bool) -> Decision {
        var d = combinedDecision(i)
        if d.verdict.isFlagged, !linkFlagged[i] { noteFirstFlag(i, at: t) }
        d.newlyFlagged = d.verdict.isFlagged && !wasFlagged
        return d
    }
}

