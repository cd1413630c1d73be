import DistillWatchCore
import Foundation
import Synchronization

/// A STIX object kept for sharing, in a TAXII collection (TAXII 2.1 §5): the published
/// campaigns of this provider, what partners pushed, what feeds gave.
public struct SharedObject: Sendable, Equatable {
    public var collection: String
    /// The STIX id (`type--uuid`).
    public var id: String
    /// The object's `modified` (else `created`), normalised to RFC 3339 with milliseconds
    /// so that versions sort as text; `""` for an object with neither (an observable).
    public var version: String
    public var type: String
    /// When this store added it, in microseconds since the epoch: strictly increasing
    /// within the store, so it is also the TAXII pagination cursor.
    public var dateAdded: Int64
    public var revoked: Bool
    /// The object's JSON as received.
    public var json: [UInt8]
    /// The name of the partner's token (`share_write`) that added this version; `nil` when
    /// this provider added it (an analyst, `/v1/sharing/import`, a publication, a feed).
    /// Only the writer of an id's first version, or this provider, adds later versions of
    /// it (``SharedObjectAddition/heldByAnother(_:)``).
    public var addedBy: String?

    public init(collection: String, id: String, version: String, type: String, dateAdded: Int64, revoked: Bool, json: [UInt8],
                addedBy: String? = nil) {
        self.collection = collection
        self.id = id
        self.version = version
        self.type = type
        self.dateAdded = dateAdded
        self.revoked = revoked
        self.json = json
        self.addedBy = addedBy
    }

    /// `dateAdded` as TAXII writes it (RFC 3339, microseconds, `Z`).
    public var dateAddedText: String { Self.timestampText(microseconds: dateAdded) }

    public static func timestampText(microseconds us: Int64) -> String {
        let ms = Timestamp(millisecondsSinceEpoch: floorDivide(us, 1000)).rfc3339  // ...SS.mmmZ
        let micro = String(us - floorDivide(us, 1000) * 1000)
        return String(ms.dropLast()) + String(repeating: "0", count: 3 - micro.count) + micro + "Z"
    }

    /// Parses an RFC 3339 time to microseconds (fractions beyond microseconds are cut).
    public static func microseconds(_ text: String) -> Int64? {
        guard let t = Timestamp(rfc3339: text) else { return nil }
        var us = t.millisecondsSinceEpoch * 1000
        // Timestamp keeps milliseconds: read digits 4–6 of the fraction, if any.
        if let dot = text.firstIndex(of: ".") {
            let digits = text[text.index(after: dot)...].prefix { $0.isNumber }
            if digits.count > 3 {
                let extra = digits.dropFirst(3).prefix(3)
                let value = Int64(String(extra)) ?? 0
                us += value * Int64([1, 100, 10, 1][extra.count])
            }
        }
        return us
    }

    /// The version string of an object's JSON: `modified`, else `created`, normalised.
    public static func version(of object: [String: Any]) -> String {
        for key in ["modified", "created"] {
            if let text = object[key] as? String, let t = Timestamp(rfc3339: text) { return t.rfc3339 }
        }
        return ""
    }
}

/// What to read from a collection (TAXII 2.1 §3.4 filtering, §3.6 pagination).
public struct SharedObjectQuery: Sendable, Equatable {
    public enum Versions: Sendable, Equatable {
        case last, first, all
        case some(Set<String>)
    }

    public var collection: String
    /// Only objects added after this time (µs), exclusive.
    public var addedAfter: Int64?
    public var ids: Set<String>?
    public var types: Set<String>?
    public var versions: Versions = .last
    public var limit = 1000

    public init(collection: String) { self.collection = collection }
}

/// One page of a query, in `dateAdded` order; `more` when objects remain after it.
public struct SharedObjectPage: Sendable, Equatable {
    public var objects: [SharedObject]
    public var more: Bool
}

/// What adding one object to a collection did.
public enum SharedObjectAddition: Sendable, Equatable {
    /// Stored.
    case added
    /// That id and version was already there: nothing changed.
    case alreadyHeld
    /// Refused: a version of the id in this collection was added by someone else than this
    /// partner, the named partner's token or (`nil`) this provider. A partner's token adds
    /// versions only of the ids it brought, so that one partner cannot revoke, or rewrite
    /// into a pattern matching someone else's customers, what another shared.
    case heldByAnother(String?)
}

/// Storage of shared STIX objects and TAXII status resources, in the same database as the
/// event log (Documentation/Sharing.md, "TAXII").
public protocol SharedObjectStore: Sendable {
    /// Adds objects (JSON, id, type, version, revoked already read from it) to a collection
    /// in one transaction; an id and version already there is not added again, and an
    /// object a partner adds (``SharedObject/addedBy``) is refused when a version of its id
    /// in the collection came from anyone else.
    /// - Returns: for each object, what was done.
    /// - Complexity: one indexed lookup per object a partner adds, one insert per object.
    func addSharedObjects(_ objects: [SharedObject], at time: Timestamp) async throws -> [SharedObjectAddition]
    /// - Complexity: O(log n + page) with the indexes on (collection, date_added) and
    ///   (collection, id, version).
    func sharedObjects(_ query: SharedObjectQuery) async throws -> SharedObjectPage
    /// Every object of the collections, every version, in `dateAdded` order.
    func allSharedObjects(in collections: [String]) async throws -> [SharedObject]
    /// Objects per collection.
    func sharedObjectCounts() async throws -> [String: Int]
    func recordTAXIIStatus(id: String, json: [UInt8], at time: Timestamp) async throws
    func taxiiStatus(id: String) async throws -> [UInt8]?
    /// The audit trail of publication: approvals, withdrawals, revocations by dismissal.
    func recordSharingDecision(_ decision: SharingDecision) async throws
    /// Newest first; one campaign's, or all.
    func sharingDecisions(campaignID: String?, limit: Int) async throws -> [SharingDecision]
}

