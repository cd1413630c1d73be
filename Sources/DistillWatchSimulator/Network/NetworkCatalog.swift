import DistillWatchCore
/// What kind of network an address belongs to. Residential and mobile networks are where
/// both home developers and residential-proxy fleets appear, so they share one pool.
public enum NetworkKind: Sendable {
    case residential
    case mobile
    case cloud
    case campus
}

/// One autonomous system of the simulated internet, with the address blocks it announces.
public struct AutonomousSystem: Sendable {
    public var number: Int
    public var country: String
    public var kind: NetworkKind
    /// First two octets of the IPv4 /16 blocks it announces.
    var v4Blocks: [(UInt8, UInt8)]
    /// Second and third 16-bit groups of its IPv6 /48 (after `2a0x`), when it has IPv6.
    var v6Block: (UInt16, UInt16, UInt16)?
}

/// A source address with the enrichment a gateway adds (`asn`, `country`).
public struct NetworkEndpoint: Sendable, Equatable {
    public var address: String
    public var asn: Int
    public var country: String
}

/// A country a simulated customer lives in, with its UTC offset (standard time; the
/// simulator ignores daylight saving) and relative share of API developers.
public struct CountryProfile: Sendable {
    public var code: String
    public var utcOffsetHours: Int
    public var developerShare: Double
}

/// The simulated internet: a fixed catalogue of countries and a few hundred autonomous
/// systems, built from a constant seed so that every scenario sees the same networks.
///
/// Residential proxies are drawn from the same residential and mobile networks as home
/// developers (as in the real world), so network type alone never separates the labels.
public struct NetworkCatalog: Sendable {
    public let countries: [CountryProfile]
    public let residential: [AutonomousSystem]
    public let cloud: [AutonomousSystem]
    /// Indices into `residential` for each country code.
    let residentialByCountry: [String: [Int]]
    let cloudByCountry: [String: [Int]]
    let countryWeights: [Double]

    /// The one catalogue every scenario uses.
    public static let standard = NetworkCatalog()

    /// - Complexity: O(number of autonomous systems), once per process.
    init() {
        countries = [
            CountryProfile(code: "US", utcOffsetHours: -6, developerShare: 30),
            CountryProfile(code: "IN", utcOffsetHours: 5, developerShare: 10),
            CountryProfile(code: "GB", utcOffsetHours: 0, developerShare: 6),
            CountryProfile(code: "DE", utcOffsetHours: 1, developerShare: 6),
            CountryProfile(code: "BR", utcOffsetHours: -3, developerShare: 5),
            CountryProfile(code: "CA", utcOffsetHours: -5, developerShare: 4),
            CountryProfile(code: "FR", utcOffsetHours: 1, developerShare: 4),
            CountryProfile(code: "JP", utcOffsetHours: 9, developerShare: 4),
            CountryProfile(code: "KR", utcOffsetHours: 9, developerShare: 3),
            CountryProfile(code: "SG", utcOffsetHours: 8, developerShare: 2),
            CountryProfile(code: "AU", utcOffsetHours: 10, developerShare: 2),
            CountryProfile(code: "NL", utcOffsetHours: 1, developerShare: 2),
            CountryProfile(code: "PL", utcOffsetHours: 1, developerShare: 2),
            CountryProfile(code: "ES", utcOffsetHours: 1, developerShare: 2),
            CountryProfile(code: "IT", utcOffsetHours: 1, developerShare: 2),
            CountryProfile(code: "MX", utcOffsetHours: -6, developerShare: 2),
            CountryProfile(code: "ID", utcOffsetHours: 7, developerShare: 2),
            CountryProfile(code: "VN", utcOffsetHours: 7, developerShare: 2),
            CountryProfile(code: "TR", utcOffsetHours: 3, developerShare: 2),
            CountryProfile(code: "UA", utcOffsetHours: 2, developerShare: 1.5),
            CountryProfile(code: "SE", utcOffsetHours: 1, developerShare: 1),
            CountryProfile(code: "IL", utcOffsetHours: 2, developerShare: 1),
            CountryProfile(code: "AR", utcOffsetHours: -3, developerShare: 1),
            CountryProfile(code: "NG", utcOffsetHours: 1, developerShare: 1),
            CountryProfile(code: "PH", utcOffsetHours: 8, developerShare: 1),
            CountryProfile(code: "TW", utcOffsetHours: 8, developerShare: 1),
            CountryProfile(code: "MY", utcOffsetHours: 8, developerShare: 1),
            CountryProfile(code: "ZA", utcOffsetHours: 2, developerShare: 0.8),
            CountryProfile(code: "CH", utcOffsetHours: 1, developerShare: 0.8),
            CountryProfile(code: "TH", utcOffsetHours: 7, developerShare: 0.8),
        ]
        countryWeights = countries.map(\.developerShare)
        var rng = SplitMix64(seed: 0xD157_1117_4E7C_A7A1)
        var usedBlocks = Set<UInt16>()
        func freshBlock() -> (UInt8, UInt8) {
            while true {
                let a = UInt8(rng.int(in: 11...223))
                guard ![10, 100, 127, 169, 172, 192, 198, 203].contains(a) else { continue }
                let b = UInt8(rng.int(in: 0...255))
                let key = UInt16(a) << 8 | UInt16(b)
                if usedBlocks.insert(key).inserted { return (a, b) }
            }
        }
        var usedASNs = Set<Int>()
        func freshASN() -> Int {
            while true {
                let n = rng.chance(0.7) ? rng.int(in: 1_200...63_000) : rng.int(in: 131_072...270_000)
                if usedASNs.insert(n).inserted { return n }
            }
        }
        var residential: [AutonomousSystem] = []
        var byCountry: [String: [Int]] = [:]
        for country in countries {
            // Bigger developer populations have more access networks.
            let networks = 4 + Int(country.developerShare * 1.6)
            for k in 0..<networks {
                let kind: NetworkKind = k % 4 == 3 ? .mobile : .residential
                // The count is drawn before any block (a `map` over a range drawn from `rng`
                // with a closure that also draws from it trips the exclusivity check when optimised).
                let blockCount = rng.int(in: 2...5)
                var blocks: [(UInt8, UInt8)] = []
                for _ in 0..<blockCount { blocks.append(freshBlock()) }
                let v6: (UInt16, UInt16, UInt16)? = rng.chance(0.6)
                    ? (UInt16(rng.int(in: 0x2a00...0x2a0f)), UInt16(rng.int(in: 0x1000...0xffff)), UInt16(rng.int(in: 0...0xffff)))
                    : nil
                byCountry[country.code, default: []].append(residential.count)
                residential.append(AutonomousSystem(
                    number: freshASN(), country: country.code, kind: kind, v4Blocks: blocks, v6Block: v6))
            }
        }
        self.residential = residential
        self.residentialByCountry = byCountry
        // Cloud regions of the big providers (real ASNs, synthetic blocks).
        let providers: [(Int, [String])] = [
            (16509, ["US", "US", "IE", "DE", "JP", "SG", "IN", "BR", "GB", "AU"]),
            (15169, ["US", "US", "NL", "BE", "JP", "SG", "IN", "TW"]),
            (8075, ["US", "US", "NL", "IE", "GB", "JP", "SG"]),
            (14061, ["US", "DE", "NL", "SG", "GB", "IN"]),
            (24940, ["DE", "FI"]),
            (16276, ["FR", "CA", "DE", "PL"]),
            (63949, ["US", "DE", "JP"]),
            (20473, ["US", "NL", "JP", "SG"]),
            (45102, ["SG", "JP", "US"]),
        ]
        var cloud: [AutonomousSystem] = []
        var cloudByCountry: [String: [Int]] = [:]
        for (asn, regions) in providers {
            for region in regions {
                cloudByCountry[region, default: []].append(cloud.count)
                cloud.append(AutonomousSystem(
                    number: asn, country: region, kind: .cloud,
                    v4Blocks: [freshBlock(), freshBlock()],
                    v6Block: (UInt16(rng.int(in: 0x2600...0x260f)), UInt16(rng.int(in: 0x1000...0xffff)), UInt16(rng.int(in: 0...0xffff)))))
            }
        }
        self.cloud = cloud
        self.cloudByCountry = cloudByCountry
    }

