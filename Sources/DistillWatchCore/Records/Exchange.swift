/// One API request and its response: an exchange record of traffic format v1 (spec §1).
///
/// Only `time` and `accountID` are required; every other field is optional because
/// gateways log different subsets, and the detector degrades gracefully when one is missing.
public struct Exchange: Sendable, Equatable {
    public var time: Timestamp
    public var accountID: String
    public var requestID: String?
    public var apiKeyID: String?
    public var model: String?
    public var operation: String?
    public var inputTokens: Int?
    public var outputTokens: Int?
    public var reasoningTokens: Int?
    public var maxTokens: Int?
    public var temperature: Double?
    public var stream: Bool?
    public var thinking: Bool?
    public var toolCount: Int?
    public var messageCount: Int?
    public var finishReason: String?
    /// HTTP status returned; absent means 200.
    public var status: Int?
    public var latencyMilliseconds: Double?
    public var clientIP: String?
    public var asn: Int?
    public var country: String?
    public var userAgent: String?
    public var clientFingerprint: String?
    public var system: String?
    public var prompt: String?
    public var response: String?
    /// The account's own end user, when the account passes one (OpenAI `user`, Anthropic
    /// `metadata.user_id`, LiteLLM `end_user`; otel `enduser.id`). Revision 1.1.
    public var endUserID: String?
    /// The provider-run batch (Batch API) the request ran in; the provider paced it. Revision 1.1.
    public var batchID: String?
    /// Requested reasoning effort (`low`, `medium`, `high`, …). Revision 1.1.
    public var reasoningEffort: String?
    /// `request_id` of an earlier exchange whose signed reasoning block this request sends
    /// back, as verified by the gateway. Revision 1.1.
    public var reasoningReplayOf: String?
    /// The request ends with an assistant turn: the client wrote the start of the answer. Revision 1.1.
    public var prefill: Bool?
    /// What the provider charged for the exchange, in US dollars. Revision 1.1.
    public var costUSD: Double?
    /// The prompt reduced to sketches at ingest (not a v1 field: derived from `prompt` and
    /// `system` when content signals are on, after which the text need not be kept).
    public var content: ContentFeatures?

    /// Inlinable so that a reader's call builds the record in place: out of line, the
    /// call copied every parameter into the new value (callgrind: about 1,000 instructions
    /// an exchange in `ExchangeLineDecoder`).
    @inlinable
    public init(
        time: Timestamp, accountID: String, requestID: String? = nil, apiKeyID: String? = nil,
        model: String? = nil, operation: String? = nil, inputTokens: Int? = nil,
        outputTokens: Int? = nil, reasoningTokens: Int? = nil, maxTokens: Int? = nil,
        temperature: Double? = nil, stream: Bool? = nil, thinking: Bool? = nil,
        toolCount: Int? = nil, messageCount: Int? = nil, finishReason: String? = nil,
        status: Int? = nil, latencyMilliseconds: Double? = nil, clientIP: String? = nil,
        asn: Int? = nil, country: String? = nil, userAgent: String? = nil,
        clientFingerprint: String? = nil, system: String? = nil, prompt: String? = nil,
        response: String? = nil, endUserID: String? = nil, batchID: String? = nil,
        reasoningEffort: String? = nil, reasoningReplayOf: String? = nil, prefill: Bool? = nil,
        costUSD: Double? = nil, content: ContentFeatures? = nil
    ) {
        self.time = time
        self.accountID = accountID
        self.requestID = requestID
        self.apiKeyID = apiKeyID
        self.model = model
        self.operation = operation
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.reasoningTokens = reasoningTokens
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.stream = stream
        self.thinking = thinking
        self.toolCount = toolCount
        self.messageCount = messageCount
        self.finishReason = finishReason
        self.status = status
        self.latencyMilliseconds = latencyMilliseconds
        self.clientIP = clientIP
        self.asn = asn
        self.country = country
        self.userAgent = userAgent
        self.clientFingerprint = clientFingerprint
        self.system = system
        self.prompt = prompt
        self.response = response
        self.endUserID = endUserID
        self.batchID = batchID
        self.reasoningEffort = reasoningEffort
        self.reasoningReplayOf = reasoningReplayOf
        self.prefill = prefill
        self.costUSD = costUSD
        self.content = content
    }

    /// HTTP status, 200 when the record does not say.
    @inlinable public var effectiveStatus: Int { status ?? 200 }

    /// The exchange with its text fields (`system`, `prompt`, `response`) removed and its
    /// content sketch kept: what the event log keeps, and so what a replay sees.
    public var withoutText: Exchange {
        var e = self
        e.system = nil
        e.prompt = nil
        e.response = nil
        return e
    }