/// An analyst's decision about publishing a campaign, and the objects it published or
/// revoked.
public struct SharingDecision: Sendable, Equatable, Codable {
    public enum Action: String, Sendable, Codable {
        /// Approved and published.
        case publish
        /// Approval withdrawn: revoked versions published.
        case withdraw
        /// The campaign was dismissed (labelled legitimate): revoked versions published.
        case dismiss
        /// Handed over as a document (to authorities, or outside TAXII), not published.
        case export
    }

    public var at: Timestamp
    /// The engine's id (`campaign-3`) and the STIX campaign's id.
    public var campaignID: String
    public var stixCampaignID: String
    public var action: Action
    public var analyst: String?
    public var note: String?
    public var objectIDs: [String]

    enum CodingKeys: String, CodingKey {
        case at, action, analyst, note
        case campaignID = "campaign_id"
        case stixCampaignID = "stix_campaign_id"
        case objectIDs = "object_ids"
    }

    public init(at: Timestamp, campaignID: String, stixCampaignID: String, action: Action, analyst: String?, note: String?, objectIDs: [String]) {
        self.at = at
        self.campaignID = campaignID
        self.stixCampaignID = stixCampaignID
        self.action = action
        self.analyst = analyst
        self.note = note
        self.objectIDs = objectIDs
    }
}

extension SharedObjectQuery {
    /// Whether `o` passes the filters other than `versions` and the cursor.
    func admits(_ o: SharedObject) -> Bool {
        o.collection == collection && (addedAfter.map { o.dateAdded > $0 } ?? true)
            && (ids.map { $0.contains(o.id) } ?? true) && (types.map { $0.contains(o.type) } ?? true)
    }
}

/// Shared objects in memory (``InMemoryEventStore``'s companion, and tests).
public final class InMemorySharedObjectStore: SharedObjectStore {
    private struct State {
        var objects: [SharedObject] = []
        var keys: Set<String> = []
        var lastAdded: Int64 = 0
        var statuses: [String: [UInt8]] = [:]
        var decisions: [SharingDecision] = []
    }

    private let state = Mutex(State())

    public init() {}

    public func addSharedObjects(_ objects: [SharedObject], at time: Timestamp) async throws -> [SharedObjectAddition] {
        state.withLock { s in
            objects.map { o in
                if let writer = o.addedBy,
                   let other = s.objects.first(where: { $0.collection == o.collection && $0.id == o.id && $0.addedBy != writer }) {
                    return .heldByAnother(other.addedBy)
                }
                guard s.keys.insert(o.collection + "\u{0}" + o.id + "\u{0}" + o.version).inserted else { return .alreadyHeld }
                var o = o
                s.lastAdded = max(time.millisecondsSinceEpoch * 1000, s.lastAdded + 1)
                o.dateAdded = s.lastAdded
                s.objects.append(o)
                return .added
            }
        }
    }

    public func sharedObjects(_ query: SharedObjectQuery) async throws -> SharedObjectPage {
        state.withLock { s in
            let inCollection = s.objects.filter { $0.collection == query.collection }
            var latest: [String: String] = [:], earliest: [String: String] = [:]
            for o in inCollection {
                latest[o.id] = max(latest[o.id] ?? o.version, o.version)
                earliest[o.id] = min(earliest[o.id] ?? o.version, o.version)
            }
            let matching = inCollection.filter { o in
                guard query.admits(o) else { return false }
                switch query.versions {
                case .last: return latest[o.id] == o.version
                case .first: return earliest[o.id] == o.version
                case .all: return true
                case .some(let versions): return versions.contains(o.version)
                }
            }
            return SharedObjectPage(objects: Array(matching.prefix(query.limit)), more: matching.count > query.limit)
        }
    }

    public func allSharedObjects(in collections: [String]) async throws -> [SharedObject] {
        state.withLock { s in s.objects.filter { collections.contains($0.collection) } }
    }

    public func sharedObjectCounts() async throws -> [String: Int] {
        state.withLock { s in s.objects.reduce(into: [:]) { $0[$1.collection, default: 0] += 1 } }
    }

    public func recordTAXIIStatus(id: String, json: [UInt8], at time: Timestamp) async throws {
        state.withLock { $0.statuses[id] = json }
    }

    public func taxiiStatus(id: String) async throws -> [UInt8]? {
        state.withLock { $0.statuses[id] }
    }

    public func recordSharingDecision(_ decision: SharingDecision) async throws {
        state.withLock { $0.decisions.append(decision) }
    }

    public func sharingDecisions(campaignID: String?, limit: Int) async throws -> [SharingDecision] {
        state.withLock { s in Array(s.decisions.reversed().filter { campaignID == nil || $0.campaignID == campaignID }.prefix(limit)) }
    }
}
