import DistillWatchCore
import DistillWatchSharing
import DistillWatchStore
import Foundation
import Logging
import Synchronization

/// Indicator sharing inside `serve` (Documentation/Sharing.md, "The server"): the TAXII
/// collections, what partners push or feeds give (matched by the engine), and what
/// analysts approve for publication (exported from the live state and the event log).
///
/// Collections (TAXII 2.1 §5): `published` (this provider's approved campaigns; partners
/// with `share_read` read it; only approval writes it) and `inbox` (partners with
/// `share_write` add to it; the engine matches its indicators). Analysts read and write
/// both. Objects are kept in the event log's database (``SharedObjectStore``).
final class SharingService: Sendable {
    struct Collection: Sendable {
        var name: String
        var id: String
        var title: String
        var description: String
        var readers: Set<Role>
        var writers: Set<Role>
        /// Its indicators reach the engine.
        var matched: Bool
    }

    let objects: any SharedObjectStore
    let state: ServerStateHandle
    let collections: [Collection]

    init(objects: any SharedObjectStore, state: ServerStateHandle, producer: String?, feeds: [String] = []) {
        self.objects = objects
        self.state = state
        let who = producer ?? "this provider"
        collections = [
            Collection(name: "published", id: STIXIdentifier.uuid5(namespace: STIXIdentifier.distillWatchNamespace, name: "collection:published").uuidString.lowercased(),
                       title: "Campaigns published by \(who)",
                       description: "Distillation campaigns an analyst of \(who) approved for sharing: STIX 2.1 campaigns, indicators, sightings; revoked versions when an approval is withdrawn.",
                       readers: [.analyst, .shareRead], writers: [], matched: false),
            Collection(name: "inbox", id: STIXIdentifier.uuid5(namespace: STIXIdentifier.distillWatchNamespace, name: "collection:inbox").uuidString.lowercased(),
                       title: "Indicators from partners",
                       description: "STIX 2.1 indicators other providers push; DistillWatch matches them as the shared_indicator signal.",
                       readers: [.analyst], writers: [.analyst, .shareWrite], matched: true),
        ] + feeds.map { name in
            Collection(name: "feed:" + name, id: STIXIdentifier.uuid5(namespace: STIXIdentifier.distillWatchNamespace, name: "collection:feed:" + name).uuidString.lowercased(),
                       title: "Feed \(name)", description: "What the server pulls from the partner's TAXII collection \(name) (taxii_feeds); matched by the engine.",
                       readers: [.analyst], writers: [], matched: true)
        }
    }

    func collection(id: String) -> Collection? { collections.first { $0.id == id } }
    func collection(named name: String) -> Collection? { collections.first { $0.name == name } }

    // MARK: Adding objects

    /// What adding objects to a collection did, as a TAXII status resource gives it.
    struct AddOutcome: Sendable {
        var successes: [(id: String, version: String)] = []
        var failures: [(id: String?, message: String)] = []
        var notes: [String] = []
        var indicatorsMatched = 0
    }

