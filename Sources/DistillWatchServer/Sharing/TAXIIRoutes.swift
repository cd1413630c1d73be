import DistillWatchCore
import DistillWatchSharing
import DistillWatchStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A TAXII 2.1 server (OASIS TAXII 2.1, 2021) under `/taxii2/`: discovery (§4.1), one API
/// root `/taxii2/api/` (§4.2), its collections (§5.1, §5.2), objects with filtering and
/// pagination (§5.3: `added_after`, `limit`, `next`, `match[id]`, `match[type]`,
/// `match[version]`, `match[spec_version]`; `X-TAXII-Date-Added-First/Last`), adding
/// objects with a status resource (§5.4, §4.3), one object (§5.5), its versions (§5.7)
/// and the manifest (§5.6). Media type `application/taxii+json;version=2.1`.
///
/// Tokens with `analyst`, `share_read` or `share_write` reach it; each collection then
/// says which of them may read or write it (``SharingService/Collection``). Objects live
/// in the event log's database.
struct TAXIIRoutes {
    let state: ServerState
    static let mediaType = "application/taxii+json;version=2.1"
    static let stixMediaType = "application/stix+json;version=2.1"
    static let pageLimit = 1_000
    static let defaultLimit = 100

    func build() -> RouteCollection<DistillWatchRequestContext> {
        let routes = RouteCollection(context: DistillWatchRequestContext.self)
        routes.add(middleware: RequireRole(.analyst, .shareRead, .shareWrite))
        routes.get { request, _ in
            try Self.checkAccept(request)
            let root = Self.baseURL(request) + "/taxii2/api/"
            return Self.taxii([
                "title": "DistillWatch TAXII server" + (state.configuration.sharingProducer.map { " (\($0))" } ?? ""),
                "description": "Indicators of LLM distillation campaigns (Documentation/Sharing.md).",
                "default": root,
                "api_roots": [root],
            ])
        }
        routes.get("api") { request, _ in
            try Self.checkAccept(request)
            return Self.taxii([
                "title": "DistillWatch campaign indicators",
                "versions": [Self.mediaType],
                "max_content_length": state.configuration.maxIngestBodyBytes,
            ])
        }
        routes.get("api/collections") { request, context in
            try Self.checkAccept(request)
            let roles = context.token?.roles ?? []
            let visible = state.sharing.collections.filter { !$0.readers.isDisjoint(with: roles) || !$0.writers.isDisjoint(with: roles) }
            return Self.taxii(["collections": visible.map { Self.resource($0, roles: roles) }])
        }
        routes.get("api/collections/:collection") { request, context in
            try Self.checkAccept(request)
            let c = try collection(context, reading: nil)
            return Self.taxii(Self.resource(c, roles: context.token?.roles ?? []))
        }
        routes.get("api/collections/:collection/objects") { request, context in
            try Self.checkAccept(request)
            let c = try collection(context, reading: true)
            return try await objects(request, c, manifest: false)
        }
        routes.get("api/collections/:collection/manifest") { request, context in
            try Self.checkAccept(request)
            let c = try collection(context, reading: true)
            return try await objects(request, c, manifest: true)
        }
        routes.post("api/collections/:collection/objects") { request, context in
            try Self.checkAccept(request)
            let c = try collection(context, reading: false)
            return try await add(request, to: c, context: context)
        }
        routes.get("api/collections/:collection/objects/:object") { request, context in
            try Self.checkAccept(request)
            let c = try collection(context, reading: true)
            let query = try Self.query(request, collection: c.name, object: try context.identifier("object"))
            let page = try await state.sharing.objects.sharedObjects(query)
            guard !page.objects.isEmpty else { throw HTTPError(.notFound, message: "no object \(try context.identifier("object")) in collection \(c.id)") }
            return Self.envelope(page, limit: query.limit)
        }
        routes.get("api/collections/:collection/objects/:object/versions") { request, context in
            try Self.checkAccept(request)
            let c = try collection(context, reading: true)
            var query = try Self.query(request, collection: c.name, object: try context.identifier("object"))
            query.versions = .all
            let page = try await state.sharing.objects.sharedObjects(query)
            guard !page.objects.isEmpty else { throw HTTPError(.notFound, message: "no object \(try context.identifier("object")) in collection \(c.id)") }
            var body: [String: Any] = ["more": page.more, "versions": page.objects.map(\.version)]
            if page.more, let last = page.objects.last { body["next"] = String(last.dateAdded) }
            return Self.taxii(body, headers: Self.dateHeaders(page))
        }
        routes.get("api/status/:status") { request, context in
            try Self.checkAccept(request)
            let id = try context.identifier("status")
            // Status resources have UUID ids; other records kept alongside are not statuses.
            guard UUID(uuidString: id) != nil, let json = try await state.sharing.objects.taxiiStatus(id: id) else {
                throw HTTPError(.notFound, message: "no status \(id)")
            }
            return Response(status: .ok, headers: [.contentType: Self.mediaType], body: .init(byteBuffer: ByteBuffer(bytes: json)))
        }
        return routes
    }

