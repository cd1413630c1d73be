import HTTPTypes
import NIOCore
import DistillWatchConsole
import DistillWatchIngest
import DistillWatchCore
import DistillWatchStore
import Foundation
import Hummingbird

/// What analysts read and decide: account and campaign state as in the v1 report, the
/// report itself, the decision audit log, labels, and flushing the reorder buffer.
struct AnalystRoutes {
    let state: ServerState

    func build() -> RouteCollection<DistillWatchRequestContext> {
        let routes = RouteCollection(context: DistillWatchRequestContext.self)
        routes.add(middleware: RequireRole(.analyst))
        routes.get("accounts/:id") { request, context -> ShardedAnswer<JSONBody<AccountState>> in
            let id = try context.identifier("id")
            if let owners = try await state.ownersAnswer(for: id, request, body: ByteBuffer()) { return .forwarded(owners) }
            return .local(try await account(id))
        }
        routes.post("accounts/:id/label") { request, context -> ShardedAnswer<JSONBody<LabelResult>> in
            let id = try context.identifier("id")
            let body = try await request.collectBody(limit: state.configuration.maxRequestBodyBytes, setting: "max_request_body_bytes")
            if let owners = try await state.ownersAnswer(for: id, request, body: body) { return .forwarded(owners) }
            return .local(try await labelAccount(id, body, context: context))
        }
        routes.get("campaigns") { _, _ in
            let report = state.engine.report(generatedAt: state.clock.now(), includeAllAccounts: false)
            return JSONBody(CampaignList(campaigns: report.campaigns))
        }
        routes.get("campaigns/:id") { _, context in
            let id = try context.identifier("id")
            let report = state.engine.report(generatedAt: state.clock.now(), includeAllAccounts: false)
            guard let campaign = report.campaigns.first(where: { $0.campaignID == id }) else {
                throw HTTPError(.notFound, message: "no campaign \"\(id)\"")
            }
            return JSONBody(campaign)
        }
        routes.post("campaigns/:id/label") { request, context in
            try await labelCampaign(try context.identifier("id"), request, context: context)
        }
        routes.post("accounts/:id/note") { request, context in
            try await addNote("account", try context.identifier("id"), request, context: context)
        }
        routes.post("campaigns/:id/note") { request, context in
            try await addNote("campaign", try context.identifier("id"), request, context: context)
        }
        routes.get("screening") { request, _ in try await screening(request) }
        routes.get("report") { request, _ in
            let q = try ConsoleRoutes.query(request, known: ["all"])
            let all: Bool
            switch q["all"] {
            case nil, "false", "0": all = false
            case "true", "1", "": all = true   // a bare ?all is the flag set
            case let other?: throw HTTPError(.badRequest, message: "all=\(other.prefix(40)): expected true or false (or 1 or 0)")
            }
            return JSONBody(state.engine.report(generatedAt: state.clock.now(), includeAllAccounts: all))
        }
        routes.get("decisions") { request, _ in
            let q = try ConsoleRoutes.query(request, known: ["account_id", "limit"])
            let limit = try Self.limit(request)
            let account = q["account_id"]
            await state.audit.drain()
            return JSONBody(DecisionList(decisions: try await state.store.decisions(accountID: account, limit: limit)))
        }
        routes.post("snapshot") { _, _ in
            // Takes a snapshot now (before an upgrade or a backup), as the background
            // trigger would; answers where it went.
            guard let snapshots = state.snapshots else {
                throw HTTPError(.conflict, message: "snapshots are off (database :memory: or snapshot_directory: off)")
            }
            guard let file = await snapshots.takeSnapshot() else {
                throw HTTPError(.serviceUnavailable, message: "snapshot not written: \(snapshots.status.lastError ?? "another is being taken; retry")")
            }
            return JSONBody(SnapshotTaken(path: file.path, lastSequence: file.lastSequence, bytes: file.bytes))
        }
        routes.post("flush") { _, _ in
            let time = state.clock.now()
            let range = try await commit([NewEvent(kind: .flush, subject: nil, payload: [])], [.flush], at: time)
            await state.audit.drain()
            return JSONBody(FlushResult(sequence: range?.upperBound, status: state.engine.status()))
        }
        routes.get("quarantine") { request, _ in
            _ = try ConsoleRoutes.query(request, known: ["limit"])
            let limit = try Self.limit(request)
            return JSONBody(QuarantineList(events: try await state.store.quarantined(limit: limit).map(QuarantineList.Event.init)))
        }
        routes.get("status") { _, _ in
            // The log's counts need the store; while it is faulty the rest still answers, and
            // says why the log could not be read (a damaged page, a closed store).
            var log: EventCounts?
            var logError: String?
            do { log = try await state.store.eventCounts() } catch { logError = "\(error)" }
            return JSONBody(StatusResponse(engine: state.engine.status(), log: log, logError: logError,
                                           auditWritten: state.audit.written, auditDropped: state.audit.dropped,
                                           storage: StorageStatus(state.health.fault), snapshots: state.snapshots.map { SnapshotStatus($0.status) },
                                           restart: state.restart,
                                           ingest: IngestStatus(pendingBatches: state.ingestor.pendingBatches,
                                                                maxPendingBatches: state.ingestor.maxPending),
                                           shard: state.shards.map { ShardStatus($0.settings, campaignStepVerdicts: state.engine.campaignStep.count) }))
        }
        return routes
    }