    /// Adds `raw` objects (a bundle's or envelope's) to `collection`: each checked as
    /// ``STIXBundleReader`` reads it; rejected ones are failures, the rest are stored (a
    /// version already there is a success that changes nothing). `partner` names the
    /// `share_write` token that sends them (`nil` for this provider: an analyst, an import,
    /// a publication, a feed): a partner's object whose id someone else brought to the
    /// collection is a failure (``SharedObjectAddition/heldByAnother(_:)``). When the
    /// collection is matched, the engine's indicator set is rebuilt from every matched
    /// collection and goes through the log as one event.
    func add(_ raw: [Any], to collection: Collection, partner: String? = nil, at time: Timestamp) async throws -> AddOutcome {
        var outcome = AddOutcome()
        let (read, valid) = try STIXBundleReader().read(objects: raw)
        for p in read.problems {
            if p.rejected {
                outcome.failures.append((p.objectID, p.message))
            } else {
                outcome.notes.append(p.description)
            }
        }
        var rows: [SharedObject] = []
        for i in valid {
            guard let o = raw[i] as? [String: Any], let id = o["id"] as? String, let type = o["type"] as? String,
                  let json = try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .withoutEscapingSlashes])
            else { continue }
            rows.append(SharedObject(collection: collection.name, id: id, version: SharedObject.version(of: o), type: type,
                                     dateAdded: 0, revoked: STIXBundleReader.isTrue(o["revoked"]), json: Array(json), addedBy: partner))
        }
        let additions = try await objects.addSharedObjects(rows, at: time)
        var added = 0
        for (row, addition) in zip(rows, additions) {
            switch addition {
            case .added:
                added += 1
                outcome.successes.append((row.id, row.version))
            case .alreadyHeld:
                outcome.successes.append((row.id, row.version))
            case .heldByAnother(let holder):
                let who = holder.map { "partner \"\($0)\"" } ?? "this provider"
                outcome.failures.append((row.id, "\(row.id) was brought to \(collection.name) by \(who): only they, or an analyst "
                    + "here, may add versions of it (a revocation included)"))
            }
        }
        if collection.matched, added > 0 {
            // Stored is stored: a failure to rebuild the engine's set (the store, a full
            // queue) is a note, and the next change or restart rebuilds it.
            do {
                outcome.indicatorsMatched = try await rebuildIndicators(at: time)
            } catch {
                outcome.notes.append("stored, but the engine's indicators were not rebuilt: \(error)")
                state.value.logger.error("sharing: objects stored in \(collection.name) but the indicator set was not rebuilt: \(error)")
            }
        }
        return outcome
    }

    /// Reads every matched collection into an indicator library (in the order objects were
    /// added, so revocations and later versions win) and commits the set to the log.
    /// - Returns: the number of indicators the engine matches from now on.
    func rebuildIndicators(at time: Timestamp) async throws -> Int {
        let indicators = try await storedLibrary().indicators
        let set = SharedIndicatorSet(indicators, sharingKeys: state.value.decoder.sharingKeys)
        _ = try await state.value.ingestor.commit(
            events: [NewEvent(kind: .indicators, subject: nil, payload: EventDecoder.storedForm(of: indicators))],
            inputs: [.sharedIndicators(set)], at: time)
        return indicators.count
    }

    // MARK: Publishing

    enum PublishProblem: Error, CustomStringConvertible {
        case noProducer
        case noCampaign(String)
        case notPublished(String)
        var description: String {
            switch self {
            case .noProducer: return "publishing needs the provider's name: set sharing_producer (or --sharing-producer)"
            case .noCampaign(let id): return "no campaign \"\(id)\""
            case .notPublished(let id): return "campaign \"\(id)\" has no published objects to withdraw"
            }
        }
    }

    /// Exports a campaign from the live state and the event log and adds it to the
    /// `published` collection; records the approval.
    /// - Complexity: two passes over the event log (members, then everyone else), off the
    ///   ingest path: a log page at a time.
    func publish(campaignID: String, analyst: String?, note: String?, tlp: TrafficLightProtocol?, at time: Timestamp) async throws -> SharingDecision {
        let (draft, profile) = try await exportDraft(campaignID: campaignID, tlp: tlp, audience: .providers, at: time)
        let bundle = STIXBundleBuilder(profile: profile, now: time).bundle([draft])
        let list = bundle["objects"] as? [[String: Any]] ?? []
        _ = try await add(list, to: collection(named: "published")!, at: time)
        let stixCampaign = list.first { $0["type"] as? String == "campaign" }?["id"] as? String ?? ""
        let decision = SharingDecision(at: time, campaignID: campaignID, stixCampaignID: stixCampaign, action: .publish,
                                       analyst: analyst, note: note, objectIDs: list.compactMap { $0["id"] as? String })
        try await objects.recordSharingDecision(decision)
        return decision
    }

    /// A campaign as a document to hand over (a STIX bundle or a MISP event) without
    /// publishing it: for authorities (no account ids, no addresses, no sign-up domains)
    /// or a partner outside TAXII. Recorded like an approval (action `export`).
    func export(campaignID: String, audience: SharingProfile.Audience, misp: Bool, analyst: String?, note: String?,
                tlp: TrafficLightProtocol?, at time: Timestamp) async throws -> (document: [String: Any], decision: SharingDecision) {
        let (draft, profile) = try await exportDraft(campaignID: campaignID, tlp: tlp, audience: audience, at: time)
        let document: [String: Any]
        let ids: [String]
        let stixCampaign: String
        if misp {
            document = MISPEventBuilder(profile: profile, now: time).event(draft)
            ids = []
            stixCampaign = ""
        } else {
            document = STIXBundleBuilder(profile: profile, now: time).bundle([draft])
            let list = document["objects"] as? [[String: Any]] ?? []
            ids = list.compactMap { $0["id"] as? String }
            stixCampaign = list.first { $0["type"] as? String == "campaign" }?["id"] as? String ?? ""
        }
        let decision = SharingDecision(at: time, campaignID: campaignID, stixCampaignID: stixCampaign, action: .export, analyst: analyst,
                                       note: "\(audience.rawValue), \(misp ? "MISP" : "STIX"), \(profile.tlp.rawValue)" + (note.map { ": \($0)" } ?? ""),
                                       objectIDs: ids)
        try await objects.recordSharingDecision(decision)
        return (document, decision)
    }

    /// Gathers the campaign's observables from the event log (two passes: members, then
    /// everyone else) and selects what may be shared to `audience`.
    private func exportDraft(campaignID: String, tlp: TrafficLightProtocol?, audience: SharingProfile.Audience,
                             at time: Timestamp) async throws -> (SharedCampaignDraft, SharingProfile) {
        let s = state.value
        guard let producer = s.configuration.sharingProducer else { throw PublishProblem.noProducer }
        let report = s.engine.report(generatedAt: time, includeAllAccounts: false)
        guard let campaign = report.campaigns.first(where: { $0.campaignID == campaignID }) else { throw PublishProblem.noCampaign(campaignID) }
        var collector = CampaignObservablesCollector(membership: [campaignID: Set(campaign.accounts)], sharingKeys: s.decoder.sharingKeys)
        for pass in 0..<2 {
            var after: Int64 = 0
            while true {
                let page = try await s.store.events(after: after, limit: 8192)
                guard let last = page.last else { break }
                for event in page where event.kind == .exchange || event.kind == .account {
                    guard let input = try? s.decoder.input(for: event) else { continue }
                    switch input {
                    case .exchange(let e): if pass == 0 { collector.noteMember(e) } else { collector.noteOutsider(e) }
                    case .account(let a): if pass == 0 { collector.noteMember(a, at: campaign.firstSeen ?? time) } else { collector.noteOutsider(a) }
                    default: break
                    }
                }
                after = last.sequence
                await Task.yield()
            }
        }
        var profile = SharingProfile(producer: producer)
        profile.tlp = tlp ?? s.configuration.sharingTLP
        profile.audience = audience
        // After a withdrawal or dismissal, a new publication is new objects.
        profile.generation = try await objects.sharingDecisions(campaignID: campaignID, limit: 1_000)
            .filter { $0.action == .withdraw || $0.action == .dismiss }.count
        let authorities = audience == .authorities
        let draft = IndicatorSelection.select(collector.campaigns[campaignID]!, campaign: campaign, policy: profile.selection,
                                              includeAddresses: !authorities, includeEmailDomains: !authorities)
        return (draft, profile)
    }

    /// Publishes revoked versions of everything published for the campaign (every earlier
    /// approval's objects), and records why.
    func withdraw(campaignID: String, action: SharingDecision.Action, analyst: String?, note: String?, at time: Timestamp) async throws -> SharingDecision {
        let decisions = try await objects.sharingDecisions(campaignID: campaignID, limit: 1_000)
        let ids = Set(decisions.filter { $0.action == .publish }.flatMap(\.objectIDs))
        guard !ids.isEmpty else { throw PublishProblem.notPublished(campaignID) }
        var query = SharedObjectQuery(collection: "published")
        query.ids = ids
        query.limit = 1_000_000
        let current = try await objects.sharedObjects(query).objects.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.json)) as? [String: Any]
        }
        let revoked = try STIXBundleBuilder.revocation(of: current, at: time)
        _ = try await add(revoked, to: collection(named: "published")!, at: time)
        let decision = SharingDecision(at: time, campaignID: campaignID, stixCampaignID: decisions.first?.stixCampaignID ?? "",
                                       action: action, analyst: analyst, note: note, objectIDs: revoked.compactMap { $0["id"] as? String })
        try await objects.recordSharingDecision(decision)
        return decision
    }

    /// Every object of the matched collections read as one bundle, in the order they were
    /// added (the reader keeps the latest version of each id, revocations win). What is
    /// stored was checked object by object when it came: the per-bundle limits do not apply
    /// to the collections as a whole.
    private func storedLibrary() async throws -> SharedIndicatorLibrary {
        let rows = try await objects.allSharedObjects(in: collections.filter(\.matched).map(\.name))
        var library = SharedIndicatorLibrary()
        let all: [Any] = rows.compactMap { try? JSONSerialization.jsonObject(with: Data($0.json)) }
        guard !all.isEmpty else { return library }
        var reader = STIXBundleReader()
        reader.limits.maximumBytes = .max
        reader.limits.maximumObjects = .max
        reader.limits.maximumComparisons = .max
        var result = try reader.read(objects: all).result
        // The producer an indicator names (its created_by_ref) is what the partner says; the
        // token that sent it is what this server knows. Both go into the signal's detail.
        var sender: [String: String] = [:]
        for row in rows { sender[row.id] = row.addedBy }
        for i in result.indicators.indices {
            if let token = sender[result.indicators[i].id] { result.indicators[i].source += " (sent by token \(token))" }
        }
        library.add(result)
        return library
    }

    /// At start-up: when the matched collections hold other indicators than the engine
    /// (objects stored, then the process killed before the set was rebuilt), rebuild it.
    func reconcileAtStart(at time: Timestamp) async {
        do {
            let stored = Set(try await storedLibrary().indicators.map(\.id))
            let live = state.value.engine.read { Set($0.engine.sharedIndicators.indicators.map(\.id)) }
            if stored != live {
                let n = try await rebuildIndicators(at: time)
                state.value.logger.notice("sharing: the stored indicators differed from the engine's; rebuilt (\(n) indicators)")
            }
        } catch {
            state.value.logger.error("sharing: could not check the stored indicators at start: \(error)")
        }
    }

    /// Whether the campaign's latest publication decision is a publication (not withdrawn
    /// or dismissed since; exports do not count).
    func isPublished(_ campaignID: String) async throws -> Bool {
        try await objects.sharingDecisions(campaignID: campaignID, limit: 1_000).first { $0.action != .export }?.action == .publish
    }
}

/// The server state, set once it exists (the service is built before the state that holds it).
final class ServerStateHandle: Sendable {
    private let storage = Mutex<ServerState?>(nil)
    init() {}
    func set(_ state: ServerState) { storage.withLock { $0 = state } }
    var value: ServerState { storage.withLock { $0! } }
}
