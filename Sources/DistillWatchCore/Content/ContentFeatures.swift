/// What an exchange's prompt is, reduced at ingest to numbers: the text itself is not kept.
///
/// Made by ``ContentSketcher`` from the `prompt` (and `system`) text and carried on
/// ``Exchange/content``. A value type over one heap object of about 800 bytes, copied on
/// write: an exchange carries a reference, so that moving exchanges between threads and
/// through the reorder buffer copies 8 bytes rather than the signature, and a prompt costs
/// one allocation.
public struct ContentFeatures: Sendable, Equatable {
    /// The fields, in one object. Mutated only through ``unique()``, i.e. when no other
    /// value shares it, which is what makes the unchecked `Sendable` sound.
    final class Storage: @unchecked Sendable {
        var signature = MinHashSignature()
        var fingerprint: (UInt64, UInt64) = (0, 0)
        var noveltyUpdates = ContentFeatures.emptyNoveltyUpdates
        var templateKey: UInt64 = 0
        var systemKey: UInt64?
        var exactKey: UInt64 = 0
        var cues: ContentCues = []
        var systemCues: ContentCues = []
        var capability: Capability = .other
        var tokenCount: UInt32 = 0
        var sampleStorage = InlineArray<16, UInt64>(repeating: 0)
        var sampleCount: UInt8 = 0
        var excerpt: String?
        var shared: [SharedContentFingerprint] = []

        init() {}

        func copy() -> Storage {
            let c = Storage()
            c.signature = signature
            c.fingerprint = fingerprint
            c.noveltyUpdates = noveltyUpdates
            c.templateKey = templateKey
            c.systemKey = systemKey
            c.exactKey = exactKey
            c.cues = cues
            c.systemCues = systemCues
            c.capability = capability
            c.tokenCount = tokenCount
            c.sampleStorage = sampleStorage
            c.sampleCount = sampleCount
            c.excerpt = excerpt
            c.shared = shared
            return c
        }
    }

    private var storage = Storage()

    public init() {}

    @inline(__always)
    private mutating func unique() -> Storage {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        return storage
    }

    /// MinHash of the prompt's word 3-shingles under the content key.
    public var signature: MinHashSignature {
        get { storage.signature }
        set {
            let s = unique()
            s.signature = newValue
            s.fingerprint = newValue.oneBitFingerprint
            s.noveltyUpdates = Self.noveltyUpdates(of: newValue)
        }
    }
    /// The signature's 1-bit fingerprint (see ``MinHashSignature/oneBitFingerprint``),
    /// computed whenever the signature is set (settable on its own for tests).
    public var fingerprint: (UInt64, UInt64) {
        get { storage.fingerprint }
        set { unique().fingerprint = newValue }
    }
    /// What the signature's first 16 bins add to a novelty sketch (an account's and its
    /// template family's): computed whenever the signature is set, i.e. on the thread that
    /// sketches the prompt, so that the engine's thread only compares and stores.
    public var noveltyUpdates: InlineArray<16, SmallHyperLogLog.Update> { storage.noveltyUpdates }
    /// Hash of the prompt's wrapper: its first six and last four normalised tokens (the
    /// whole prompt when it is shorter). Prompts built from one template share it.
    public var templateKey: UInt64 {
        get { storage.templateKey }
        set { unique().templateKey = newValue }
    }
    /// Hash of the normalised system prompt, when there is one.
    public var systemKey: UInt64? {
        get { storage.systemKey }
        set { unique().systemKey = newValue }
    }
    /// Keyed hash of the prompt's exact bytes (not normalised: numbers count), never 0; 0
    /// when unknown (features read from a version 1 serialisation). Two prompts with the
    /// same key are the same prompt, re-sent.
    public var exactKey: UInt64 {
        get { storage.exactKey }
        set { unique().exactKey = newValue }
    }
    /// Elicitation cues found in the user prompt (not the system prompt: a tutoring
    /// product's own "let's think step by step" is not its users' request).
    public var cues: ContentCues {
        get { storage.cues }
        set { unique().cues = newValue }
    }
    /// Cues found in the system prompt.
    public var systemCues: ContentCues {
        get { storage.systemCues }
        set { unique().systemCues = newValue }
    }
    public var capability: Capability {
        get { storage.capability }
        set { unique().capability = newValue }
    }
    public var tokenCount: UInt32 {
        get { storage.tokenCount }
        set { unique().tokenCount = newValue }
    }
    /// A short excerpt of the prompt, only when evidence excerpts are enabled.
    public var excerpt: String? {
        get { storage.excerpt }
        set { unique().excerpt = newValue }
    }

