import Crypto
import DistillWatchCore
import Foundation

/// STIX identifiers (`type--UUID`, STIX 2.1 §2.9) made deterministic: a name-based UUID
/// version 5 (RFC 9562 §5.5: SHA-1 of a namespace and a name), so that exporting the same
/// campaign again gives the same ids and a recipient sees a new version of an object
/// (a later `modified`) rather than a duplicate.
public enum STIXIdentifier {
    /// DistillWatch's namespace for the domain objects it creates (a fixed random UUID).
    public static let distillWatchNamespace = UUID(uuidString: "6f1d3c52-8c1e-4a51-9b7e-2b0f6f0d9a41")!
    /// The STIX 2.1 namespace for cyber-observable ids (§2.9).
    public static let observableNamespace = UUID(uuidString: "00abedb4-aa42-466c-9c01-fed23315a9b7")!

    /// `type--uuid5(namespace, name)`.
    public static func make(_ type: String, name: String, namespace: UUID = distillWatchNamespace) -> String {
        "\(type)--\(uuid5(namespace: namespace, name: name).uuidString.lowercased())"
    }

    /// RFC 9562 §5.5.
    public static func uuid5(namespace: UUID, name: String) -> UUID {
        var bytes = withUnsafeBytes(of: namespace.uuid) { Array($0) }
        bytes.append(contentsOf: Array(name.utf8))
        var digest = Array(Insecure.SHA1.hash(data: bytes))
        digest[6] = (digest[6] & 0x0F) | 0x50
        digest[8] = (digest[8] & 0x3F) | 0x80
        return UUID(uuid: (digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
                           digest[8], digest[9], digest[10], digest[11], digest[12], digest[13], digest[14], digest[15]))
    }

    /// Whether `text` is `type--` followed by an RFC 4122 UUID (any version), as §2.9
    /// requires; `type` alone is not checked here.
    public static func isWellFormed(_ text: String) -> Bool {
        guard let range = text.range(of: "--") else { return false }
        let type = text[..<range.lowerBound]
        let uuid = text[range.upperBound...]
        return !type.isEmpty && type.count <= 250 && uuid.count == 36 && UUID(uuidString: String(uuid)) != nil
    }
}

/// STIX timestamps (§3.2): RFC 3339, UTC, `Z`, milliseconds.
extension Timestamp {
    public var stix: String { rfc3339 }
}
