import DistillWatchCore
import Foundation

/// Who publishes and how: the producer's identity, the TLP marking, the audience.
public struct SharingProfile: Sendable, Equatable {
    /// Between providers (indicators, keyed fingerprints, optionally account ids), or for
    /// authorities (no customer data at all: no account ids, no individual addresses,
    /// which are also honest residents' addresses, no sign-up domains).
    public enum Audience: String, Sendable, CaseIterable {
        case providers
        case authorities
    }

    /// The `identity` name (the provider's legal or trading name).
    public var producer: String
    public var producerContact: String?
    public var tlp: TrafficLightProtocol = .amber
    public var audience: Audience = .providers
    /// Distinguishes a re-publication after a withdrawal (1, 2, ...: objects get new ids,
    /// since STIX forbids un-revoking a revoked object); 0 for the first.
    public var generation = 0
    /// Member account ids in the bundle (providers only; off by default).
    public var includeAccountIDs = false
    /// `confidence` (0–100); `nil`: the campaign's score × 100.
    public var confidence: Int?
    public var selection = IndicatorSelectionPolicy()

    public init(producer: String) {
        self.producer = producer
    }
}

/// Builds STIX 2.1 bundles (OASIS STIX 2.1, 2021) of campaigns, as JSON objects.
///
/// Per campaign: `campaign` (with DistillWatch's campaign-metrics property extension),
/// `attack-pattern` for MITRE ATLAS AML.T0024.002 (Extract AI Model) and a `uses`
/// `relationship`; an `infrastructure` (proxy pool: `anonymization`; else the harvesting
/// hosts: `exfiltration`, from infrastructure-type-ov) the campaign `uses`; one `indicator` per kind of evidence
/// (and per hour of expiry for addresses), each `indicates` the campaign and, for
/// network evidence, the infrastructure; a `sighting` of each indicator by the producer
/// with the members' exchange count and time window; keyed fingerprints as
/// `distillwatch-keyed-fingerprint` observables declared by their `extension-definition`.
/// Campaigns that share keyed fingerprints or client fingerprints are attributed to one
/// `intrusion-set`. Ids are UUIDv5 of the producer and the content, `created` is the
/// campaign's first flag, `modified` the export time.
///
/// - Complexity: O(indicator values).
public struct STIXBundleBuilder {
    public static let atlasTechniqueID = "AML.T0024.002"
    public static let atlasTechniqueName = "Extract AI Model"

    public var profile: SharingProfile
    /// Export time: every object's `modified`.
    public var now: Timestamp

    public init(profile: SharingProfile, now: Timestamp) {
        self.profile = profile
        self.now = now
    }

    var identityID: String { STIXIdentifier.make("identity", name: "producer:\(profile.producer)") }

    static let keyedExtensionName = "DistillWatch keyed fingerprint"
    static let clientExtensionName = "DistillWatch client fingerprint"
    static let metricsExtensionName = "DistillWatch campaign metrics"
    public static var keyedFingerprintExtensionID: String { STIXIdentifier.make("extension-definition", name: keyedExtensionName + " v1") }
    public static var clientFingerprintExtensionID: String { STIXIdentifier.make("extension-definition", name: clientExtensionName + " v1") }
    public static var campaignMetricsExtensionID: String { STIXIdentifier.make("extension-definition", name: metricsExtensionName + " v1") }
    public static let specificationURL = "https://distillwatch.dev/spec/sharing/v1"
    public static var projectIdentityID: String { STIXIdentifier.make("identity", name: "DistillWatch project") }

    /// A share as a whole percentage in 0…100 (a report edited to hold ±inf or NaN cannot
    /// make it trap).
    static func percent(_ share: Double) -> Int {
        guard share.isFinite else { return share > 0 ? 100 : 0 }
        return Int(max(0, min(100, (share * 100).rounded())))
    }