    /// Fills this record with what `other`, a second view of the same request, adds: each
    /// field `other` has replaces this record's, except `time` and `account_id`, which stay
    /// (the first view placed the exchange). Used to join a gateway's pre-request view (a
    /// guardrail call: account, prompt, no usage) with its log (usage, status, latency).
    /// - Complexity: O(1).
    public mutating func supplement(with other: Exchange) {
        if let v = other.apiKeyID { apiKeyID = v }
        if let v = other.model { model = v }
        if let v = other.operation { operation = v }
        if let v = other.inputTokens { inputTokens = v }
        if let v = other.outputTokens { outputTokens = v }
        if let v = other.reasoningTokens { reasoningTokens = v }
        if let v = other.maxTokens { maxTokens = v }
        if let v = other.temperature { temperature = v }
        if let v = other.stream { stream = v }
        if let v = other.thinking { thinking = v }
        if let v = other.toolCount { toolCount = v }
        if let v = other.messageCount { messageCount = v }
        if let v = other.finishReason { finishReason = v }
        if let v = other.status { status = v }
        if let v = other.latencyMilliseconds { latencyMilliseconds = v }
        if let v = other.clientIP { clientIP = v }
        if let v = other.asn { asn = v }
        if let v = other.country { country = v }
        if let v = other.userAgent { userAgent = v }
        if let v = other.clientFingerprint { clientFingerprint = v }
        if let v = other.system { system = v }
        if let v = other.prompt { prompt = v }
        if let v = other.response { response = v }
        if let v = other.endUserID { endUserID = v }
        if let v = other.batchID { batchID = v }
        if let v = other.reasoningEffort { reasoningEffort = v }
        if let v = other.reasoningReplayOf { reasoningReplayOf = v }
        if let v = other.prefill { prefill = v }
        if let v = other.costUSD { costUSD = v }
        if let v = other.content { content = v }
    }
}

// MARK: Snapshot

extension Exchange: SnapshotCodable {
    static var snapshotFieldCount: Int { 33 }

    func write(to w: inout SnapshotWriter) {
        w.timestamp(time)
        w.string(accountID)
        w.optional(requestID) { $0.string($1) }
        w.optional(apiKeyID) { $0.string($1) }
        w.optional(model) { $0.string($1) }
        w.optional(operation) { $0.string($1) }
        w.optional(inputTokens) { $0.int($1) }
        w.optional(outputTokens) { $0.int($1) }
        w.optional(reasoningTokens) { $0.int($1) }
        w.optional(maxTokens) { $0.int($1) }
        w.optional(temperature) { $0.double($1) }
        w.optional(stream) { $0.bool($1) }
        w.optional(thinking) { $0.bool($1) }
        w.optional(toolCount) { $0.int($1) }
        w.optional(messageCount) { $0.int($1) }
        w.optional(finishReason) { $0.string($1) }
        w.optional(status) { $0.int($1) }
        w.optional(latencyMilliseconds) { $0.double($1) }
        w.optional(clientIP) { $0.string($1) }
        w.optional(asn) { $0.int($1) }
        w.optional(country) { $0.string($1) }
        w.optional(userAgent) { $0.string($1) }
        w.optional(clientFingerprint) { $0.string($1) }
        // Text never reaches a snapshot: only whether it was there (the engine reads its
        // sketch, already in `content`, and whether any content came at all).
        w.optional(system) { w, _ in w.string("") }
        w.optional(prompt) { w, _ in w.string("") }
        w.optional(response) { w, _ in w.string("") }
        w.optional(endUserID) { $0.string($1) }
        w.optional(batchID) { $0.string($1) }
        w.optional(reasoningEffort) { $0.string($1) }
        w.optional(reasoningReplayOf) { $0.string($1) }
        w.optional(prefill) { $0.bool($1) }
        w.optional(costUSD) { $0.double($1) }
        w.optional(content) { $0.value($1) }
    }

    init(from r: inout SnapshotReader) throws(SnapshotError) {
        time = try r.timestamp()
        accountID = try r.string()
        requestID = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        apiKeyID = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        model = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        operation = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        inputTokens = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() }
        outputTokens = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() }
        reasoningTokens = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() }
        maxTokens = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() }
        temperature = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.double() }
        stream = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.bool() }
        thinking = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.bool() }
        toolCount = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() }
        messageCount = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() }
        finishReason = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        status = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() }
        latencyMilliseconds = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.double() }
        clientIP = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        asn = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() }
        country = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        userAgent = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        clientFingerprint = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        system = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        prompt = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        response = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        endUserID = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        batchID = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        reasoningEffort = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        reasoningReplayOf = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        prefill = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.bool() }
        costUSD = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.double() }
        content = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.value(ContentFeatures.self) }
    }
}
