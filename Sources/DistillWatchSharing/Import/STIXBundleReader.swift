import DistillWatchCore
import Foundation

/// Reads STIX 2.1 bundles from other providers into ``SharedIndicator``s the engine
/// matches, object by object: a malformed or hostile object is reported with its position
/// and id and skipped, never fatal to the rest of the bundle.
///
/// Checks (STIX 2.1 §3, §5, §9): a JSON object of `type` `bundle` with an `objects` array;
/// per object: `type` and a well-formed `id` of that type, `spec_version` `2.1`, RFC 3339
/// timestamps, indicators with `pattern_type` `stix` and a pattern DistillWatch can match
/// (``STIXPattern``), `valid_until` after `valid_from`. Limits: ``Limits``.
/// Revocation: an object with `revoked: true` withdraws every earlier version of its id;
/// of several versions, the latest `modified` wins.
public struct STIXBundleReader: Sendable {
    public struct Limits: Sendable {
        /// Bytes of one bundle.
        public var maximumBytes = 64 << 20
        public var maximumObjects = 250_000
        /// Comparisons over all of a bundle's indicators.
        public var maximumComparisons = 2_000_000
        public init() {}
    }

    /// A problem with one object (or the bundle, when `index` is `nil`).
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var index: Int?
        public var objectID: String?
        public var message: String
        /// The object is not valid STIX 2.1 as DistillWatch reads it (a collection does not
        /// keep it); otherwise it is valid but not matched (kept, not used by the engine).
        public var rejected = true
        public var description: String {
            let at = index.map { "objects[\($0)]" } ?? "bundle"
            // Problems quote the input: at most 300 characters of it.
            let text = message.count > 300 ? String(message.prefix(300)) + "…" : message
            return objectID.map { "\(at) \($0.prefix(120)): \(text)" } ?? "\(at): \(text)"
        }
    }

    /// The whole input is not a STIX bundle (not JSON, not an object, not `type: bundle`,
    /// over the size limit).
    public struct BundleError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// What one bundle gave.
    public struct Result: Sendable {
        public var bundleID: String
        /// Indicators DistillWatch can match, latest version of each id, revoked ones left out.
        public var indicators: [SharedIndicator] = []
        /// Ids withdrawn by a revoked version in this bundle.
        public var revoked: Set<String> = []
        /// Objects read without a problem, by type (for the summary).
        public var objectsByType: [String: Int] = [:]
        public var problems: [Problem] = []
        /// Comparisons in patterns that are valid STIX DistillWatch does not match.
        public var unsupportedComparisons = 0
    }

    public var limits = Limits()

    public init() {}

    static let knownTypes: Set<String> = [
        "attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident", "indicator", "infrastructure",
        "intrusion-set", "location", "malware", "malware-analysis", "note", "observed-data", "opinion", "report",
        "threat-actor", "tool", "vulnerability", "relationship", "sighting", "marking-definition", "language-content",
        "extension-definition", "artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message",
        "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process", "software", "url",
        "user-account", "windows-registry-key", "x509-certificate",
        STIXPattern.keyedFingerprintType, STIXPattern.clientFingerprintType,
    ]
    /// What Foundation's `JSONSerialization` found wrong, with the line and column where it
    /// says (``TextPosition``; its `localizedDescription` is only "The data is not in the
    /// correct format.").
    /// - Complexity: O(bytes before the problem).
    public static func jsonSyntaxProblem(_ error: any Error, in data: Data) -> String {
        guard data.count > 0 else { return "the file is empty" }
        let detail = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String) ?? error.localizedDescription
        return TextPosition.locating(detail, in: data)
    }

    /// A JSON boolean's value; `nil` for anything else. Foundation's `as? Bool` also takes
    /// the numbers 0 and 1 (an `NSNumber` bridges), which STIX does not allow
    /// (`"revoked": 1` is not a revocation).
    public static func jsonBoolean(_ value: Any?) -> Bool? {
        guard let bool = value as? Bool else { return nil }
        if let number = value as? NSNumber, String(cString: number.objCType) != "c" { return nil }
        return bool
    }

    /// Whether `value` is the JSON boolean `true`.
    public static func isTrue(_ value: Any?) -> Bool { jsonBoolean(value) == true }

    /// A JSON value as a problem shows it: `'text'` (cut to 40 characters), a number, or
    /// what it is.
    static func shown(_ value: Any?) -> String {
        guard let value else { return "missing" }
        if let bool = jsonBoolean(value) { return "\(bool)" }
        switch value {
        case let text as String: return "'\(text.prefix(40))'"
        case let number as NSNumber: return "the number \(number)"
        case is [Any]: return "an array"
        case is [String: Any]: return "an object"
        case is NSNull: return "null"
        default: return "not text"
        }
    }

    static let domainTypes: Set<String> = [
        "attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident", "indicator", "infrastructure",
        "intrusion-set", "location", "malware", "malware-analysis", "note", "observed-data", "opinion", "report",
        "threat-actor", "tool", "vulnerability", "relationship", "sighting",
    ]

    /// Reads one bundle.
    /// - Throws: ``BundleError`` when `data` is not a bundle at all.
    /// - Complexity: O(bytes + comparisons).
    public func read(_ data: Data) throws(BundleError) -> Result {
        guard data.count <= limits.maximumBytes else {
            throw BundleError(message: "bundle of \(data.count) bytes is over the limit of \(limits.maximumBytes)")
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw BundleError(message: "not JSON: " + Self.jsonSyntaxProblem(error, in: data))
        }
        guard let bundle = json as? [String: Any] else { throw BundleError(message: "not a JSON object") }
        guard bundle["type"] as? String == "bundle" else {
            throw BundleError(message: "type is \((bundle["type"] as? String).map { "'\($0)'" } ?? "missing"), not 'bundle'")
        }
        let bundleID = bundle["id"] as? String ?? ""
        guard bundleID.hasPrefix("bundle--"), STIXIdentifier.isWellFormed(bundleID) else {
            throw BundleError(message: "bundle id '\(bundleID.prefix(80))' is not bundle--<UUID>")
        }
        guard let objects = bundle["objects"] as? [Any] else { throw BundleError(message: "objects is missing or not an array") }
        guard objects.count <= limits.maximumObjects else {
            throw BundleError(message: "\(objects.count) objects is over the limit of \(limits.maximumObjects)")
        }
        var result = Result(bundleID: bundleID)

        // Pass 1: well-formedness, names, markings, relationships, latest versions.
        var valid: [(Int, [String: Any])] = []
        var identities: [String: String] = [:]
        var campaigns: [String: String] = [:]
        // The latest version of each id by its parsed `modified` (microseconds): text
        // comparison would put "…00.500Z" before "…00Z" and ignore offsets. On a tie, a
        // revoked version wins (a revocation is never lost to an equal copy).
        var latest: [String: (modified: Int64, revoked: Bool, index: Int)] = [:]
        for (index, any) in objects.enumerated() {
            func problem(_ message: String, _ id: String? = nil) {
                result.problems.append(Problem(index: index, objectID: id, message: message))
            }
            guard let o = any as? [String: Any] else { problem("not a JSON object"); continue }
            guard let type = o["type"] as? String, !type.isEmpty else { problem("type is missing or not a string"); continue }
            guard let id = o["id"] as? String, id.hasPrefix(type + "--"), STIXIdentifier.isWellFormed(id) else {
                problem("id is missing or not \(type)--<UUID>", (o["id"] as? String).map { String($0.prefix(120)) })
                continue
            }
            let spec = o["spec_version"] as? String
            if Self.domainTypes.contains(type) || type == "marking-definition" || type == "extension-definition" || spec != nil {
                guard spec == "2.1" else {
                    problem("spec_version is \(Self.shown(o["spec_version"])); only STIX 2.1 (the text \"2.1\") is read", id)
                    continue
                }
            }
            guard Self.knownTypes.contains(type) else { problem("type '\(type.prefix(64))' is not one DistillWatch reads; skipped", id); continue }
            if Self.domainTypes.contains(type) {
                guard let created = o["created"] as? String, Timestamp(rfc3339: created) != nil,
                      let modifiedText = o["modified"] as? String, let modified = Self.microseconds(modifiedText)
                else { problem("created and modified must be RFC 3339 timestamps", id); continue }
                if let r = o["revoked"], Self.jsonBoolean(r) == nil {
                    problem("revoked must be true or false, not \(Self.shown(r))", id)
                    continue
                }
                let revoked = Self.isTrue(o["revoked"])
                if let previous = latest[id], previous.modified > modified || (previous.modified == modified && (previous.revoked || !revoked)) {
                    continue  // an older (or the same) version
                }
                latest[id] = (modified, revoked, index)
            }
            if type == "identity", let name = o["name"] as? String { identities[id] = String(name.prefix(200)) }
            if type == "campaign", let name = o["name"] as? String { campaigns[id] = String(name.prefix(200)) }
            result.objectsByType[type, default: 0] += 1
            valid.append((index, o))
        }
        var indicatedCampaign: [String: String] = [:]
        for (_, o) in valid where o["type"] as? String == "relationship" && o["relationship_type"] as? String == "indicates" {
            if let s = o["source_ref"] as? String, let t = o["target_ref"] as? String, let name = campaigns[t] { indicatedCampaign[s] = name }
        }

        // Pass 2: indicators.
        var comparisons = 0
        for (index, o) in valid {
            let id = o["id"] as! String
            guard Self.domainTypes.contains(o["type"] as! String), latest[id]?.index == index else { continue }
            if Self.isTrue(o["revoked"]) {
                result.revoked.insert(id)
                continue
            }
            guard o["type"] as? String == "indicator" else { continue }
            func problem(_ message: String, rejected: Bool = true) {
                result.problems.append(Problem(index: index, objectID: id, message: message, rejected: rejected))
            }
            guard o["pattern_type"] as? String == "stix" else {
                problem("pattern_type \(Self.shown(o["pattern_type"])) is not matched (only stix)", rejected: o["pattern_type"] as? String == nil)
                continue
            }
            guard let pattern = o["pattern"] as? String else { problem("pattern is missing"); continue }
            guard let fromText = o["valid_from"] as? String, let from = Timestamp(rfc3339: fromText) else {
                problem("valid_from is missing or not an RFC 3339 timestamp")
                continue
            }
            var until: Timestamp?
            if let untilValue = o["valid_until"] {
                guard let text = untilValue as? String, let t = Timestamp(rfc3339: text) else { problem("valid_until is not an RFC 3339 timestamp"); continue }
                guard t > from else { problem("valid_until is not after valid_from"); continue }
                until = t
            }
            let parsed: STIXPattern.Parsed
            do {
                parsed = try STIXPattern.parse(pattern)
            } catch {
                // Valid STIX DistillWatch does not evaluate is kept (not matched); a
                // malformed pattern is refused.
                problem("pattern: \(error.message)", rejected: !error.unsupported)
                continue
            }
            result.unsupportedComparisons += parsed.unsupported.count
            guard !parsed.comparisons.isEmpty else {
                problem("no comparison DistillWatch can match (\(parsed.unsupported.prefix(3).joined(separator: "; ")))", rejected: false)
                continue
            }
            comparisons += parsed.comparisons.count
            guard comparisons <= limits.maximumComparisons else {
                problem("the bundle's patterns exceed \(limits.maximumComparisons) comparisons; this and later indicators skipped")
                break
            }
            // A marking that cannot be read is not dropped: an indicator whose handling
            // (its TLP) is unknown is not used.
            if let refs = o["object_marking_refs"], !(refs is [String]) {
                problem("object_marking_refs must be a list of marking-definition ids, not \(Self.shown(refs)) "
                    + "or a list holding something else; its marking (TLP) cannot be known")
                continue
            }
            let markings = (o["object_marking_refs"] as? [String]) ?? []
            let tlp = markings.compactMap { TrafficLightProtocol(markingDefinitionID: $0) }.max { $0.rank < $1.rank }
            let source = (o["created_by_ref"] as? String).flatMap { identities[$0] } ?? (o["created_by_ref"] as? String) ?? "unknown producer"
            result.indicators.append(SharedIndicator(
                id: id, source: source, campaign: indicatedCampaign[id], tlp: tlp?.rawValue,
                comparisons: parsed.comparisons, validFrom: from, validUntil: until))
        }
        return result
    }

    /// An RFC 3339 time in microseconds since the epoch (fractions beyond are cut).
    static func microseconds(_ text: String) -> Int64? {
        guard let t = Timestamp(rfc3339: text) else { return nil }
        var us = t.millisecondsSinceEpoch * 1000
        if let dot = text.firstIndex(of: ".") {
            let digits = text[text.index(after: dot)...].prefix { $0.isNumber }
            if digits.count > 3 {
                let extra = digits.dropFirst(3).prefix(3)
                us += (Int64(String(extra)) ?? 0) * Int64([1, 100, 10, 1][extra.count])
            }
        }
        return us
    }

    /// Reads a list of objects (a TAXII envelope's, a POST body's) as one bundle.
    /// - Throws: ``BundleError`` when there are more than ``Limits/maximumObjects``.
    public func read(objects: [Any]) throws(BundleError) -> (result: Result, valid: [Int]) {
        let bundle: [String: Any] = ["type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": objects]
        let data: Data
        do { data = try JSONSerialization.data(withJSONObject: bundle) } catch {
            throw BundleError(message: "the objects cannot be serialised: \(error.localizedDescription)")
        }
        let result = try read(data)
        let rejected = Set(result.problems.filter(\.rejected).compactMap(\.index))
        return (result, objects.indices.filter { !rejected.contains($0) })
    }
}

/// Indicators gathered from several bundles, in the order they were read: a later version
/// of an id replaces an earlier one, and a revocation (in any later bundle) withdraws it.
public struct SharedIndicatorLibrary: Sendable {
    private var byID: [String: SharedIndicator] = [:]
    private var order: [String] = []
    public private(set) var revoked: Set<String> = []

    public init() {}

    public mutating func add(_ result: STIXBundleReader.Result) {
        for indicator in result.indicators where !revoked.contains(indicator.id) {
            if byID.updateValue(indicator, forKey: indicator.id) == nil { order.append(indicator.id) }
        }
        for id in result.revoked {
            revoked.insert(id)
            byID[id] = nil
        }
    }

    /// The indicators not revoked, in first-read order.
    public var indicators: [SharedIndicator] { order.compactMap { byID[$0] } }

    /// The engine's index of them, with the installation's sharing keys.
    public func indicatorSet(sharingKeys: [SharingKey]) -> SharedIndicatorSet {
        SharedIndicatorSet(indicators, sharingKeys: sharingKeys)
    }
}