    /// Revoked new versions (STIX 2.1 §3.6.2) of the objects a producer published: what a
    /// dismissed campaign or a withdrawn approval publishes. Every domain and relationship
    /// object is revoked with `modified` = `now` (or 1 ms after its own, if later), but the
    /// producer's identity, the shared `attack-pattern`, marking and extension definitions
    /// (shared by other campaigns) and observables (which have no revocation) are left out.
    /// - Throws: ``RevocationError`` naming the objects whose `modified` is already the
    ///   latest time STIX can write (9999-12-31T23:59:59.999Z: RFC 3339 years have four
    ///   digits), which no later version can follow; nothing is revoked then.
    /// - Complexity: O(objects).
    public static func revocation(of objects: [[String: Any]], at now: Timestamp) throws(RevocationError) -> [[String: Any]] {
        let kept: Set<String> = ["identity", "attack-pattern", "marking-definition", "extension-definition"]
        var stuck: [String] = []
        let revoked = objects.compactMap { o -> [String: Any]? in
            guard let type = o["type"] as? String, STIXBundleReader.domainTypes.contains(type), !kept.contains(type),
                  !STIXBundleReader.isTrue(o["revoked"]) else { return nil }
            var r = o
            let previous = (o["modified"] as? String).flatMap { Timestamp(rfc3339: $0) } ?? now
            let modified = max(now, previous.adding(milliseconds: 1))
            guard modified <= latestSTIXTime else {
                stuck.append(o["id"] as? String ?? "(an object without an id)")
                return nil
            }
            r["modified"] = modified.stix
            r["revoked"] = true
            return r
        }
        guard stuck.isEmpty else { throw RevocationError(objectIDs: stuck) }
        return revoked
    }

    /// The latest time a STIX 2.1 timestamp can hold (§3.2: RFC 3339, four-digit years).
    public static let latestSTIXTime = Timestamp(rfc3339: "9999-12-31T23:59:59.999Z")!

    /// Objects that no revoked version can follow: their `modified` is ``latestSTIXTime``.
    public struct RevocationError: Error, CustomStringConvertible, Sendable {
        public var objectIDs: [String]
        public var description: String {
            let shown = objectIDs.prefix(5).joined(separator: ", ") + (objectIDs.count > 5 ? " and \(objectIDs.count - 5) more" : "")
            return "\(objectIDs.count) object\(objectIDs.count == 1 ? "" : "s") cannot be revoked: \(shown) already "
                + "\(objectIDs.count == 1 ? "has" : "have") modified 9999-12-31T23:59:59.999Z, the latest time STIX 2.1 can write, "
                + "so no later version can replace \(objectIDs.count == 1 ? "it" : "them"); ask the recipients to delete them"
        }
    }

    /// A bundle of `objects` (any STIX objects) with a deterministic id.
    public static func bundle(of objects: [[String: Any]], producer: String, at now: Timestamp) -> [String: Any] {
        [
            "type": "bundle",
            "id": STIXIdentifier.make("bundle", name: "\(producer)|\(now.stix)|" + objects.compactMap { $0["id"] as? String }.joined(separator: ",")),
            "objects": objects,
        ]
    }