    /// The collection named by the path, after checking the token may read (`true`) or
    /// write (`false`) it; `nil`: either.
    private func collection(_ context: DistillWatchRequestContext, reading: Bool?) throws -> SharingService.Collection {
        let id = try context.identifier("collection")
        let roles = context.token?.roles ?? []
        guard let c = state.sharing.collection(id: id) else { throw HTTPError(.notFound, message: "no collection \(id)") }
        let needed = reading == false ? c.writers : reading == true ? c.readers : c.readers.union(c.writers)
        guard !needed.isDisjoint(with: roles) else {
            let names = needed.map(\.rawValue).sorted().joined(separator: " or ")
            throw HTTPError(.forbidden, message: "token \"\(context.token?.name ?? "?")\" lacks the \(names.isEmpty ? "(none: read-only)" : names) role to \(reading == false ? "write" : "read") collection \(c.name)")
        }
        return c
    }

    private func objects(_ request: Request, _ c: SharingService.Collection, manifest: Bool) async throws -> Response {
        let query = try Self.query(request, collection: c.name)
        let page = try await state.sharing.objects.sharedObjects(query)
        guard manifest else { return Self.envelope(page, limit: query.limit) }
        var body: [String: Any] = ["more": page.more, "objects": page.objects.map {
            ["id": $0.id, "date_added": $0.dateAddedText, "version": $0.version, "media_type": Self.stixMediaType]
        }]
        if page.more, let last = page.objects.last { body["next"] = String(last.dateAdded) }
        return Self.taxii(body, headers: Self.dateHeaders(page))
    }

    private func add(_ request: Request, to c: SharingService.Collection, context: DistillWatchRequestContext) async throws -> Response {
        if let type = request.headers[.contentType] {
            guard let media = Self.mediaRanges(type).first, Self.isTAXII21(media) else {
                throw HTTPError(.unsupportedMediaType, message: "Content-Type must be \(Self.mediaType)")
            }
        }
        let body = try await request.collectBody(limit: state.configuration.maxIngestBodyBytes, setting: "max_ingest_body_bytes")
        let time = state.clock.now()
        let envelope = try? JSONSerialization.jsonObject(with: Data(buffer: body))
        guard let map = envelope as? [String: Any], let list = map["objects"] as? [Any] else {
            throw HTTPError(.badRequest, message: "expected a TAXII envelope: a JSON object with an objects array")
        }
        let outcome: SharingService.AddOutcome
        do {
            // A partner's token writes as itself; an analyst writes as this provider.
            let roles = context.token?.roles ?? []
            let partner = roles.contains(.analyst) ? nil : context.token?.name
            outcome = try await state.sharing.add(list, to: c, partner: partner, at: time)
        } catch let error as STIXBundleReader.BundleError {
            throw HTTPError(.contentTooLarge, message: error.message)
        } catch let refusal as IngestRefusal {
            throw refusal.httpError
        }
        let statusID = UUID().uuidString.lowercased()
        let status: [String: Any] = [
            "id": statusID, "status": "complete", "request_timestamp": SharedObject.timestampText(microseconds: time.millisecondsSinceEpoch * 1000),
            "total_count": list.count, "success_count": outcome.successes.count,
            "successes": outcome.successes.map { ["id": $0.id, "version": $0.version] },
            "failure_count": outcome.failures.count,
            "failures": outcome.failures.map { f -> [String: Any] in ["id": f.id ?? "", "message": f.message] },
            "pending_count": 0, "pendings": [] as [Any],
        ]
        let json = try JSONSerialization.data(withJSONObject: status, options: [.sortedKeys, .withoutEscapingSlashes])
        try await state.sharing.objects.recordTAXIIStatus(id: statusID, json: Array(json), at: time)
        return Response(status: .accepted, headers: [.contentType: Self.mediaType], body: .init(byteBuffer: ByteBuffer(bytes: json)))
    }