    func account(_ id: String) async throws -> JSONBody<AccountState> {
        guard let summary = state.engine.summary(for: id) else {
            throw HTTPError(.notFound, message: "no account \"\(id)\": no exchange or account record seen for it")
        }
        let (entry, readings) = state.engine.read { scanner in
            (ScanReport.Account(engine: scanner.engine, summary: summary), scanner.engine.readings(for: id))
        }
        let record = state.engine.record(for: id)
        let labels = try await state.store.labels(subject: id, kind: .accountLabel).compactMap { event in
            (try? JSONDecoder().decode(LabelEvent.self, from: Data(event.payload))).map { LabelEntry(sequence: event.sequence, $0) }
        }
        return JSONBody(AccountState(entry: entry, summary: summary, readings: readings, record: record, labels: labels))
    }

    func labelAccount(_ id: String, _ body: ByteBuffer, context: DistillWatchRequestContext) async throws -> JSONBody<LabelResult> {
        let ask = try decodeJSON(LabelRequest.self, from: body)
        return JSONBody(try await applyAccountLabel(id, label: try Self.label(ask), note: ask.note, analyst: context.token?.name))
    }

    /// Stores an account label (the log, then the engine) and answers the account's new
    /// decision; the console's actions go through here too.
    func applyAccountLabel(_ id: String, label: AnalystLabel, note: String?, analyst: String?) async throws -> LabelResult {
        let event = LabelEvent(label: label, note: note, analyst: analyst, at: state.clock.now())
        let range = try await commit([NewEvent(kind: .accountLabel, subject: id, payload: event.encoded())],
                                     [.accountLabel(accountID: id, event)], at: event.at)
        state.metrics.labelled(event.label)
        let live = state.engine.decide(id)
        return LabelResult(sequence: range?.upperBound, accounts: [DecideResponse(id, live)])
    }

    func labelCampaign(_ id: String, _ request: Request, context: DistillWatchRequestContext) async throws -> JSONBody<LabelResult> {
        let body = try await request.collectBody(limit: state.configuration.maxRequestBodyBytes, setting: "max_request_body_bytes")
        let ask = try decodeJSON(LabelRequest.self, from: body)
        return JSONBody(try await applyCampaignLabel(id, label: try Self.label(ask), note: ask.note, analyst: context.token?.name))
    }

