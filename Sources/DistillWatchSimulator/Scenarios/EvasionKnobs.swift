import DistillWatchCore

/// What an extraction operator can turn to evade detection, applied to a campaign group of
/// a scenario (`eval --sweep`, `eval --adaptive`). A knob left `nil` keeps the persona's own
/// setting. The code is open, so an attacker knows every signal: the knobs are the evasion
/// parameters the signals leave them.
public struct EvasionKnobs: Sendable, Equatable, Hashable {
    /// Requests per account per active day.
    public var pace: Double?
    /// Share of requests that are everyday chat (camouflage, not harvested), in [0, 0.95].
    public var camouflage: Double?
    /// Proxy policy: exits in the campaign's shared pool of sticky residential addresses, per
    /// account; 0 gives each account its own residential address a day in its own country
    /// (no exit ever shared).
    public var exitsPerAccount: Double?
    /// Request parameters: `true` one identical fingerprint for every account (one harness
    /// configuration), `false` each account draws its own like a customer would.
    public var sharedFingerprint: Bool?
    /// Accounts in the campaign (at scale 1).
    public var accounts: Int?

    public init(pace: Double? = nil, camouflage: Double? = nil, exitsPerAccount: Double? = nil,
                sharedFingerprint: Bool? = nil, accounts: Int? = nil) {
        self.pace = pace
        self.camouflage = camouflage
        self.exitsPerAccount = exitsPerAccount
        self.sharedFingerprint = sharedFingerprint
        self.accounts = accounts
    }

    /// The knobs' names, as `--sweep NAME=…` takes them.
    public enum Name: String, CaseIterable, Sendable {
        case pace, camouflage, exits, fingerprint, accounts
    }

    /// The knobs with `name` set from `text`.
    /// - Throws: ``SweepError`` naming the knob and the value when `text` is not one.
    public func setting(_ name: Name, to text: String) throws(SweepError) -> EvasionKnobs {
        var k = self
        switch name {
        case .pace:
            guard let v = Double(text), v > 0, v <= 100_000 else { throw SweepError("pace must be requests per account per day in (0, 100000], got '\(text)'") }
            k.pace = v
        case .camouflage:
            guard let v = Double(text), v >= 0, v <= 0.95 else { throw SweepError("camouflage must be a share in [0, 0.95], got '\(text)'") }
            k.camouflage = v
        case .exits:
            guard let v = Double(text), v >= 0, v <= 1_000 else { throw SweepError("exits must be exits per account in [0, 1000] (0: own address a day), got '\(text)'") }
            k.exitsPerAccount = v
        case .fingerprint:
            switch text {
            case "shared": k.sharedFingerprint = true
            case "own": k.sharedFingerprint = false
            default: throw SweepError("fingerprint must be 'shared' or 'own', got '\(text)'")
            }
        case .accounts:
            guard let v = Int(text), v >= 1, v <= 1_000_000 else { throw SweepError("accounts must be a whole number in [1, 1000000], got '\(text)'") }
            k.accounts = v
        }
        return k
    }

    /// The knobs in words, e.g. `pace 15/day, camouflage 40%, exits 2/account`.
    public var summary: String {
        var parts: [String] = []
        if let pace { parts.append("pace \(Wording.rounded(pace, digits: 1))/day") }
        if let camouflage { parts.append("camouflage \(Wording.percent(camouflage, digits: 0))") }
        if let exitsPerAccount { parts.append(exitsPerAccount == 0 ? "own address a day" : "exits \(Wording.rounded(exitsPerAccount, digits: 2))/account") }
        if let sharedFingerprint { parts.append(sharedFingerprint ? "shared fingerprint" : "own fingerprints") }
        if let accounts { parts.append("\(Wording.number(accounts)) accounts") }
        return parts.isEmpty ? "as the persona" : parts.joined(separator: ", ")
    }

    /// Applies the knobs to a persona's profile.
    func apply(to p: inout PersonaProfile) {
        if let camouflage {
            // Everyday chat takes `camouflage` of the weight; the harvested kinds share the rest
            // in their own proportions.
            let chat = p.taskMix.firstIndex(of: .mundaneChat)
            if chat == nil {
                p.taskMix.append(.mundaneChat)
                p.taskWeights.append(0)
            }
            let c = p.taskMix.firstIndex(of: .mundaneChat)!
            let others = p.taskWeights.enumerated().filter { $0.offset != c }.map(\.element).reduce(0, +)
            for k in p.taskWeights.indices {
                p.taskWeights[k] = k == c ? camouflage * 100 : (others > 0 ? p.taskWeights[k] / others * (1 - camouflage) * 100 : 0)
            }
        }
        if let exitsPerAccount {
            p.network = exitsPerAccount == 0 ? .stickyResidentialDaily : .campaignStickyPool(exitsPerAccount: exitsPerAccount)
        }
        if let sharedFingerprint, !sharedFingerprint {
            p.temperatures = [nil, nil, 0.2, 0.7, 1.0]
            p.maxTokens = [1024, 2048, 4096, 8192, 16000]
            p.thinkingShare = 0.4
            p.streamShare = 0.6
        }
    }
}

/// A sweep or knob setting that cannot be used, in words.
public struct SweepError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