    // MARK: Helpers

    /// `scheme://host[:port]` as the client reached the server (`X-Forwarded-Proto` and
    /// `X-Forwarded-Host` from a proxy in front, else the request's own), for the absolute
    /// URLs discovery lists.
    ///
    /// A forwarded value is used only when it is one: `http` or `https`, and a host as RFC
    /// 3986 §3.2.2 writes it (a name, an IPv4 address or a bracketed IPv6 one) with an
    /// optional port; of a list (`a, b`: one entry per proxy), the first, the one the client
    /// used. Anything else (`evil.example/x?`, a quote) is ignored for the request's own, so
    /// that no header can put a path, a query or markup into the URLs a client follows.
    static func baseURL(_ request: Request) -> String {
        func first(_ name: String) -> String? {
            request.headers[HTTPField.Name(name)!].flatMap { $0.split(separator: ",").first }
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let forwardedProto = first("X-Forwarded-Proto")?.lowercased()
        let proto = forwardedProto.flatMap { ["http", "https"].contains($0) ? $0 : nil } ?? request.uri.scheme?.rawValue ?? "http"
        let host = first("X-Forwarded-Host").flatMap { isHostAndPort($0) ? $0 : nil }
            ?? request.head.authority.flatMap { isHostAndPort($0) ? $0 : nil } ?? "localhost"
        return "\(proto)://\(host)"
    }

    /// `name[:port]`, `a.b.c.d[:port]` or `[v6][:port]`: letters, digits, `-`, `.`, and for
    /// IPv6 `:` inside brackets; at most 255 bytes; a port from 1 to 65535.
    static func isHostAndPort(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 255 else { return false }
        var hostEnd = bytes.count
        var i = 0
        if bytes[0] == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")), close > 1 else { return false }
            guard bytes[1..<close].allSatisfy({ isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }) else { return false }
            hostEnd = close + 1
            i = hostEnd
        } else {
            hostEnd = bytes.firstIndex(of: UInt8(ascii: ":")) ?? bytes.count
            guard hostEnd > 0, bytes[0..<hostEnd].allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }) else {
                return false
            }
            i = hostEnd
        }
        guard i < bytes.count else { return true }
        guard bytes[i] == UInt8(ascii: ":") else { return false }
        let port = bytes[(i + 1)...]
        guard (1...5).contains(port.count), port.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        return (1...65_535).contains(Int(String(decoding: port, as: UTF8.self)) ?? 0)
    }

    private static func isAlphanumeric(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A)
    }

    private static func isHexDigit(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x66)
    }

    /// A request's filters and page (§3.4, §3.6).
    static func query(_ request: Request, collection: String) throws -> SharedObjectQuery {
        var q = SharedObjectQuery(collection: collection)
        q.limit = defaultLimit
        var matchesNoSpecVersion = false
        for (rawKey, rawValue) in request.uri.queryParameters {
            let key = String(rawKey).removingPercentEncoding ?? String(rawKey)
            let value = String(rawValue).removingPercentEncoding ?? String(rawValue)
            let values = Set(value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
            switch key {
            case "added_after":
                guard let us = SharedObject.microseconds(value) else { throw HTTPError(.badRequest, message: "added_after: not an RFC 3339 time: \(value.prefix(40))") }
                q.addedAfter = max(q.addedAfter ?? .min, us)
            case "next":
                guard let us = Int64(value) else { throw HTTPError(.badRequest, message: "next: not a value this server gave") }
                q.addedAfter = max(q.addedAfter ?? .min, us)
            case "limit":
                guard let n = Int(value), n > 0 else { throw HTTPError(.badRequest, message: "limit: a positive integer") }
                q.limit = min(n, pageLimit)
            case "match[id]": q.ids = values
            case "match[type]": q.types = values
            case "match[version]":
                if values == ["last"] { q.versions = .last } else if values == ["first"] { q.versions = .first } else if values.contains("all") { q.versions = .all } else {
                    var versions = Set<String>()
                    for v in values {
                        guard let t = Timestamp(rfc3339: v) else { throw HTTPError(.badRequest, message: "match[version]: last, first, all or RFC 3339 times") }
                        versions.insert(t.rfc3339)
                    }
                    q.versions = .some(versions)
                }
            case "match[spec_version]":
                // Only STIX 2.1 is kept: another version matches nothing (applied after
                // the loop, so that a later match[id] cannot undo it).
                if !values.contains("2.1") { matchesNoSpecVersion = true }
            default: break
            }
        }
        if matchesNoSpecVersion { q.ids = [] }
        return q
    }

    /// The query of an object's own routes (`objects/{id}/`, `objects/{id}/versions/`): the
    /// object, within what the filters left (none when `match[spec_version]` excluded 2.1).
    static func query(_ request: Request, collection: String, object: String) throws -> SharedObjectQuery {
        var q = try query(request, collection: collection)
        q.ids = q.ids.map { $0.contains(object) ? [object] : [] } ?? [object]
        return q
    }

    static func envelope(_ page: SharedObjectPage, limit: Int) -> Response {
        let objects = page.objects.compactMap { try? JSONSerialization.jsonObject(with: Data($0.json)) }
        var body: [String: Any] = ["more": page.more, "objects": objects]
        if page.more, let last = page.objects.last { body["next"] = String(last.dateAdded) }
        return taxii(body, headers: dateHeaders(page))
    }

    static func dateHeaders(_ page: SharedObjectPage) -> HTTPFields {
        var headers = HTTPFields()
        if let first = page.objects.first, let last = page.objects.last {
            headers[HTTPField.Name("X-TAXII-Date-Added-First")!] = first.dateAddedText
            headers[HTTPField.Name("X-TAXII-Date-Added-Last")!] = last.dateAddedText
        }
        return headers
    }

    static func resource(_ c: SharingService.Collection, roles: Set<Role>) -> [String: Any] {
        ["id": c.id, "title": c.title, "description": c.description, "can_read": !c.readers.isDisjoint(with: roles),
         "can_write": !c.writers.isDisjoint(with: roles), "media_types": [stixMediaType]]
    }

    static func taxii(_ body: [String: Any], headers extra: HTTPFields = [:]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        var headers: HTTPFields = [.contentType: mediaType]
        headers.append(contentsOf: extra)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// §3.2: a request that accepts neither TAXII 2.1 nor anything gets 406.
    static func checkAccept(_ request: Request) throws {
        guard let accept = request.headers[.accept] else { return }
        let acceptable = mediaRanges(accept).contains { range in
            range.parameters["q"].flatMap(Double.init).map { $0 > 0 } ?? true
                && (range.type == "*/*" || range.type == "application/*" || isTAXII21(range))
        }
        if acceptable { return }
        throw HTTPError(.notAcceptable, message: "this server answers \(mediaType)")
    }

    /// The media ranges of a `Content-Type` or `Accept` value (RFC 9110 §8.3.1, §12.5.1):
    /// each comma-separated element's `type/subtype` and parameters, names lower-cased,
    /// quotes taken off values. A type is read as a whole, never searched for inside the
    /// value (`text/plain; x=application/taxii+json` is `text/plain`).
    static func mediaRanges(_ value: String) -> [(type: String, parameters: [String: String])] {
        value.split(separator: ",").compactMap { element in
            let parts = element.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let type = parts.first?.lowercased(), type.split(separator: "/").count == 2 else { return nil }
            var parameters: [String: String] = [:]
            for p in parts.dropFirst() {
                let pair = p.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard pair.count == 2 else { continue }
                parameters[pair[0].lowercased()] = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
            return (type, parameters)
        }
    }

    /// `application/taxii+json` with no version or version 2.1 (§1.6.8.1).
    static func isTAXII21(_ range: (type: String, parameters: [String: String])) -> Bool {
        range.type == "application/taxii+json" && (range.parameters["version"].map { $0 == "2.1" } ?? true)
    }
}
