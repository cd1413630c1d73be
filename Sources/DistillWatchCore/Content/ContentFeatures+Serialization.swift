/// A compact binary form of ``ContentFeatures``, so that a store can keep what the engine
/// needs of a prompt without keeping the prompt.
///
/// Layout (little-endian): version (2), 128 signature bins (UInt32), template key (UInt64),
/// system-key flag (UInt8) and key (UInt64), exact key (UInt64; not in version 1, which is
/// still read, with an exact key of 0), cues (UInt16), system cues (UInt16),
/// capability ordinal (UInt8), token count (UInt32), vocabulary sample count (UInt8) and
/// values (UInt64 each), excerpt length (UInt16) and UTF-8 bytes; then (version 3, only
/// when the features carry fingerprints under sharing keys) a count (UInt8) and per key:
/// id length (UInt8) and bytes, band count (UInt8) and values (UInt64 each), system flag
/// (UInt8) and value (UInt64). About 570 bytes, plus about 530 per sharing key.
extension ContentFeatures {
    static let serializationVersion: UInt8 = 2
    static let sharedSerializationVersion: UInt8 = 3

    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(600)
        func put<T: FixedWidthInteger>(_ v: T) {
            withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
        }
        let shared = sharedFingerprints
        put(shared.isEmpty ? Self.serializationVersion : Self.sharedSerializationVersion)
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
        if !shared.isEmpty {
            put(UInt8(min(shared.count, 255)))
            for s in shared.prefix(255) {
                let id = Array(s.keyID.utf8.prefix(255))
                put(UInt8(id.count))
                out.append(contentsOf: id)
                put(UInt8(min(s.templateBands.count, 255)))
                for b in s.templateBands.prefix(255) { put(b) }
                put(UInt8(s.system == nil ? 0 : 1))
                put(s.system ?? 0)
            }
        }
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
        guard let version = get(UInt8.self), (1...Self.sharedSerializationVersion).contains(version) else { return nil }
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
        guard let excerptCount = get(UInt16.self), i + Int(excerptCount) <= bytes.count else { return nil }
        let excerptBytes = bytes[i..<(i + Int(excerptCount))]
        i += Int(excerptCount)
        var shared: [SharedContentFingerprint] = []
        if version == Self.sharedSerializationVersion {
            guard let count = get(UInt8.self), count > 0 else { return nil }
            for _ in 0..<count {
                guard let idLength = get(UInt8.self), i + Int(idLength) <= bytes.count else { return nil }
                let id = String(decoding: bytes[i..<(i + Int(idLength))], as: UTF8.self)
                i += Int(idLength)
                guard let bandCount = get(UInt8.self) else { return nil }
                var bands: [UInt64] = []
                for _ in 0..<bandCount {
                    guard let b = get(UInt64.self) else { return nil }
                    bands.append(b)
                }
                guard let hasSystem = get(UInt8.self), hasSystem <= 1, let system = get(UInt64.self) else { return nil }
                shared.append(SharedContentFingerprint(keyID: id, templateBands: bands, system: hasSystem == 1 ? system : nil))
            }
        }
        guard i == bytes.count else { return nil }
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
        excerpt = excerptCount == 0 ? nil : String(decoding: excerptBytes, as: UTF8.self)
        if !shared.isEmpty { sharedFingerprints = shared }
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
