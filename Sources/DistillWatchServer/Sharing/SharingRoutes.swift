import DistillWatchCore
import DistillWatchIngest
import DistillWatchSharing
import DistillWatchStore
import Foundation
import Hummingbird
import NIOCore

/// What analysts do about sharing: approve a campaign for publication or withdraw the
/// approval (`POST /v1/campaigns/{id}/share`), import a partner's bundle by hand
/// (`POST /v1/sharing/import`), and see the collections and the decisions
/// (`GET /v1/sharing`). Every approval and withdrawal is recorded with the analyst's token
/// name and note.
struct SharingRoutes {
    let state: ServerState

    struct ShareRequest: ClosedRequestBody, Sendable {
        static let fieldNames = ["action", "note", "tlp", "audience", "format"]

        var action: String
        var note: String?
        var tlp: String?
        /// With `export`: `providers` (default) or `authorities`.
        var audience: String?
        /// With `export`: `stix` (default) or `misp`.
        var format: String?
    }

    struct ShareResult: Encodable, Sendable {
        var decision: SharingDecision
        var objects: Int
        var collection: String
    }

    struct ImportResult: Encodable, Sendable {
        var stored: Int
        var failures: [String]
        var notes: [String]
        var indicatorsMatched: Int
        enum CodingKeys: String, CodingKey {
            case stored, failures, notes
            case indicatorsMatched = "indicators_matched"
        }
    }

    struct Overview: Encodable, Sendable {
        struct CollectionEntry: Encodable, Sendable {
            var id: String
            var name: String
            var title: String
            var objects: Int
            var matched: Bool
        }
        var producer: String?
        var tlp: String
        var collections: [CollectionEntry]
        var indicatorsMatched: Int
        var decisions: [SharingDecision]
        enum CodingKeys: String, CodingKey {
            case producer, tlp, collections, decisions
            case indicatorsMatched = "indicators_matched"
        }
    }

    func build() -> RouteCollection<DistillWatchRequestContext> {
        let routes = RouteCollection(context: DistillWatchRequestContext.self)
        routes.add(middleware: RequireRole(.analyst))
        routes.post("campaigns/:id/share") { request, context in
            let id = try context.identifier("id")
            let body = try await request.collectBody(limit: state.configuration.maxRequestBodyBytes, setting: "max_request_body_bytes")
            let ask = try decodeJSON(ShareRequest.self, from: body)
            // An export's settings given to another action were dropped without a word.
            if ask.action != "export", let given = [("audience", ask.audience), ("format", ask.format)].first(where: { $0.1 != nil }) {
                throw HTTPError(.badRequest, message: "field \"\(given.0)\": only an export takes it (action \"\(ask.action)\")")
            }
            if ask.action == "withdraw", ask.tlp != nil {
                throw HTTPError(.badRequest, message: "field \"tlp\": a withdrawal keeps the published marking; give tlp with publish or export")
            }
            var tlp: TrafficLightProtocol?
            if let name = ask.tlp {
                guard let t = TrafficLightProtocol(name: name) else { throw HTTPError(.badRequest, message: "tlp: clear, green, amber, amber+strict or red") }
                tlp = t
            }
            let time = state.clock.now()
            let decision: SharingDecision
            do {
                if ask.action == "export" {
                    guard let audience = SharingProfile.Audience(rawValue: ask.audience ?? "providers") else {
                        throw HTTPError(.badRequest, message: "audience: providers or authorities")
                    }
                    guard ["stix", "misp"].contains(ask.format ?? "stix") else { throw HTTPError(.badRequest, message: "format: stix or misp") }
                    let (document, exported) = try await state.sharing.export(
                        campaignID: id, audience: audience, misp: ask.format == "misp", analyst: context.token?.name, note: ask.note, tlp: tlp, at: time)
                    state.logger.notice("sharing: export \(id) for \(audience.rawValue)", metadata: ["analyst": "\(exported.analyst ?? "?")"])
                    let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
                    return Response(status: .ok, headers: [.contentType: ask.format == "misp" ? "application/json" : "application/stix+json;version=2.1"],
                                    body: .init(byteBuffer: ByteBuffer(bytes: data)))
                }
                switch ask.action {
                case "publish":
                    decision = try await state.sharing.publish(campaignID: id, analyst: context.token?.name, note: ask.note, tlp: tlp, at: time)
                case "withdraw":
                    decision = try await state.sharing.withdraw(campaignID: id, action: .withdraw, analyst: context.token?.name, note: ask.note, at: time)
                default:
                    throw HTTPError(.badRequest, message: "action: publish, withdraw or export")
                }
            } catch let problem as SharingService.PublishProblem {
                switch problem {
                case .noCampaign: throw HTTPError(.notFound, message: problem.description)
                case .noProducer, .notPublished: throw HTTPError(.conflict, message: problem.description)
                }
            }
            state.logger.notice("sharing: \(decision.action.rawValue) \(id)", metadata: [
                "analyst": "\(decision.analyst ?? "?")", "stix_campaign": "\(decision.stixCampaignID)", "objects": "\(decision.objectIDs.count)",
            ])
            return try JSONBody(ShareResult(decision: decision, objects: decision.objectIDs.count, collection: state.sharing.collection(named: "published")!.id))
                .response(from: request, context: context)
        }
        routes.post("sharing/import") { request, context in
            let body = try await request.collectBody(limit: state.configuration.maxIngestBodyBytes, setting: "max_ingest_body_bytes")
            let data = Data(buffer: body)
            do {
                _ = try STIXBundleReader().read(data)
            } catch let error as STIXBundleReader.BundleError {
                throw HTTPError(.badRequest, message: error.message)
            }
            let bundle = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
            let objects = bundle?["objects"] as? [Any] ?? []
            do {
                let outcome = try await state.sharing.add(objects, to: state.sharing.collection(named: "inbox")!, at: state.clock.now())
                return JSONBody(ImportResult(
                    stored: outcome.successes.count, failures: outcome.failures.map { "\($0.id ?? "?"): \($0.message)" },
                    notes: outcome.notes, indicatorsMatched: outcome.indicatorsMatched))
            } catch let refusal as IngestRefusal {
                throw refusal.httpError
            }
        }
        routes.get("sharing/sightings") { _, _ in
            // Sightings of partners' indicators, to send back to them (no account id).
            guard let producer = state.configuration.sharingProducer else {
                throw HTTPError(.conflict, message: "sightings name this provider: set sharing_producer (or --sharing-producer)")
            }
            let list = state.engine.read { $0.engine.sharedIndicatorSightings }
            var profile = SharingProfile(producer: producer)
            profile.tlp = state.configuration.sharingTLP
            let bundle = STIXBundleBuilder(profile: profile, now: state.clock.now()).sightings(list)
            let data = try JSONSerialization.data(withJSONObject: bundle, options: [.sortedKeys, .withoutEscapingSlashes])
            return Response(status: .ok, headers: [.contentType: "application/stix+json;version=2.1"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        routes.get("sharing") { _, _ in
            let counts = try await state.sharing.objects.sharedObjectCounts()
            let decisions = try await state.sharing.objects.sharingDecisions(campaignID: nil, limit: 100)
            let matched = state.engine.read { $0.engine.sharedIndicators.count }
            return JSONBody(Overview(
                producer: state.configuration.sharingProducer, tlp: state.configuration.sharingTLP.rawValue,
                collections: state.sharing.collections.map {
                    .init(id: $0.id, name: $0.name, title: $0.title, objects: counts[$0.name] ?? 0, matched: $0.matched)
                },
                indicatorsMatched: matched, decisions: decisions))
        }
        return routes
    }
}