    /// Stores a campaign label, revokes what was published when it dismisses the campaign,
    /// and answers every member's new decision; the console's actions go through here too.
    /// - Throws: 404 for a campaign that does not exist.
    func applyCampaignLabel(_ id: String, label: AnalystLabel, note: String?, analyst: String?) async throws -> LabelResult {
        guard let number = CampaignID.number(of: id),
              let campaign = state.engine.read({ $0.engine.campaignSummary(number: number) }) else {
            throw HTTPError(.notFound, message: "no campaign \"\(id)\"")
        }
        let ask = (note: note, analyst: analyst)
        let event = LabelEvent(label: label, note: note, analyst: analyst, at: state.clock.now())
        let range = try await commit([NewEvent(kind: .campaignLabel, subject: id, payload: event.encoded())],
                                     [.campaignLabel(campaignID: id, event)], at: event.at)
        state.metrics.labelled(event.label)
        // Dismissing a campaign that was published revokes what was published.
        // A failure to read whether it was is logged, as a failure to revoke is: partners
        // would keep matching a campaign judged legitimate.
        var published = false
        if event.label == .legitimate {
            do {
                published = try await state.sharing.isPublished(id)
            } catch {
                state.logger.error("sharing: dismissed \(id) but could not read whether it was published, so nothing was revoked: \(error)")
            }
        }
        if published {
            do {
                let d = try await state.sharing.withdraw(campaignID: id, action: .dismiss, analyst: ask.analyst,
                                                         note: ask.note ?? "campaign dismissed", at: event.at)
                state.logger.notice("sharing: dismissed \(id) revoked \(d.objectIDs.count) published objects")
            } catch {
                state.logger.error("sharing: dismissed \(id) but could not revoke what was published: \(error)")
            }
        }
        var accounts: [DecideResponse] = []
        for account in campaign.accountIDs { accounts.append(DecideResponse(account, state.engine.decide(account))) }
        return LabelResult(sequence: range?.upperBound, accounts: accounts)
    }

    /// `POST /v1/{accounts|campaigns}/{id}/note` with `{"note": "..."}`: a note in the
    /// audit trail without a verdict change (the console's "Add note only").
    func addNote(_ kind: String, _ id: String, _ request: Request, context: DistillWatchRequestContext) async throws -> JSONBody<NoteResult> {
        let body = try await request.collectBody(limit: state.configuration.maxRequestBodyBytes, setting: "max_request_body_bytes")
        let ask = try decodeJSON(NoteRequest.self, from: body)
        let note = ask.note.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !note.isEmpty, note.utf8.count <= Self.maximumNoteBytes else {
            throw HTTPError(.badRequest, message: "field \"note\": give 1 to \(Self.maximumNoteBytes) bytes of text")
        }
        let entry = try await storeNote(kind, id, note, analyst: context.token?.name)
        return JSONBody(NoteResult(subject: id, note: note, analyst: entry.analyst, at: entry.at))
    }

    /// Stores a note on an existing account or campaign (the API's and the console's path).
    /// - Throws: 404 for an unknown subject; 503 when the store cannot take it.
    func storeNote(_ kind: String, _ id: String, _ note: String, analyst: String?) async throws -> AnalystNote {
        if kind == "campaign" {
            guard let n = CampaignID.number(of: id),
                  state.engine.read({ $0.engine.hasCampaign(number: n) }) else {
                throw HTTPError(.notFound, message: "no campaign \"\(id)\"")
            }
        } else if state.engine.summary(for: id) == nil {
            throw HTTPError(.notFound, message: "no account \"\(id)\": no exchange or account record seen for it")
        }
        let entry = AnalystNote(subjectKind: kind, subject: id, note: note, analyst: analyst, at: state.clock.now())
        do {
            try await state.history.addNote(entry)
        } catch {
            throw HTTPError(.serviceUnavailable, message: "cannot store the note (nothing was stored; retry): \(error)")
        }
        return entry
    }