    /// The prompt under each configured ``SharingKey`` (empty when none is): what shared
    /// indicators of other providers are matched against.
    public var sharedFingerprints: [SharedContentFingerprint] {
        get { storage.shared }
        set { unique().shared = newValue }
    }

    /// Token hashes that fall in a fixed 1/8 slice of the hash space (at most 16; more are
    /// dropped): a sample that is coherent across prompts, for estimating an account's
    /// vocabulary.
    public var vocabularySample: [UInt64] {
        get {
            let s = storage
            return (0..<Int(s.sampleCount)).map { s.sampleStorage[$0] }
        }
        set {
            var values = InlineArray<16, UInt64>(repeating: 0)
            let kept = newValue.prefix(Self.vocabularySampleCapacity)
            for (i, t) in kept.enumerated() { values[i] = t }
            setVocabularySample(values, count: kept.count)
        }
    }

    public static let vocabularySampleCapacity = 16

    /// Sets the vocabulary sample to the first `count` values (at most 16).
    mutating func setVocabularySample(_ values: InlineArray<16, UInt64>, count: Int) {
        let s = unique()
        s.sampleStorage = values
        s.sampleCount = UInt8(min(count, Self.vocabularySampleCapacity))
    }

    /// Calls `body` with each token hash of the vocabulary sample, without building an array.
    @inline(__always)
    func forEachVocabularySample(_ body: (UInt64) -> Void) {
        let s = storage
        for i in 0..<Int(s.sampleCount) { body(s.sampleStorage[i]) }
    }

    var vocabularySampleCount: Int { Int(storage.sampleCount) }

    static func noveltyUpdates(of signature: MinHashSignature) -> InlineArray<16, SmallHyperLogLog.Update> {
        signature.withBins { bins in
            InlineArray<16, SmallHyperLogLog.Update> { i in
                SmallHyperLogLog.Update(hash: UInt64(bins[i]) | UInt64(i) << 32)
            }
        }
    }

    static let emptyNoveltyUpdates = noveltyUpdates(of: MinHashSignature())

    public static func == (a: ContentFeatures, b: ContentFeatures) -> Bool {
        if a.storage === b.storage { return true }
        let x = a.storage, y = b.storage
        guard x.signature == y.signature, x.fingerprint == y.fingerprint, x.templateKey == y.templateKey,
              x.systemKey == y.systemKey, x.exactKey == y.exactKey,
              x.cues == y.cues, x.systemCues == y.systemCues, x.capability == y.capability,
              x.tokenCount == y.tokenCount, x.sampleCount == y.sampleCount,
              x.excerpt == y.excerpt, x.shared == y.shared else { return false }
        for i in 0..<Int(x.sampleCount) where x.sampleStorage[i] != y.sampleStorage[i] { return false }
        return true
    }
}

/// What a prompt is mainly about, from transparent features (see Documentation/Content.md).
public enum Capability: String, CaseIterable, Sendable, Codable, Hashable {
    case coding
    case agenticToolUse = "agentic_tool_use"
    case reasoning
    case writing
    case generalChat = "general_chat"
    case other

    @inlinable
    public var ordinal: Int {
        switch self {
        case .coding: return 0
        case .agenticToolUse: return 1
        case .reasoning: return 2
        case .writing: return 3
        case .generalChat: return 4
        case .other: return 5
        }
    }
}

