import DistillWatchCore
/// The HTTP client an account's requests come from: its user agent and the TLS/HTTP
/// fingerprint (JA4-like) its stack produces at the edge.
public struct ClientSoftware: Sendable, Equatable {
    public var userAgent: String
    public var fingerprint: String
}

/// A catalogue of client stacks shared by every persona: attackers use the same SDKs and
/// HTTP libraries as customers, so a user agent never gives a label away on its own.
///
/// A fingerprint depends on the library and runtime, not on the exact version string, so
/// many thousands of unrelated customers share each popular fingerprint.
public enum ClientCatalog {
    struct Family {
        var name: String
        var weight: Double
        /// Versions as (major, minor range, patch range).
        var major: Int
        var minors: ClosedRange<Int>
        var patches: ClosedRange<Int>
        var runtimes: [String]
    }

    static let families: [Family] = [
        Family(name: "anthropic-python", weight: 30, major: 0, minors: 30...49, patches: 0...3,
               runtimes: ["Linux; CPython 3.11", "Linux; CPython 3.12", "MacOS; CPython 3.12", "Linux; CPython 3.10", "Windows; CPython 3.12", "MacOS; CPython 3.13"]),
        Family(name: "anthropic-typescript", weight: 18, major: 0, minors: 20...36, patches: 0...2,
               runtimes: ["node 20", "node 22", "node 18", "bun 1.1", "deno 2"]),
        Family(name: "openai-python", weight: 8, major: 1, minors: 30...60, patches: 0...3,
               runtimes: ["Linux; CPython 3.11", "MacOS; CPython 3.12", "Linux; CPython 3.12"]),
        Family(name: "python-httpx", weight: 8, major: 0, minors: 25...28, patches: 0...1, runtimes: [""]),
        Family(name: "python-requests", weight: 7, major: 2, minors: 28...32, patches: 0...3, runtimes: [""]),
        Family(name: "axios", weight: 5, major: 1, minors: 6...7, patches: 0...9, runtimes: [""]),
        Family(name: "Go-http-client", weight: 5, major: 2, minors: 0...0, patches: 0...0, runtimes: [""]),
        Family(name: "curl", weight: 4, major: 8, minors: 0...11, patches: 0...1, runtimes: [""]),
        Family(name: "okhttp", weight: 3, major: 4, minors: 9...12, patches: 0...0, runtimes: [""]),
        Family(name: "langchain-anthropic", weight: 5, major: 0, minors: 1...3, patches: 0...20,
               runtimes: ["Linux; CPython 3.11", "MacOS; CPython 3.12"]),
        Family(name: "litellm", weight: 4, major: 1, minors: 40...60, patches: 0...9, runtimes: [""]),
        Family(name: "aiohttp", weight: 2, major: 3, minors: 8...10, patches: 0...5, runtimes: [""]),
    ]

    static let familyWeights = families.map(\.weight)

    /// A client stack drawn from the population of API clients. - Complexity: O(families).
    public static func draw(_ rng: inout SplitMix64) -> ClientSoftware {
        let index = rng.weightedIndex(familyWeights)
        return make(familyIndex: index, &rng)
    }

    /// A client stack of a named family (e.g. `python-requests` for naive scripts).
    /// - Complexity: O(families).
    public static func draw(family name: String, _ rng: inout SplitMix64) -> ClientSoftware {
        let index = families.firstIndex { $0.name == name } ?? 0
        return make(familyIndex: index, &rng)
    }

    /// A product's own client (coding-agent products ship their own user agent).
    /// - Complexity: O(1).
    public static func product(named product: String, _ rng: inout SplitMix64) -> ClientSoftware {
        let version = "\(rng.int(in: 0...3)).\(rng.int(in: 0...40)).\(rng.int(in: 0...9))"
        let base = make(familyIndex: 1, &rng)
        return ClientSoftware(userAgent: "\(product)/\(version) \(base.userAgent)", fingerprint: base.fingerprint)
    }

    static func make(familyIndex: Int, _ rng: inout SplitMix64) -> ClientSoftware {
        let family = families[familyIndex]
        let minor = rng.int(in: family.minors)
        let patch = rng.int(in: family.patches)
        let runtimeIndex = rng.below(family.runtimes.count)
        let runtime = family.runtimes[runtimeIndex]
        var agent = "\(family.name)/\(family.major).\(minor).\(patch)"
        if !runtime.isEmpty { agent += " (\(runtime))" }
        // The TLS stack depends on the family and runtime and changes every few minor versions.
        let stackSeed = SplitMix64.seed(UInt64(familyIndex), UInt64(runtimeIndex), UInt64(minor / 6))
        var fp = SplitMix64(seed: stackSeed)
        let ciphers = 10 + fp.below(8)
        let extensions = 10 + fp.below(8)
        let fingerprint = "t13d\(ciphers)\(extensions)h2_\(fp.hex(12))_\(fp.hex(12))"
        return ClientSoftware(userAgent: agent, fingerprint: fingerprint)
    }
}