    /// The bundle of `drafts` (each a campaign chosen and approved for sharing).
    public func bundle(_ drafts: [SharedCampaignDraft]) -> [String: Any] {
        var objects: [[String: Any]] = []
        let stamp = now.stix
        let tlp = profile.tlp
        objects.append(tlp.markingDefinition)
        var identity: [String: Any] = [
            "type": "identity", "spec_version": "2.1", "id": identityID, "created": "2026-01-01T00:00:00.000Z",
            "modified": "2026-01-01T00:00:00.000Z", "name": profile.producer, "identity_class": "organization",
            "sectors": ["technology"],
        ]
        if let contact = profile.producerContact { identity["contact_information"] = contact }
        objects.append(identity)
        // The extension definitions are DistillWatch's, the same objects in every producer's
        // bundles, created by the project's identity (as OASIS's TLP definitions are).
        objects.append([
            "type": "identity", "spec_version": "2.1", "id": Self.projectIdentityID, "created": "2026-11-30T00:00:00.000Z",
            "modified": "2026-11-30T00:00:00.000Z", "name": "DistillWatch project", "identity_class": "organization",
            "description": "Maintainers of DistillWatch's STIX extension definitions (\(Self.specificationURL)).",
        ])
        let extensionCreated = "2026-11-30T00:00:00.000Z"
        func extensionDefinition(_ name: String, _ id: String, types: [String], description: String, properties: [String]) -> [String: Any] {
            var d: [String: Any] = [
                "type": "extension-definition", "spec_version": "2.1", "id": id, "created_by_ref": Self.projectIdentityID,
                "created": extensionCreated, "modified": extensionCreated, "name": name, "description": description,
                "schema": Self.specificationURL, "version": "1.0.0", "extension_types": types,
            ]
            if !properties.isEmpty { d["extension_properties"] = properties }
            return d
        }
        var needsKeyed = false, needsClient = false
        var sdos: [[String: Any]] = []
        var scos: [[String: Any]] = []

        func common(_ type: String, _ id: String, created: String) -> [String: Any] {
            let o: [String: Any] = [
                "type": type, "spec_version": "2.1", "id": id, "created": created, "modified": max(created, stamp),
                "created_by_ref": identityID, "object_marking_refs": [tlp.markingDefinitionID],
            ]
            return o
        }
        func relationship(_ type: String, _ source: String, _ target: String, created: String) -> [String: Any] {
            var r = common("relationship", STIXIdentifier.make("relationship", name: "\(profile.producer)|\(source)|\(type)|\(target)"), created: created)
            r["relationship_type"] = type
            r["source_ref"] = source
            r["target_ref"] = target
            return r
        }

        // Operators seen across campaigns: campaigns joined by a shared keyed or client fingerprint.
        let operatorOf = Self.operators(drafts)
        var intrusionSets: [Int: (id: String, created: String, campaigns: [String], first: Timestamp?, last: Timestamp?)] = [:]

        for (index, draft) in drafts.enumerated() {
            let c = draft.campaign
            let firstSeen = c.firstSeen ?? now
            let created = (c.firstFlaggedAt ?? c.firstSeen ?? now).stix
            let base = "\(profile.producer)|campaign|\(c.campaignID)|\(firstSeen.stix)" + (profile.generation > 0 ? "|g\(profile.generation)" : "")
            let campaignID = STIXIdentifier.make("campaign", name: base)
            let confidence = profile.confidence ?? Self.percent(c.score)
            var campaign = common("campaign", campaignID, created: created)
            campaign["name"] = "\(profile.producer) \(c.campaignID)"
            campaign["description"] = "Distillation (model extraction) campaign detected by DistillWatch: "
                + "\(c.accounts.count) accounts, \(c.exchanges) exchanges, \(c.outputTokens) output tokens harvested"
                + (c.capabilities.isEmpty ? "." : "; capability mix " + c.capabilities.sorted { $0.value > $1.value }
                    .map { "\($0.key) \(Self.percent($0.value))%" }.joined(separator: ", ") + ".")
            campaign["objective"] = "Harvest model outputs to train a competing model (distillation)"
                + (c.capabilities.max { $0.value < $1.value }.map { ", mainly \($0.key.replacingOccurrences(of: "_", with: " ")) output" } ?? "")
            if let s = c.firstSeen { campaign["first_seen"] = s.stix }
            if let s = c.lastSeen { campaign["last_seen"] = max(s, c.firstSeen ?? s).stix }
            campaign["confidence"] = max(0, min(100, confidence))
            var metrics: [String: Any] = [
                "extension_type": "property-extension", "accounts": c.accounts.count, "exchanges": max(0, c.exchanges),
                "output_tokens": max(0, c.outputTokens), "score": Double(Self.percent(c.score)) / 100,
                "capabilities": c.capabilities.mapValues { Double(Self.percent($0)) / 100 },
                "evidence_kinds": c.evidence.map(\.kind).sorted(),
            ]
            if let f = c.firstFlaggedAt { metrics["first_flagged"] = f.stix }
            if profile.audience == .providers, profile.includeAccountIDs, let ids = draft.memberAccountIDs {
                metrics["member_account_ids"] = ids
            }
            campaign["extensions"] = [Self.campaignMetricsExtensionID: metrics]
            sdos.append(campaign)

            let attackID = STIXIdentifier.make("attack-pattern", name: "\(profile.producer)|\(Self.atlasTechniqueID)")
            if index == 0 {
                var attack = common("attack-pattern", attackID, created: "2026-01-01T00:00:00.000Z")
                attack["name"] = Self.atlasTechniqueName
                attack["description"] = "Adversaries extract a functional copy of a model by querying its inference API and training on the outputs (distillation)."
                // No url: the validator asks a url to come with a hash (check 302).
                attack["external_references"] = [["source_name": "mitre-atlas", "external_id": Self.atlasTechniqueID]]
                attack["kill_chain_phases"] = [["kill_chain_name": "mitre-atlas", "phase_name": "exfiltration"]]
                sdos.append(attack)
            }
            sdos.append(relationship("uses", campaignID, attackID, created: created))

            let infraID = STIXIdentifier.make("infrastructure", name: base + "|infrastructure")
            var infra = common("infrastructure", infraID, created: created)
            infra["name"] = draft.proxyPool ? "\(profile.producer) \(c.campaignID) proxy pool" : "\(profile.producer) \(c.campaignID) hosting"
            infra["infrastructure_types"] = [draft.proxyPool ? "anonymization" : "exfiltration"]
            infra["description"] = draft.proxyPool
                ? "Rotating exits of a proxy pool (\(draft.subnetsUsed) /24 or /48 networks); exits are also honest residents' connections and expire within hours."
                : "Hosting networks the campaign's clients ran from (\(draft.subnetsUsed) /24 or /48 networks)."
            if let s = c.firstSeen { infra["first_seen"] = s.stix }
            if let s = c.lastSeen { infra["last_seen"] = max(s, c.firstSeen ?? s).stix }
            sdos.append(infra)
            sdos.append(relationship("uses", campaignID, infraID, created: created))

            for draftIndicator in draft.indicators {
                let pattern: String
                switch draftIndicator.kind {
                case .addresses, .subnets: pattern = STIXPattern.addresses(draftIndicator.addresses)
                case .autonomousSystems: pattern = STIXPattern.equals("autonomous-system:number", draftIndicator.numbers.map(String.init))
                case .userAgents: pattern = STIXPattern.equals(STIXPattern.userAgentPath, draftIndicator.strings.map(STIXPattern.literal))
                case .clientFingerprints:
                    needsClient = true
                    pattern = STIXPattern.equals(STIXPattern.clientFingerprintType + ":value", draftIndicator.strings.map(STIXPattern.literal))
                    for s in draftIndicator.strings { scos.append(clientObservable(s)) }
                case .templateFamily(let k), .systemPrompts(let k), .emailDomains(let k):
                    needsKeyed = true
                    let kind: STIXPattern.KeyedKind
                    switch draftIndicator.kind {
                    case .templateFamily: kind = .templateBand
                    case .systemPrompts: kind = .systemPrompt
                    default: kind = .emailDomain
                    }
                    pattern = STIXPattern.keyed(kind, keyID: k, values: draftIndicator.fingerprints)
                    for v in draftIndicator.fingerprints { scos.append(keyedObservable(v, kind: kind, keyID: k)) }
                }
                // Stable across re-exports (a new version, not a new object), except address
                // groups, which are grouped by their hour of expiry and expire on their own.
                let name = base + "|indicator|\(draftIndicator.kind.label)"
                    + (draftIndicator.kind == .addresses ? "|\(draftIndicator.validUntil.stix)" : "")
                let indicatorID = STIXIdentifier.make("indicator", name: name)
                var indicator = common("indicator", indicatorID, created: created)
                indicator["name"] = "\(c.campaignID): \(draftIndicator.kind.label)"
                indicator["description"] = "\(draftIndicator.kind.label.prefix(1).uppercased() + draftIndicator.kind.label.dropFirst()) used by the campaign's accounts and by no other account of the producer"
                    + (draftIndicator.kind.isKeyed ? "; keyed fingerprints, matchable only under the named sharing key (\(Self.specificationURL))." : ".")
                indicator["indicator_types"] = ["malicious-activity"]
                indicator["pattern"] = pattern
                indicator["pattern_type"] = "stix"
                indicator["pattern_version"] = "2.1"
                indicator["valid_from"] = draftIndicator.validFrom.stix
                indicator["valid_until"] = max(draftIndicator.validUntil, draftIndicator.validFrom.adding(milliseconds: 1)).stix
                indicator["confidence"] = max(0, min(100, confidence))
                indicator["kill_chain_phases"] = [["kill_chain_name": "mitre-atlas", "phase_name": "exfiltration"]]
                sdos.append(indicator)
                sdos.append(relationship("indicates", indicatorID, campaignID, created: created))
                if !draftIndicator.kind.isKeyed, draftIndicator.kind != .userAgents, draftIndicator.kind != .clientFingerprints {
                    sdos.append(relationship("indicates", indicatorID, infraID, created: created))
                }
                var sighting = common("sighting", STIXIdentifier.make("sighting", name: name + "|sighting"), created: created)
                sighting["sighting_of_ref"] = indicatorID
                sighting["count"] = min(draftIndicator.exchanges, 999_999_999)
                sighting["first_seen"] = draftIndicator.firstSeen.stix
                sighting["last_seen"] = max(draftIndicator.lastSeen, draftIndicator.firstSeen.adding(milliseconds: 1)).stix
                sighting["where_sighted_refs"] = [identityID]
                sighting["summary"] = false
                sdos.append(sighting)
            }

            if let group = operatorOf[index] {
                var entry = intrusionSets[group] ?? (id: "", created: created, campaigns: [], first: nil, last: nil)
                if entry.id.isEmpty {
                    entry.id = STIXIdentifier.make("intrusion-set", name: base + "|operator")
                }
                entry.campaigns.append(campaignID)
                entry.first = [entry.first, c.firstSeen].compactMap { $0 }.min()
                entry.last = [entry.last, c.lastSeen].compactMap { $0 }.max()
                entry.created = min(entry.created, created)
                intrusionSets[group] = entry
            }
        }
        for (_, set) in intrusionSets.sorted(by: { $0.key < $1.key }) where set.campaigns.count > 1 {
            var intrusion = common("intrusion-set", set.id, created: set.created)
            intrusion["name"] = "\(profile.producer) distillation operator (\(set.campaigns.count) campaigns)"
            intrusion["description"] = "One operator behind several campaigns: they share keyed prompt-template fingerprints or client fingerprints."
            intrusion["goals"] = ["Train a competing model on harvested outputs"]
            intrusion["primary_motivation"] = "organizational-gain"
            if let f = set.first { intrusion["first_seen"] = f.stix }
            if let l = set.last { intrusion["last_seen"] = l.stix }
            sdos.append(intrusion)
            for campaign in set.campaigns { sdos.append(relationship("attributed-to", campaign, set.id, created: set.created)) }
        }
        if needsKeyed {
            objects.append(extensionDefinition(
                Self.keyedExtensionName, Self.keyedFingerprintExtensionID, types: ["new-sco"],
                description: "A keyed fingerprint of content that must not be shared in clear (prompt-template families as keyed MinHash LSH band values, system prompts and sign-up e-mail domains as SipHash-2-4 values) under a sharing key both parties hold; properties value (16 hex digits), kind (template-band, system-prompt, email-domain), key_id (the key's agreed name), algorithm.",
                properties: []))
        }
        if needsClient {
            objects.append(extensionDefinition(
                Self.clientExtensionName, Self.clientFingerprintExtensionID, types: ["new-sco"],
                description: "A TLS/HTTP client fingerprint (for example JA4) as the producer's edge computed it; property value.",
                properties: []))
        }
        objects.append(extensionDefinition(
            Self.metricsExtensionName, Self.campaignMetricsExtensionID, types: ["property-extension"],
            description: "Figures of a distillation campaign: accounts, exchanges, output_tokens, score, capabilities (shares summing to 1), evidence_kinds, first_flagged, and member_account_ids only when the producer chose to share them.",
            properties: []))
        var seen = Set<String>()
        let all = (objects + sdos + scos).filter { seen.insert($0["id"] as! String).inserted }
        return [
            "type": "bundle",
            "id": STIXIdentifier.make("bundle", name: "\(profile.producer)|\(stamp)|" + all.map { $0["id"] as! String }.joined(separator: ",")),
            "objects": all,
        ]
    }

