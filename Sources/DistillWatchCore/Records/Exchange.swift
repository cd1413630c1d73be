/// One API request and its response: an exchange record of traffic format v1 (spec §1).
///
/// Only `time` and `accountID` are required; every other field is optional because
/// gateways log different subsets, and the detector degrades gracefully when one is missing.
///
/// A value type stored out of line, copy-on-write like `Array`: the fields (472 bytes)
/// live in one heap buffer and an `Exchange` is one reference. A record moves through
/// the decoder, the decoding pipeline, the reorder buffer and the engine; held inline it
/// was copied about 20 times an exchange (472-byte `memcpy`s, counted with an interposed
/// `memcpy`) and each copy retained and released its strings. Now a move is one pointer
/// and a copy one retain; a setter copies the buffer only when it is shared.
public struct Exchange: @unchecked Sendable, Equatable {
    // @unchecked: `storage` is a class, but it is never written while shared (every
    // setter calls `makeUnique()`), so an `Exchange` is a value like `Array`; `Fields`
    // itself is checked `Sendable`.

    /// The stored fields, each documented on its accessor below: what a decoder writes in
    /// place through ``withFieldsForWriting(_:)``.
    public struct Fields: Sendable, Equatable {
        public var time: Timestamp = Timestamp(millisecondsSinceEpoch: 0)
        public var accountID: String = ""
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
        public var endUserID: String?
        public var batchID: String?
        public var reasoningEffort: String?
        public var reasoningReplayOf: String?
        public var prefill: Bool?
        public var costUSD: Double?
        public var content: ContentFeatures?

        @inlinable public init() {}
    }

    /// The fields' buffer: a `ManagedBuffer` header, read and written through its address
    /// (`withUnsafeMutablePointerToHeader`): a class's stored property, `header` included,
    /// is checked for exclusive access at run time on every access (`swift_beginAccess`,
    /// about 60 instructions with its thread-local access set). Its one element records
    /// that ``checkLimits()`` found the fields within ``RecordLimits`` (outside
    /// `Fields`, so that equality ignores it); every write clears it.
    @usableFromInline typealias Storage = ManagedBuffer<Fields, Bool>

    @usableFromInline var storage: Storage

    @inlinable
    static func makeStorage(_ fields: Fields) -> Storage {
        Storage.create(minimumCapacity: 1) { buffer in
            buffer.withUnsafeMutablePointerToElements { $0.initialize(to: false) }
            return fields
        }
    }

