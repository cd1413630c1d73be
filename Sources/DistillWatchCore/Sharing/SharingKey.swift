/// A secret agreed between providers who share indicators, under which each of them
/// fingerprints what must not leave in clear: prompt-template families, system prompts and
/// sign-up e-mail domains (Documentation/Sharing.md, "Keyed fingerprints").
///
/// An installation's own ``ContentKey`` never leaves it, so its content sketches cannot be
/// compared with another provider's. A sharing key is the second key both hold: every
/// prompt is sketched under it too, at ingest (the text is dropped right after), and the
/// fingerprints in a published bundle are values of keyed functions under it, so only key
/// holders can match them and nobody can test a guessed text without the key.
///
/// - The secret is 128 bits (32 hexadecimal digits); three sub-keys are derived from it by
///   SipHash-2-4 with distinct labels (domain separation), one per kind of fingerprint, and
///   a fourth gives a short *check value* that a recipient compares before matching (the
///   key-check-value practice of payment HSMs, ANSI X9.24), so a wrong key is a clear error
///   rather than silence.
/// - Template families: keyed MinHash (one-permutation MinHash over word 3-shingles, as in
///   ``ContentSketcher``, with SipHash-2-4 under the template sub-key as the permutation),
///   cut into ``templateBandCount`` LSH bands of ``templateBandRows`` rows (Indyk and
///   Motwani 1998; Leskovec, Rajaraman and Ullman, *Mining of Massive Datasets* §3.4); each
///   band's rows are hashed again under the sub-key into one 64-bit band value. Two prompts
///   with Jaccard similarity J share a given band with probability J².
/// - System prompts and e-mail domains: SipHash-2-4 (a keyed PRF; Aumasson and Bernstein,
///   2012) under their sub-keys, of the normalised token stream and of the lower-cased
///   domain.
public struct SharingKey: Sendable, Hashable {
    /// The name both parties use for this key (e.g. `acme-globex-2026q4`): it travels in
    /// bundles, the secret never does. 1–64 characters of `A–Z a–z 0–9 . _ -`.
    public let id: String
    let templateKey: ContentKey
    let systemKey: ContentKey
    let domainKey: ContentKey
    /// 32-bit check value of the secret, as 8 hexadecimal digits.
    public let checkValue: String

    public static let templateBandCount = 64
    public static let templateBandRows = 2
    /// Prompts shorter than this (normalised tokens) get no template bands: too short to
    /// carry a template.
    public static let minimumTemplateTokens = 8

    /// A key from its name and secret. `nil` when the name is not 1–64 characters of
    /// `A–Z a–z 0–9 . _ -`.
    public init?(id: String, secret: ContentKey) {
        guard Self.isValidID(id) else { return nil }
        self.id = id
        func derive(_ label: UInt64) -> ContentKey {
            ContentKey(k0: secret.prf(label << 1), k1: secret.prf(label << 1 | 1))
        }
        templateKey = derive(0x5445_4D50)  // "TEMP"
        systemKey = derive(0x5359_5354)  // "SYST"
        domainKey = derive(0x444F_4D41)  // "DOMA"
        let check = UInt32(truncatingIfNeeded: derive(0x4348_4543).prf(0))  // "CHEC"
        let hex = String(check, radix: 16)
        checkValue = String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// A key from its name and 32 hexadecimal digits; `nil` when either is malformed.
    public init?(id: String, secretHex: String) {
        guard let secret = ContentKey(hex: secretHex) else { return nil }
        self.init(id: id, secret: secret)
    }

    public static func isValidID(_ id: String) -> Bool {
        let utf8 = id.utf8
        return (1...64).contains(utf8.count) && utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
        }
    }

    public static func == (a: SharingKey, b: SharingKey) -> Bool {
        a.id == b.id && a.templateKey == b.templateKey
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
        hasher.combine(templateKey)
    }

    /// The template-family band values of a normalised token stream, or an empty array when
    /// it has fewer than ``minimumTemplateTokens`` tokens.
    /// - Complexity: O(n + 128): one PRF call per shingle and one per band.
    public func templateBands(tokens: UnsafeBufferPointer<UInt64>) -> [UInt64] {
        guard tokens.count >= Self.minimumTemplateTokens else { return [] }
        let key = templateKey
        let signature = MinHashSignature.build { offer in
            for i in 2..<tokens.count {
                offer(key.prf(tokens[i - 2] ^ tokens[i - 1].rotatedLeft(21) ^ tokens[i].rotatedLeft(42)))
            }
        }
        return signature.withBins { bins in
            (0..<Self.templateBandCount).map { band in
                var h = UInt64(band) &* 0x9E37_79B9_7F4A_7C15
                for row in 0..<Self.templateBandRows {
                    h = key.prf(h ^ UInt64(bins[band * Self.templateBandRows + row]))
                }
                return h
            }
        }
    }

    /// The system-prompt fingerprint of a normalised token stream.
    /// - Complexity: O(n).
    public func systemFingerprint(tokens: UnsafeBufferPointer<UInt64>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for t in tokens { h = (h ^ t) &* 0x0000_0100_0000_01B3 }
        return systemKey.prf(h ^ UInt64(tokens.count))
    }

    /// The fingerprint of a sign-up e-mail domain (lower-cased, a trailing dot removed).
    /// - Complexity: O(length).
    public func emailDomainFingerprint(_ domain: String) -> UInt64 {
        var d = domain.lowercased()
        if d.hasSuffix(".") { d.removeLast() }
        return d.withUTF8 { domainKey.prf(bytes: $0) }
    }
}

/// What one prompt looks like under one sharing key (carried on ``ContentFeatures``).
public struct SharedContentFingerprint: Sendable, Equatable {
    /// ``SharingKey/id``.
    public var keyID: String
    /// ``SharingKey/templateBandCount`` band values, or none for a short prompt.
    public var templateBands: [UInt64]
    /// The system prompt's fingerprint, when the exchange had one.
    public var system: UInt64?

    public init(keyID: String, templateBands: [UInt64], system: UInt64? = nil) {
        self.keyID = keyID
        self.templateBands = templateBands
        self.system = system
    }
}

/// Fixed-width lower-case hexadecimal of a 64-bit fingerprint (16 digits), as it appears
/// in bundles.
public func fingerprintHex(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}

extension [SharedContentFingerprint] {
    /// Copies each system-prompt fingerprint of `system` (sketched from the system prompt
    /// on its own) onto the entry of the same key, adding an entry for a key not present.
    /// - Complexity: O(n·m) over the (one or two) keys.
    public mutating func mergeSystemFingerprints(_ system: [SharedContentFingerprint]) {
        for s in system {
            guard let value = s.system else { continue }
            if let i = firstIndex(where: { $0.keyID == s.keyID }) {
                self[i].system = value
            } else {
                append(SharedContentFingerprint(keyID: s.keyID, templateBands: [], system: value))
            }
        }
    }
}