    func keyedObservable(_ v: UInt64, kind: STIXPattern.KeyedKind, keyID: String) -> [String: Any] {
        let value = fingerprintHex(v)
        return [
            "type": STIXPattern.keyedFingerprintType, "spec_version": "2.1",
            "id": STIXIdentifier.make(STIXPattern.keyedFingerprintType, name: "{\"key_id\":\"\(keyID)\",\"kind\":\"\(kind.rawValue)\",\"value\":\"\(value)\"}", namespace: STIXIdentifier.observableNamespace),
            "value": value, "kind": kind.rawValue, "key_id": keyID,
            "algorithm": kind == .templateBand ? "keyed-minhash-lsh-64x2-siphash-2-4" : "siphash-2-4",
            "extensions": [Self.keyedFingerprintExtensionID: ["extension_type": "new-sco"]],
        ]
    }

    func clientObservable(_ s: String) -> [String: Any] {
        [
            "type": STIXPattern.clientFingerprintType, "spec_version": "2.1",
            "id": STIXIdentifier.make(STIXPattern.clientFingerprintType, name: "{\"value\":\(STIXPattern.jsonString(s))}", namespace: STIXIdentifier.observableNamespace),
            "value": s,
            "extensions": [Self.clientFingerprintExtensionID: ["extension_type": "new-sco"]],
        ]
    }