    /// Gives this record a buffer of its own before a write, and forgets that its fields
    /// were checked. - Complexity: O(1), and a copy of the fields when the buffer is shared.
    @inlinable
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = Self.makeStorage(storage.withUnsafeMutablePointerToHeader { $0.pointee }) }
        storage.withUnsafeMutablePointerToElements { $0.pointee = false }
    }

    /// A record of the given fields (all empty by default: time 0, account ""), for a decoder
    /// to write through ``withFieldsForWriting(_:)``. Cheaper than
    /// ``init(time:accountID:requestID:apiKeyID:model:operation:inputTokens:outputTokens:reasoningTokens:maxTokens:temperature:stream:thinking:toolCount:messageCount:finishReason:status:latencyMilliseconds:clientIP:asn:country:userAgent:clientFingerprint:system:prompt:response:endUserID:batchID:reasoningEffort:reasoningReplayOf:prefill:costUSD:content:)``
    /// for a blank record, which writes every field (and releases each empty one it replaces).
    /// - Complexity: O(1): one allocation and a copy of the fields (472 bytes).
    @inlinable
    public init(fields: Fields = Fields()) {
        storage = Self.makeStorage(fields)
    }

    /// Calls `body` with this record's fields, to write as many as it likes in place: one
    /// uniqueness check and one clearing of ``isCheckedWithinLimits`` for all of them, where
    /// each setter does both (a decoder's dozen setters a line cost about 500 instructions,
    /// callgrind, 1 December 2026). The fields' address does not outlive `body`.
    /// - Throws: what `body` throws; the fields written before stay written.
    /// - Complexity: O(1) plus `body`, and a copy of the fields when the buffer is shared.
    @inlinable
    public mutating func withFieldsForWriting<R, E: Error>(_ body: (inout Fields) throws(E) -> R) throws(E) -> R {
        makeUnique()
        let fields = storage.withUnsafeMutablePointerToHeader { $0 }
        return try body(&fields.pointee)
    }

    /// ``problem``, remembered when there is none: the record then passes
    /// ``isCheckedWithinLimits`` until a field is written. A decoder that refuses records
    /// outside ``RecordLimits`` checks with this, so that the ``TrafficScanner`` need not
    /// check again (a second check cost about 320 instructions an exchange, callgrind,
    /// 1 December 2026).
    /// - Returns: the first value outside ``RecordLimits``, or `nil`.
    /// - Complexity: O(1).
    public mutating func checkLimits() -> RecordProblem? {
        if let problem { return problem }
        // Only a buffer this record alone holds is marked: another holder may be reading it
        // on another thread.
        if isKnownUniquelyReferenced(&storage) { storage.withUnsafeMutablePointerToElements { $0.pointee = true } }
        return nil
    }

    /// ``checkLimits()`` found the fields within ``RecordLimits`` and none was written
    /// since. `false` says only that the record was not checked, not that it is outside.
    /// - Complexity: O(1).
    @inlinable
    public var isCheckedWithinLimits: Bool {
        storage.withUnsafeMutablePointerToElements { $0.pointee }
    }

    /// Bytes of a record's buffer: the object header and the fields (for a prefetch hint).
    /// Computed, not a `static let`: a global would check its lazy initialisation on every
    /// prefetch.
    @inline(__always)
    static var storedSize: Int { 2 * MemoryLayout<Int>.size + MemoryLayout<Fields>.stride }

    public static func == (a: Exchange, b: Exchange) -> Bool {
        a.storage === b.storage
            || a.storage.withUnsafeMutablePointerToHeader { x in b.storage.withUnsafeMutablePointerToHeader { y in x.pointee == y.pointee } }
    }

    public var time: Timestamp {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.time } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.time = newValue } }
    }
    public var accountID: String {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.accountID } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.accountID = newValue } }
    }
    public var requestID: String? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.requestID } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.requestID = newValue } }
    }
    public var apiKeyID: String? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.apiKeyID } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.apiKeyID = newValue } }
    }
    public var model: String? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.model } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.model = newValue } }
    }
    public var operation: String? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.operation } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.operation = newValue } }
    }
    public var inputTokens: Int? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.inputTokens } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.inputTokens = newValue } }
    }
    public var outputTokens: Int? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.outputTokens } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.outputTokens = newValue } }
    }
    public var reasoningTokens: Int? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.reasoningTokens } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.reasoningTokens = newValue } }
    }
    public var maxTokens: Int? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.maxTokens } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.maxTokens = newValue } }
    }
    public var temperature: Double? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.temperature } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.temperature = newValue } }
    }
    public var stream: Bool? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.stream } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.stream = newValue } }
    }
    public var thinking: Bool? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.thinking } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.thinking = newValue } }
    }
    public var toolCount: Int? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.toolCount } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.toolCount = newValue } }
    }
    public var messageCount: Int? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.messageCount } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.messageCount = newValue } }
    }
    public var finishReason: String? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.finishReason } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.finishReason = newValue } }
    }
    /// HTTP status returned; absent means 200.
    public var status: Int? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.status } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.status = newValue } }
    }
    public var latencyMilliseconds: Double? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.latencyMilliseconds } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.latencyMilliseconds = newValue } }
    }
    public var clientIP: String? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.clientIP } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.clientIP = newValue } }
    }
    public var asn: Int? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.asn } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.asn = newValue } }
    }
    public var country: String? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.country } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.country = newValue } }
    }
    public var userAgent: String? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.userAgent } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.userAgent = newValue } }
    }
    public var clientFingerprint: String? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.clientFingerprint } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.clientFingerprint = newValue } }
    }
    public var system: String? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.system } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.system = newValue } }
    }
    public var prompt: String? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.prompt } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.prompt = newValue } }
    }
    public var response: String? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.response } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.response = newValue } }
    }
    /// The account's own end user, when the account passes one (OpenAI `user`, Anthropic
    /// `metadata.user_id`, LiteLLM `end_user`; otel `enduser.id`). Revision 1.1.
    public var endUserID: String? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.endUserID } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.endUserID = newValue } }
    }
    /// The provider-run batch (Batch API) the request ran in; the provider paced it. Revision 1.1.
    public var batchID: String? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.batchID } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.batchID = newValue } }
    }
    /// Requested reasoning effort (`low`, `medium`, `high`, …). Revision 1.1.
    public var reasoningEffort: String? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.reasoningEffort } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.reasoningEffort = newValue } }
    }
    /// `request_id` of an earlier exchange whose signed reasoning block this request sends
    /// back, as verified by the gateway. Revision 1.1.
    public var reasoningReplayOf: String? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.reasoningReplayOf } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.reasoningReplayOf = newValue } }
    }
    /// The request ends with an assistant turn: the client wrote the start of the answer. Revision 1.1.
    public var prefill: Bool? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.prefill } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.prefill = newValue } }
    }
    /// What the provider charged for the exchange, in US dollars. Revision 1.1.
    public var costUSD: Double? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.costUSD } }
        @inlinable set { makeUnique(); storage.withUnsafeMutablePointerToHeader { $0.pointee.costUSD = newValue } }
    }
    /// The prompt reduced to sketches at ingest (not a v1 field: derived from `prompt` and
    /// `system` when content signals are on, after which the text need not be kept).
    public var content: ContentFeatures? {
        @inlinable get { storage.withUnsafeMutablePointerToHeader { $0.pointee.content } }
        // In place, so that `e.content!.x = …` does not copy the features' storage.
        @inlinable _modify {
            makeUnique()
            // The header's address is used after the closure that gave it returns, which
            // `withUnsafeMutablePointerToHeader` does not promise in general: it holds
            // because `storage` (self is inout) keeps this buffer alive and in place for
            // the whole access, and a yield cannot be made from inside the closure.
            let fields = storage.withUnsafeMutablePointerToHeader { $0 }
            yield &fields.pointee.content
        }
    }

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
        // Written into a fresh buffer, each parameter moved in: building a `Fields` value
        // first and handing it to `create` copied it (a retain and release per string).
        storage = Self.makeStorage(Fields())
        storage.withUnsafeMutablePointerToHeader { f in
            f.pointee.time = time
            f.pointee.accountID = accountID
            f.pointee.requestID = requestID
            f.pointee.apiKeyID = apiKeyID
            f.pointee.model = model
            f.pointee.operation = operation
            f.pointee.inputTokens = inputTokens
            f.pointee.outputTokens = outputTokens
            f.pointee.reasoningTokens = reasoningTokens
            f.pointee.maxTokens = maxTokens
            f.pointee.temperature = temperature
            f.pointee.stream = stream
            f.pointee.thinking = thinking
            f.pointee.toolCount = toolCount
            f.pointee.messageCount = messageCount
            f.pointee.finishReason = finishReason
            f.pointee.status = status
            f.pointee.latencyMilliseconds = latencyMilliseconds
            f.pointee.clientIP = clientIP
            f.pointee.asn = asn
            f.pointee.country = country
            f.pointee.userAgent = userAgent
            f.pointee.clientFingerprint = clientFingerprint
            f.pointee.system = system
            f.pointee.prompt = prompt
            f.pointee.response = response
            f.pointee.endUserID = endUserID
            f.pointee.batchID = batchID
            f.pointee.reasoningEffort = reasoningEffort
            f.pointee.reasoningReplayOf = reasoningReplayOf
            f.pointee.prefill = prefill
            f.pointee.costUSD = costUSD
            f.pointee.content = content
        }
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