    /// A country drawn by developer population. - Complexity: O(countries).
    public func drawCountry(_ rng: inout SplitMix64) -> CountryProfile {
        countries[rng.weightedIndex(countryWeights)]
    }

    /// A residential or mobile network in `country` (any country when `nil`).
    /// - Complexity: O(countries).
    public func drawResidentialNetwork(in country: String?, _ rng: inout SplitMix64) -> Int {
        let code = country ?? drawCountry(&rng).code
        if let options = residentialByCountry[code] { return rng.pick(options) }
        return rng.below(residential.count)
    }

    /// A cloud region, preferably in `country`. - Complexity: O(1).
    public func drawCloudNetwork(near country: String?, _ rng: inout SplitMix64) -> Int {
        if let country, let options = cloudByCountry[country], rng.chance(0.8) { return rng.pick(options) }
        return rng.below(cloud.count)
    }

    /// A fresh address inside an autonomous system; `ipv6Share` of addresses are IPv6 when
    /// the network has IPv6. - Complexity: O(1).
    public func address(in network: AutonomousSystem, ipv6Share: Double, _ rng: inout SplitMix64) -> NetworkEndpoint {
        let text: String
        if let v6 = network.v6Block, rng.chance(ipv6Share) {
            let r = rng.next()
            text = hex16(v6.0) + ":" + hex16(v6.1) + ":" + hex16(v6.2) + ":" + hex16(UInt16(truncatingIfNeeded: r))
                + "::" + hex16(UInt16(truncatingIfNeeded: r >> 16)) + ":" + hex16(UInt16(truncatingIfNeeded: r >> 32) | 1)
        } else {
            let block = network.v4Blocks[rng.below(network.v4Blocks.count)]
            let r = rng.next()
            text = String(block.0) + "." + String(block.1) + "." + String(UInt8(truncatingIfNeeded: r))
                + "." + String(1 + Int(UInt8(truncatingIfNeeded: r >> 8)) % 254)
        }
        return NetworkEndpoint(address: text, asn: network.number, country: network.country)
    }

    /// A campus network for a university: its own ASN and a single NAT address.
    /// - Complexity: O(1).
    public func campusEndpoint(country: String, _ rng: inout SplitMix64) -> NetworkEndpoint {
        let asn = 1_000 + rng.below(60_000)
        let a = [128, 129, 130, 131, 134, 137, 138, 139, 140, 141, 144, 146, 147, 152, 155][rng.below(15)]
        let text = "\(a).\(rng.below(256)).\(rng.below(256)).\(1 + rng.below(254))"
        return NetworkEndpoint(address: text, asn: asn, country: country)
    }
}

private func hex16(_ v: UInt16) -> String {
    String(v, radix: 16)
}