/// Reduces prompt text to ``ContentFeatures``.
///
/// The prompt is normalised (``PromptNormalizer``), cut into word 3-shingles, and each
/// shingle goes through the content key's PRF into a ``MinHashSignature``. The lexicon
/// (``ContentLexicon``) finds elicitation cues and capability words; code punctuation and
/// `tool_count` complete the capability estimate.
///
/// - Complexity: O(n) in the prompt's bytes; one PRF call per token.
public struct ContentSketcher: Sendable {
    public let key: ContentKey
    public let lexicon: ContentLexicon
    /// Keep a short excerpt of each prompt (evidence excerpts, off by default).
    public var keepsExcerpts: Bool
    /// Keys shared with other providers: each prompt is also fingerprinted under each
    /// (``ContentFeatures/sharedFingerprints``), at a cost of one more PRF call per shingle
    /// and key.
    public var sharingKeys: [SharingKey]
    public static let excerptLength = 120

    public init(key: ContentKey, lexicon: ContentLexicon = .standard, keepsExcerpts: Bool = false, sharingKeys: [SharingKey] = []) {
        self.key = key
        self.lexicon = lexicon
        self.keepsExcerpts = keepsExcerpts
        self.sharingKeys = sharingKeys
    }

    /// Features of a user prompt (UTF-8 bytes). `toolCount` is the exchange's `tool_count`.
    ///
    /// The tokens live in a temporary buffer for the call; the features' own object is the
    /// only allocation that outlives it.
    public func features(prompt: UnsafeBufferPointer<UInt8>, toolCount: Int?) -> ContentFeatures {
        PromptNormalizer.withTokens(of: prompt) { tokens, codePunctuation in
            features(tokens: tokens, codePunctuation: codePunctuation, prompt: prompt, toolCount: toolCount)
        }
    }

