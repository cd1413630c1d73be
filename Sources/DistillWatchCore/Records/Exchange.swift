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
    /// The prompt reduced to sketches at ingest (not a v1 field: derived from `prompt` and
    /// `system` when content signals are on, after which the text need not be kept).
    public var content: ContentFeatures?

    public init(
        time: Timestamp, accountID: String, requestID: String? = nil, apiKeyID: String? = nil,
        model: String? = nil, operation: String? = nil, inputTokens: Int? = nil,
        outputTokens: Int? = nil, reasoningTokens: Int? = nil, maxTokens: Int? = nil,
        temperature: Double? = nil, stream: Bool? = nil, thinking: Bool? = nil,
        toolCount: Int? = nil, messageCount: Int? = nil, finishReason: String? = nil,
        status: Int? = nil, latencyMilliseconds: Double? = nil, clientIP: String? = nil,
        asn: Int? = nil, country: String? = nil, userAgent: String? = nil,
        clientFingerprint: String? = nil, system: String? = nil, prompt: String? = nil,
        response: String? = nil, content: ContentFeatures? = nil
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
}
