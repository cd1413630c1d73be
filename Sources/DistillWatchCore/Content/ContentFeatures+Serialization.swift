/// A compact binary form of ``ContentFeatures``, so that a store can keep what the engine
/// needs of a prompt without keeping the prompt.
///
/// Layout (little-endian): version (2), 128 signature bins (UInt32), template key (UInt64),
/// system-key flag (UInt8) and key (UInt64), exact key (UInt64; not in version 1, which is
/// still read, with an exact key of 0), cues (UInt16), system cues (UInt16),
/// capability ordinal (UInt8), token count (UInt32), vocabulary sample count (UInt8) and
/// values (UInt64 each), excerpt length (UInt16) and UTF-8 bytes. About 570 bytes.
extension ContentFeatures {
    static let serializationVersion: UInt8 = 2

    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(600)
        func put<T: FixedWidthInteger>(_ v: T) {
            withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
        }
        put(Self.serializationVersion)
        for b in signature.bins { put(b) }
        put(templateKey)
        put(UInt8(systemKey == nil ? 0 : 1))
        put(systemKey ?? 0)
        put(exactKey)
        put(cues.rawValue)
        put(systemCues.rawValue)
        put(UInt8(capability.ordinal))
        put(tokenCount)
        put(UInt8(vocabularySampleCount))
        forEachVocabularySample { put($0) }
        let excerptBytes = Array((excerpt ?? "").utf8.prefix(Int(UInt16.max)))
        put(UInt16(excerptBytes.count))
        out.append(contentsOf: excerptBytes)
        return out
    }

    /// Reads the form ``serialized()`` writes; `nil` when the bytes are not such a form.
    public init?(serialized bytes: [UInt8]) {
        var i = 0
        func get<T: FixedWidthInteger>(_: T.Type) -> T? {
            let n = MemoryLayout<T>.size
            guard i + n <= bytes.count else { return nil }
            var v: T = 0
            for k in 0..<n { v |= T(bytes[i + k]) << (8 * k) }
            i += n
            return v
        }
        guard let version = get(UInt8.self), version == 1 || version == Self.serializationVersion else { return nil }
        var bins: [UInt32] = []
        bins.reserveCapacity(MinHashSignature.binCount)
        for _ in 0..<MinHashSignature.binCount {
            guard let b = get(UInt32.self) else { return nil }
            bins.append(b)
        }
        guard let templateKey = get(UInt64.self), let hasSystem = get(UInt8.self), let systemKey = get(UInt64.self),
              let exactKey = version == 1 ? 0 : get(UInt64.self),
              let cues = get(UInt16.self), let systemCues = get(UInt16.self), let capability = get(UInt8.self),
              Int(capability) < Capability.allCases.count, let tokenCount = get(UInt32.self),
              let sampleCount = get(UInt8.self), sampleCount <= 16
        else { return nil }
        var sample: [UInt64] = []
        for _ in 0..<sampleCount {
            guard let v = get(UInt64.self) else { return nil }
            sample.append(v)
        }
        guard let excerptCount = get(UInt16.self), i + Int(excerptCount) == bytes.count else { return nil }
        self.init()
        signature = MinHashSignature(bins: bins)
        self.templateKey = templateKey
        self.systemKey = hasSystem == 1 ? systemKey : nil
        self.exactKey = exactKey
        self.cues = ContentCues(rawValue: cues)
        self.systemCues = ContentCues(rawValue: systemCues)
        self.capability = Capability.allCases[Int(capability)]
        self.tokenCount = tokenCount
        vocabularySample = sample
        excerpt = excerptCount == 0 ? nil : String(decoding: bytes[i...], as: UTF8.self)
    }
}

// MARK: Snapshot

extension ContentFeatures: SnapshotCodable {
    /// Written as one field: the form ``serialized()`` gives (its own version byte inside).
    static var snapshotFieldCount: Int { 1 }

    func write(to w: inout SnapshotWriter) { w.byteArray(serialized()) }

    init(from r: inout SnapshotReader) throws(SnapshotError) {
        let at = r.offset
        guard let features = ContentFeatures(serialized: try r.byteArray()) else {
            throw SnapshotError("byte \(at): not the serialised form of a prompt's content features")
        }
        self = features
    }
}
