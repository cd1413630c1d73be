import DistillWatchCore
import Foundation

/// Builds a MISP event (MISP core format, draft-dulaunoy-misp-core-format, §2) of one
/// campaign: the same indicators as the STIX bundle, as attributes.
///
/// | indicator | attribute type (category) |
/// |---|---|
/// | addresses and blocks | `ip-src` (Network activity), CIDR for blocks |
/// | autonomous systems | `AS` (Network activity) |
/// | user agents | `user-agent` (Network activity) |
/// | client fingerprints | `text` (Network activity), comment names it |
/// | keyed fingerprints | `text` (Other), comment names the kind and the sharing key |
///
/// Tags: the TLP (`tlp:amber`, MISP's `tlp` taxonomy) and the ATLAS technique. Attribute
/// `first_seen`/`last_seen` carry the sighting window; `comment` carries `valid_until`
/// (MISP has no expiry field; its decaying models read `first_seen`/`last_seen`). UUIDs
/// are the STIX ids' UUIDs, so both exports name the same things alike.
public struct MISPEventBuilder {
    public var profile: SharingProfile
    public var now: Timestamp

    public init(profile: SharingProfile, now: Timestamp) {
        self.profile = profile
        self.now = now
    }

    public func event(_ draft: SharedCampaignDraft) -> [String: Any] {
        let c = draft.campaign
        let firstSeen = c.firstSeen ?? now
        let base = "\(profile.producer)|campaign|\(c.campaignID)|\(firstSeen.stix)"
        func uuid(_ name: String) -> String { STIXIdentifier.uuid5(namespace: STIXIdentifier.distillWatchNamespace, name: name).uuidString.lowercased() }
        let epoch = String(now.millisecondsSinceEpoch / 1000)
        var attributes: [[String: Any]] = []
        for indicator in draft.indicators {
            let name = base + "|indicator|\(indicator.kind.label)|\(indicator.validUntil.stix)"
            func add(_ type: String, _ category: String, _ value: String, _ comment: String, toIDs: Bool = true) {
                attributes.append([
                    "uuid": uuid(name + "|misp|" + type + "|" + value), "type": type, "category": category, "value": value,
                    "to_ids": toIDs, "comment": comment + "; valid until \(indicator.validUntil.stix)",
                    "first_seen": indicator.firstSeen.stix, "last_seen": max(indicator.lastSeen, indicator.firstSeen).stix,
                    "timestamp": epoch, "distribution": "5", "disable_correlation": false,
                ])
            }
            switch indicator.kind {
            case .addresses, .subnets:
                for p in indicator.addresses {
                    let host = p.length == (p.isIPv4 ? 32 : 128)
                    add("ip-src", "Network activity", host ? p.network.description : p.description,
                        draft.proxyPool ? "proxy-pool exit (also honest residents' address)" : "hosting address")
                }
            case .autonomousSystems:
                for n in indicator.numbers { add("AS", "Network activity", "AS\(n)", "autonomous system the campaign rented") }
            case .userAgents:
                for s in indicator.strings { add("user-agent", "Network activity", s, "user agent of the campaign's harness") }
            case .clientFingerprints:
                for s in indicator.strings { add("text", "Network activity", s, "TLS/HTTP client fingerprint (as the producer's edge computes it)") }
            case .templateFamily(let k), .systemPrompts(let k), .emailDomains(let k):
                let kind = indicator.kind.label
                for v in indicator.fingerprints {
                    add("text", "Other", fingerprintHex(v), "DistillWatch keyed fingerprint: \(kind); matchable only under sharing key \(k)", toIDs: false)
                }
            }
        }
        let threat = c.score >= 0.9 ? "1" : c.score >= 0.75 ? "2" : "3"
        var event: [String: Any] = [
            "uuid": STIXIdentifier.make("campaign", name: base).replacingOccurrences(of: "campaign--", with: ""),
            "info": "Distillation campaign \(c.campaignID) (\(profile.producer)): \(c.accounts.count) accounts, \(c.exchanges) exchanges",
            "date": String(firstSeen.stix.prefix(10)),
            "threat_level_id": threat, "analysis": "2", "distribution": "0", "published": false,
            "timestamp": epoch,
            "Orgc": ["name": profile.producer, "uuid": uuid("producer:\(profile.producer)")],
            "Tag": [
                ["name": profile.tlp.rawValue.lowercased()],
                ["name": "mitre-atlas:technique=\"\(STIXBundleBuilder.atlasTechniqueID)\""],
            ],
            "Attribute": attributes,
        ]
        if let f = c.firstSeen, let l = c.lastSeen {
            event["info"] = (event["info"] as! String) + ", \(f.stix.prefix(10)) to \(l.stix.prefix(10))"
        }
        return ["Event": event]
    }
}