    /// `GET /v1/screening?from=&to=&min_exchanges=&min_output_tokens=&min_spend_usd=&format=json|csv|html`:
    /// the high-volume screening report from the stored history (Documentation/Console.md).
    func screening(_ request: Request) async throws -> Response {
        let q = try ConsoleRoutes.query(request, known: ["from", "to", "min_exchanges", "min_output_tokens", "min_spend_usd", "format"])
        let period: ScreeningReport.Period, thresholds: ScreeningReport.Thresholds
        do { (period, thresholds) = try ScreeningAssembly.parse(q, now: state.clock.now()) } catch {
            throw HTTPError(.badRequest, message: error.description)
        }
        let report = try await ScreeningAssembly.report(state: state, period: period, thresholds: thresholds)
        var headers = HTTPFields()
        let body: String
        switch q["format"] ?? "json" {
        case "json":
            headers[.contentType] = "application/json"
            body = try ScreeningOutput.json(report)
        case "csv":
            headers[.contentType] = "text/csv; charset=utf-8"
            headers[.contentDisposition] = "attachment; filename=\"screening.csv\""
            body = report.csv
        case "html":
            headers[.contentType] = "text/html; charset=utf-8"
            headers[HTTPField.Name("Content-Security-Policy")!] = "default-src 'none'; style-src 'unsafe-inline'"
            body = state.console.renderer.screeningDocument(report)
        case let other:
            throw HTTPError(.badRequest, message: "format=\(other): expected json, csv or html")
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// A list's `limit` query parameter: 100 when absent, else a whole number from 1 to
    /// 10,000. - Throws: 400 naming the parameter for anything else (it was once read as
    /// 100, 1 or 10,000 without a word).
    static func limit(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters["limit"] else { return 100 }
        guard let n = Int(text), (1...10_000).contains(n) else {
            throw HTTPError(.badRequest, message: "limit: give a whole number from 1 to 10000, not \"\(text.prefix(40))\"")
        }
        return n
    }

    /// The label asked for, with its note held to a note's limit (as `/note` holds it).
    private static func label(_ ask: LabelRequest) throws -> AnalystLabel {
        if let note = ask.note, note.utf8.count > maximumNoteBytes {
            throw HTTPError(.badRequest, message: "field \"note\": at most \(maximumNoteBytes) bytes, got \(note.utf8.count)")
        }
        do { return try ask.analystLabel() } catch { throw HTTPError(.badRequest, message: error.message) }
    }

    /// The longest note an analyst's label or note may carry, in bytes of UTF-8.
    static let maximumNoteBytes = 8_192

    private func commit(_ events: [NewEvent], _ inputs: [EngineInput], at time: Timestamp) async throws -> ClosedRange<Int64>? {
        do {
            return try await state.ingestor.commit(events: events, inputs: inputs, at: time)
        } catch let refusal as IngestRefusal {
            throw refusal.httpError
        } catch {
            throw HTTPError(.serviceUnavailable, message: "cannot store the change (nothing was applied; retry): \(error)")
        }
    }
}

struct LabelEntry: Encodable, Sendable {
    var sequence: Int64
    var label: AnalystLabel
    var note: String?
    var analyst: String?
    var at: Timestamp

    init(sequence: Int64, _ e: LabelEvent) {
        self.sequence = sequence
        label = e.label
        note = e.note
        analyst = e.analyst
        at = e.at
    }
}

struct NoteRequest: ClosedRequestBody, Sendable {
    static let fieldNames = ["note"]

    var note: String
}

struct NoteResult: Encodable, Sendable {
    var subject: String
    var note: String
    var analyst: String?
    var at: Timestamp
}

struct LabelResult: Encodable, Sendable {
    var sequence: Int64?
    var accounts: [DecideResponse]
}

struct CampaignList: Encodable, Sendable {
    var campaigns: [ScanReport.Campaign]
}

struct DecisionList: Encodable, Sendable {
    var decisions: [DecisionAuditEntry]
}

struct FlushResult: Encodable, Sendable {
    var sequence: Int64?
    var status: EngineStatus
}

struct StatusResponse: Encodable, Sendable {
    var engine: EngineStatus
    /// `nil` while the store cannot be read.
    var log: EventCounts?
    /// Why the log's counts could not be read (SQLite's message: a damaged page, a closed
    /// store), when `log` is `nil`.
    var logError: String?
    var auditWritten: Int
    var auditDropped: Int
    var storage: StorageStatus
    var snapshots: SnapshotStatus?
    var restart: RestartReport
    var ingest: IngestStatus
    /// With live shards: this node's shard, the nodes, and the campaign step's verdicts held.
    var shard: ShardStatus? = nil

    enum CodingKeys: String, CodingKey {
        case engine, log
        case logError = "log_error"
        case auditWritten = "audit_written"
        case auditDropped = "audit_dropped"
        case storage, snapshots, restart, ingest, shard
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(engine, forKey: .engine)
        if let log {
            var byKind: [String: Int] = [:]
            for (k, n) in log.byKind { byKind[k.name] = n }
            try c.encode(LogCounts(total: log.total, lastSequence: log.lastSequence, byKind: byKind, quarantined: log.quarantined,
                                   compactedThrough: log.compactedThrough),
                         forKey: .log)
        } else {
            try c.encodeNil(forKey: .log)
            try c.encodeIfPresent(logError, forKey: .logError)
        }
        try c.encode(auditWritten, forKey: .auditWritten)
        try c.encode(auditDropped, forKey: .auditDropped)
        try c.encode(storage, forKey: .storage)
        try c.encode(snapshots, forKey: .snapshots)
        try c.encode(restart, forKey: .restart)
        try c.encode(ingest, forKey: .ingest)
        try c.encodeIfPresent(shard, forKey: .shard)
    }

    struct LogCounts: Encodable {
        var total: Int
        var lastSequence: Int64
        var byKind: [String: Int]
        var quarantined: Int
        var compactedThrough: Int64
        enum CodingKeys: String, CodingKey {
            case total
            case lastSequence = "last_sequence"
            case byKind = "by_kind"
            case quarantined
            case compactedThrough = "compacted_through"
        }
    }
}

/// Whether the log takes writes (`/v1/status` and `/healthz`).
struct StorageStatus: Encodable, Sendable, Equatable {
    var writable: Bool
    var reason: String?
    var since: Timestamp?

    init(_ fault: StorageHealth.Fault?) {
        writable = fault == nil
        reason = fault?.reason
        since = fault?.since
    }
}

/// The snapshotter's state (`/v1/status`).
struct SnapshotStatus: Encodable, Sendable {
    var lastSequence: Int64
    var takenAt: Timestamp?
    var bytes: Int
    var seconds: Double
    var written: Int
    var failed: Int
    var lastError: String?
    var compactedEvents: Int

    init(_ s: SnapshotService.Status) {
        lastSequence = s.lastSequence
        takenAt = s.takenAt
        bytes = s.bytes
        seconds = s.seconds
        written = s.written
        failed = s.failed
        lastError = s.lastError
        compactedEvents = s.compactedEvents
    }

    enum CodingKeys: String, CodingKey {
        case lastSequence = "last_sequence"
        case takenAt = "taken_at"
        case bytes, seconds, written, failed
        case lastError = "last_error"
        case compactedEvents = "compacted_events"
    }
}

/// The write queue (`/v1/status`).
struct IngestStatus: Encodable, Sendable {
    var pendingBatches: Int
    var maxPendingBatches: Int

    enum CodingKeys: String, CodingKey {
        case pendingBatches = "pending_batches"
        case maxPendingBatches = "max_pending_batches"
    }
}

/// `GET /v1/quarantine`: events of the log that replay set aside, oldest first, with why.
/// Payloads are stored forms (typed records, label JSON), never text as received.
struct QuarantineList: Encodable, Sendable {
    struct Event: Encodable, Sendable {
        var sequence: Int64
        var kind: String
        var subject: String?
        var receivedAt: Timestamp
        var quarantinedAt: Timestamp
        var reason: String
        /// The stored form, cut to its first 16 KiB (``QuarantinedEvent/listedPayloadBytes``).
        var storedForm: String
        /// The stored form's whole size, in bytes.
        var storedFormBytes: Int
        var storedFormTruncated: Bool

        init(_ q: QuarantinedEvent) {
            sequence = q.event.sequence
            kind = q.event.kind.name
            subject = q.event.subject
            receivedAt = q.event.receivedAt
            quarantinedAt = q.quarantinedAt
            reason = q.reason
            storedForm = String(decoding: q.event.payload, as: UTF8.self)
            storedFormBytes = q.payloadBytes
            storedFormTruncated = q.payloadBytes > q.event.payload.count
        }

        enum CodingKeys: String, CodingKey {
            case sequence, kind, subject, reason
            case receivedAt = "received_at"
            case quarantinedAt = "quarantined_at"
            case storedForm = "stored_form"
            case storedFormBytes = "stored_form_bytes"
            case storedFormTruncated = "stored_form_truncated"
        }
    }

    var events: [Event]
}

/// `GET /v1/accounts/{id}`: the account as the v1 report lists it (the same
/// `ScanReport.Account` entry, so the two cannot drift apart), plus first and last seen,
/// every signal's reading (not only those that contributed), the account record, and the
/// label history.
struct AccountState: Encodable, Sendable {
    var entry: ScanReport.Account
    var summary: AccountSummary
    var readings: [SignalReading]
    var record: AccountRecord?
    var labels: [LabelEntry]

    enum CodingKeys: String, CodingKey {
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
        case readings
        case record
        case labels
    }

    func encode(to encoder: any Encoder) throws {
        try entry.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(summary.firstSeen, forKey: .firstSeen)
        try c.encode(summary.lastSeen, forKey: .lastSeen)
        let all = readings.sorted { $0.contribution > $1.contribution }.map {
            ScanReport.Signal(name: $0.kind.rawValue, value: rounded4($0.value), detail: $0.detail,
                              contribution: rounded4($0.contribution))
        }
        try c.encode(all, forKey: .readings)
        try c.encode(record.map(AccountRecordBody.init), forKey: .record)
        try c.encode(labels, forKey: .labels)
    }
}

/// An account record as JSON (spec §2 field names).
struct AccountRecordBody: Encodable {
    var record: AccountRecord
    init(_ record: AccountRecord) { self.record = record }

    enum CodingKeys: String, CodingKey {
        case accountID = "account_id"
        case created, tier
        case paymentFingerprint = "payment_fingerprint"
        case emailDomain = "email_domain"
        case declaredCountry = "declared_country"
        case paymentCountry = "payment_country"
        case verified, allowlisted, plan
        case planPriceUSD = "plan_price_usd"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(record.accountID, forKey: .accountID)
        try c.encodeIfPresent(record.created, forKey: .created)
        try c.encodeIfPresent(record.tier, forKey: .tier)
        try c.encodeIfPresent(record.paymentFingerprint, forKey: .paymentFingerprint)
        try c.encodeIfPresent(record.emailDomain, forKey: .emailDomain)
        try c.encodeIfPresent(record.declaredCountry, forKey: .declaredCountry)
        try c.encodeIfPresent(record.paymentCountry, forKey: .paymentCountry)
        try c.encodeIfPresent(record.verified, forKey: .verified)
        try c.encodeIfPresent(record.allowlisted, forKey: .allowlisted)
        try c.encodeIfPresent(record.plan, forKey: .plan)
        try c.encodeIfPresent(record.planPriceUSD, forKey: .planPriceUSD)
    }
}

/// `POST /v1/snapshot`: the snapshot written.
struct SnapshotTaken: Encodable, Sendable {
    var path: String
    var lastSequence: Int64
    var bytes: Int

    enum CodingKeys: String, CodingKey {
        case path
        case lastSequence = "last_sequence"
        case bytes
    }
}

/// `shard` in `GET /v1/status`.
struct ShardStatus: Encodable, Sendable {
    var shard: String
    var nodes: [String]
    var ownerDown: String
    var forwardTimeoutMilliseconds: Int
    var campaignRun: String?
    var campaignStepVerdicts: Int

    init(_ settings: ShardSettings, campaignStepVerdicts: Int) {
        shard = settings.shard.description
        nodes = settings.nodes
        ownerDown = settings.ownerDown.rawValue
        forwardTimeoutMilliseconds = settings.forwardTimeoutMilliseconds
        campaignRun = settings.campaigns?.run
        self.campaignStepVerdicts = campaignStepVerdicts
    }

    enum CodingKeys: String, CodingKey {
        case shard, nodes
        case ownerDown = "owner_down"
        case forwardTimeoutMilliseconds = "forward_timeout_ms"
        case campaignRun = "campaign_run"
        case campaignStepVerdicts = "campaign_step_verdicts"
    }
}
