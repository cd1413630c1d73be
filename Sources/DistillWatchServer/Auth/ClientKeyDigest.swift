import DistillWatchCore
import Crypto

/// How a client's own API key, seen in an Envoy check, is named without being kept: `key-`
/// and the first 16 hex digits (64 bits) of its SHA-256 (FIPS 180-4, by swift-crypto), so
/// each key is an account, no key is stored, and two keys meet only by a 2^-64 chance.
enum ClientKeyDigest {
    /// - Complexity: O(n) in the key's bytes.
    static func name(_ key: String) -> String {
        "key-" + SHA256.hash(data: Array(key.utf8)).prefix(8).lowercaseHex
    }
}
