/// What a token may do. A token carries one or more roles.
///
/// | role | endpoints |
/// |---|---|
/// | `ingest` | `POST /v1/exchanges`, `POST /v1/accounts` |
/// | `decide` | `POST /v1/decide`, `POST /beta/litellm_basic_guardrail_api` |
/// | `analyst` | `GET /v1/accounts/{id}`, `GET /v1/campaigns[/{id}]`, `GET /v1/report`, `GET /v1/decisions`, `GET /v1/quarantine`, `GET /v1/status`, labels, `POST /v1/flush` |
/// | `exempt` | with `ingest`: account records may set `allowlisted` and `verified` (from any other token those fields are ignored) |
/// | `share_read` | TAXII 2.1 (`/taxii2/`): discovery, the API root, and reading the `published` collection (this provider's approved campaigns) |
/// | `share_write` | TAXII 2.1: discovery, the API root, and adding objects to the `inbox` collection (partners' indicators, matched by the engine) |
///
/// `analyst` reads every TAXII collection and writes the `inbox` too; `published` is written
/// only by approval, feed collections only by polling.
///
/// `GET /metrics` takes any valid token; `GET /healthz` takes none.
public enum Role: String, Sendable, Hashable, CaseIterable, Codable {
    case ingest
    case decide
    case analyst
    /// May exempt accounts from detection (`allowlisted`) or vouch for them (`verified`)
    /// in account records: a decision of the provider's, not of its log pipeline.
    case exempt
    /// A partner that reads what this provider publishes (TAXII).
    case shareRead = "share_read"
    /// A partner that pushes its indicators to this provider (TAXII).
    case shareWrite = "share_write"
}

/// A bearer token from the configuration.
public struct AccessToken: Sendable, Equatable {
    /// Names the caller in logs and the audit log (never the secret).
    public var name: String
    public var secret: String
    public var roles: Set<Role>

    public init(name: String, secret: String, roles: Set<Role>) {
        self.name = name
        self.secret = secret
        self.roles = roles
    }

    /// Parses `NAME:ROLE[+ROLE...]:SECRET`, e.g. `gateway:decide:3f9a...` or
    /// `ops:ingest+analyst:...`. The secret may itself contain colons.
    public init(parsing text: some StringProtocol) throws(ConfigurationError) {
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[2].isEmpty else {
            throw ConfigurationError("token \"\(Self.redacted(text))\": expected NAME:ROLE[+ROLE...]:SECRET")
        }
        var roles: Set<Role> = []
        for r in parts[1].split(separator: "+") {
            guard let role = Role(rawValue: String(r)) else {
                throw ConfigurationError("token \"\(parts[0])\": unknown role \"\(r)\" (roles: ingest, decide, analyst, exempt, share_read, share_write)")
            }
            roles.insert(role)
        }
        guard !roles.isEmpty else { throw ConfigurationError("token \"\(parts[0])\": no role given") }
        try self.init(name: String(parts[0]), secret: String(parts[2]), roles: roles, checked: ())
    }

    init(name: String, secret: String, roles: Set<Role>, checked: Void) throws(ConfigurationError) {
        guard secret.utf8.count >= 16 else {
            throw ConfigurationError("token \"\(name)\": the secret must be at least 16 characters")
        }
        // HTTP drops the whitespace around a header's value (RFC 9110, section 5.5), and a
        // header cannot carry control characters: such a secret could never authenticate.
        if let first = secret.unicodeScalars.first, let last = secret.unicodeScalars.last,
           first.properties.isWhitespace || last.properties.isWhitespace {
            throw ConfigurationError("token \"\(name)\": the secret begins or ends with whitespace, which HTTP drops from a header: no request could present it")
        }
        if secret.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw ConfigurationError("token \"\(name)\": the secret holds a control character, which no HTTP header can carry")
        }
        self.init(name: name, secret: secret, roles: roles)
    }

    private static func redacted(_ text: some StringProtocol) -> String {
        let name = String(text).split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
        return name + ":…"
    }
}

/// Looks a presented secret up among the configured tokens.
struct TokenTable: Sendable {
    private let tokens: [AccessToken]
    private let secrets: [[UInt8]]

    init(_ tokens: [AccessToken]) {
        self.tokens = tokens
        secrets = tokens.map { Array($0.secret.utf8) }
    }

    /// The token whose secret is `presented`, comparing every token in constant time per
    /// byte so the answer's timing does not reveal how much of a secret matched.
    /// - Complexity: O(tokens × secret length).
    func token(for presented: Substring) -> AccessToken? {
        var found: AccessToken?
        var presented = presented
        presented.withUTF8 { p in
            for (t, s) in zip(tokens, secrets) {
                var diff = UInt8(s.count == p.count ? 0 : 1)
                for i in 0..<s.count { diff |= s[i] ^ (i < p.count ? p[i] : 0) }
                if diff == 0 { found = t }
            }
        }
        return found
    }
}