    /// Groups campaigns that share a keyed fingerprint or a client fingerprint: index → group.
    static func operators(_ drafts: [SharedCampaignDraft]) -> [Int: Int] {
        var parent = Array(drafts.indices)
        func find(_ x: Int) -> Int { parent[x] == x ? x : find(parent[x]) }
        var owner: [String: Int] = [:]
        for (i, d) in drafts.enumerated() {
            for indicator in d.indicators {
                let keys: [String]
                switch indicator.kind {
                case .templateFamily, .systemPrompts: keys = indicator.fingerprints.map { "k\($0)" }
                case .clientFingerprints: keys = indicator.strings.map { "c\($0)" }
                default: keys = []
                }
                for k in keys {
                    if let j = owner[k] { parent[find(i)] = find(j) } else { owner[k] = i }
                }
            }
        }
        var out: [Int: Int] = [:]
        for i in drafts.indices { out[i] = find(i) }
        return out
    }
}

extension STIXPattern {
    /// A JSON string literal (for the canonical id-contributing form of an observable).
    static func jsonString(_ s: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])
        let text = String(decoding: data, as: UTF8.self)
        return String(text.dropFirst().dropLast())
    }
}

extension STIXBundleBuilder {
    /// A bundle of `sighting`s of other providers' indicators, by this producer: one per
    /// indicator that matched here, with the number of matching exchanges, the time window
    /// and (in the description) how many accounts; never an account id. Its id is
    /// deterministic per (producer, indicator), so sharing again gives a new version.
    public func sightings(_ list: [SharedIndicatorSighting]) -> [String: Any] {
        let stamp = now.stix
        var objects: [[String: Any]] = [profile.tlp.markingDefinition]
        objects.append([
            "type": "identity", "spec_version": "2.1", "id": identityID, "created": "2026-01-01T00:00:00.000Z",
            "modified": "2026-01-01T00:00:00.000Z", "name": profile.producer, "identity_class": "organization", "sectors": ["technology"],
        ])
        for s in list {
            let created = s.first.stix
            objects.append([
                "type": "sighting", "spec_version": "2.1",
                "id": STIXIdentifier.make("sighting", name: "\(profile.producer)|sighting-of|\(s.indicatorID)"),
                "created": created, "modified": max(created, stamp), "created_by_ref": identityID,
                "object_marking_refs": [profile.tlp.markingDefinitionID],
                "sighting_of_ref": s.indicatorID, "count": min(s.matches, 999_999_999),
                "first_seen": s.first.stix, "last_seen": max(s.last, s.first.adding(milliseconds: 1)).stix,
                "where_sighted_refs": [identityID], "summary": false,
                "description": "Matched by \(s.accounts) account\(s.accounts == 1 ? "" : "s") of \(profile.producer) (DistillWatch shared_indicator).",
            ])
        }
        return Self.bundle(of: objects, producer: profile.producer, at: now)
    }
}