    private func features(
        tokens: UnsafeBufferPointer<UInt64>, codePunctuation: Int, prompt: UnsafeBufferPointer<UInt8>, toolCount: Int?
    ) -> ContentFeatures {
        var f = ContentFeatures()
        f.tokenCount = UInt32(clamping: tokens.count)

        let key = self.key
        var exact: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in prompt { exact = (exact ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        f.exactKey = key.prf(exact) | 1
        let signature = MinHashSignature.build { offer in
            if tokens.count >= 3 {
                for i in 2..<tokens.count {
                    offer(key.prf(tokens[i - 2] ^ tokens[i - 1].rotatedLeft(21) ^ tokens[i].rotatedLeft(42)))
                }
            } else if !tokens.isEmpty {
                var h: UInt64 = 0
                for (k, x) in tokens.enumerated() { h ^= x.rotatedLeft(UInt64(21 * k)) }
                offer(key.prf(h))
            }
        }

        var codingWords = 0, agenticWords = 0, mathWords = 0, writingWords = 0, chatWords = 0
        var cues: ContentCues = []
        var sample = InlineArray<16, UInt64>(repeating: 0)
        var sampleCount = 0
        for i in 0..<tokens.count {
            let t = tokens[i]
            if t >> 61 == 0 && sampleCount < ContentFeatures.vocabularySampleCapacity {
                sample[sampleCount] = t
                sampleCount += 1
            }
        }
        lexicon.forEachMatch(in: tokens) { cue in
            if cue.contains(.codingWord) { codingWords += 1 }
            else if cue.contains(.agenticWord) { agenticWords += 1 }
            else if cue.contains(.mathWord) { mathWords += 1 }
            else if cue.contains(.writingWord) { writingWords += 1 }
            else if cue.contains(.chatWord) { chatWords += 1 }
            else { cues.formUnion(cue) }
        }
        f.setVocabularySample(sample, count: sampleCount)
        f.templateKey = Self.wrapperKey(tokens)
        f.cues = cues
        f.signature = signature

        if (toolCount ?? 0) > 0 || agenticWords >= 2 {
            f.capability = .agenticToolUse
        } else if codePunctuation >= 8 || codingWords >= 2 || (codingWords >= 1 && codePunctuation >= 3) {
            f.capability = .coding
        } else if mathWords >= 2 || (mathWords >= 1 && f.cues.contains(.chainOfThought)) {
            f.capability = .reasoning
        } else if writingWords >= 1 {
            f.capability = .writing
        } else if chatWords >= 1 || tokens.count < 12 {
            f.capability = .generalChat
        }
        if keepsExcerpts {
            f.excerpt = Self.excerpt(prompt)
        }
        if !sharingKeys.isEmpty {
            f.sharedFingerprints = sharingKeys.map { SharedContentFingerprint(keyID: $0.id, templateBands: $0.templateBands(tokens: tokens)) }
        }
        return f
    }

    /// Adds what the system prompt contributes: its key and its cues.
    public func addSystem(_ system: UnsafeBufferPointer<UInt8>, to f: inout ContentFeatures) {
        PromptNormalizer.withTokens(of: system) { tokens, _ in
            var h: UInt64 = 0xCBF2_9CE4_8422_2325
            for t in tokens { h = (h ^ t) &* 0x0000_0100_0000_01B3 }
            f.systemKey = key.prf(h)
            var systemCues: ContentCues = []
            lexicon.forEachMatch(in: tokens) { cue in
                systemCues.formUnion(cue.intersection([.chainOfThought, .rubricGrading, .sensitiveRewriting, .syntheticData]))
            }
            f.systemCues.formUnion(systemCues)
            if !sharingKeys.isEmpty {
                var shared = f.sharedFingerprints
                for (k, sharingKey) in sharingKeys.enumerated() {
                    let value = sharingKey.systemFingerprint(tokens: tokens)
                    if k < shared.count, shared[k].keyID == sharingKey.id {
                        shared[k].system = value
                    } else {
                        shared.append(SharedContentFingerprint(keyID: sharingKey.id, templateBands: [], system: value))
                    }
                }
                f.sharedFingerprints = shared
            }
        }
    }

    /// Convenience for tests and small inputs.
    public func features(prompt: String, system: String? = nil, toolCount: Int? = nil) -> ContentFeatures {
        var prompt = prompt
        var f = prompt.withUTF8 { features(prompt: $0, toolCount: toolCount) }
        if var system {
            system.withUTF8 { addSystem($0, to: &f) }
        }
        return f
    }

    static func wrapperKey(_ t: UnsafeBufferPointer<UInt64>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ x: UInt64) { h = (h ^ x) &* 0x0000_0100_0000_01B3 }
        if t.count <= 14 {
            for x in t { mix(x) }
        } else {
            for i in 0..<6 { mix(t[i]) }
            mix(0x5EED)
            for i in (t.count - 4)..<t.count { mix(t[i]) }
        }
        return h
    }

    /// The first characters of the prompt, cut at a character boundary.
    static func excerpt(_ b: UnsafeBufferPointer<UInt8>) -> String {
        var end = min(b.count, excerptLength)
        while end < b.count, end > 0, b[end] & 0xC0 == 0x80 { end -= 1 }
        let text = String(decoding: UnsafeBufferPointer(rebasing: b[0..<end]), as: UTF8.self)
        return end < b.count ? text + "…" : text
    }
}

extension Exchange {
    /// This exchange with its prompt (and system prompt) reduced to ``ContentFeatures`` and
    /// the text dropped, for exchanges built in memory rather than decoded from JSON (the
    /// decoder sketches at ingest). Unchanged when it has no prompt or already has features.
    public func sketched(by sketcher: ContentSketcher) -> Exchange {
        guard content == nil, let prompt, !prompt.isEmpty else { return self }
        var e = self
        e.content = sketcher.features(prompt: prompt, system: system, toolCount: toolCount)
        e.prompt = ""
        e.system = system == nil ? nil : ""
        e.response = response == nil ? nil : ""
        return e
    }
}