extension Exchange: CustomReflectable {
    /// The fields, not the buffer: `print`, `dump`, test failures and `Mirror` show the
    /// record as they did when its fields were stored inline.
    public var customMirror: Mirror {
        let fields = storage.withUnsafeMutablePointerToHeader { $0.pointee }
        return Mirror(self, children: Mirror(reflecting: fields).children, displayStyle: .struct)
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
        var f = Fields()
        f.time = try r.timestamp()
        f.accountID = try r.string()
        f.requestID = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        f.apiKeyID = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        f.model = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        f.operation = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        f.inputTokens = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() }
        f.outputTokens = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() }
        f.reasoningTokens = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() }
        f.maxTokens = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() }
        f.temperature = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.double() }
        f.stream = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.bool() }
        f.thinking = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.bool() }
        f.toolCount = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() }
        f.messageCount = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() }
        f.finishReason = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        f.status = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() }
        f.latencyMilliseconds = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.double() }
        f.clientIP = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        f.asn = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() }
        f.country = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        f.userAgent = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        f.clientFingerprint = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        f.system = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        f.prompt = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        f.response = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        f.endUserID = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        f.batchID = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        f.reasoningEffort = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        f.reasoningReplayOf = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.string() }
        f.prefill = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.bool() }
        f.costUSD = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.double() }
        f.content = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.value(ContentFeatures.self) }
        storage = Self.makeStorage(f)
    }
}
