import DistillWatchCore
import Testing

@testable import DistillWatchSharing

@Suite struct STIXPatternTests {
    @Test func addressesRoundTripThroughAPattern() throws {
        let prefixes = ["198.51.100.7", "198.51.100.0/24", "2001:db8::1", "2001:db8:1::/48"].map { IPPrefix($0)! }
        let pattern = STIXPattern.addresses(prefixes)
        #expect(pattern == "[ipv4-addr:value = '198.51.100.7'] OR [ipv4-addr:value ISSUBSET '198.51.100.0/24'] OR [ipv6-addr:value = '2001:db8::1'] OR [ipv6-addr:value ISSUBSET '2001:db8:1::/48']")
        let parsed = try STIXPattern.parse(pattern)
        #expect(parsed.comparisons == prefixes.map { .address($0) })
        #expect(parsed.unsupported.isEmpty)
    }
}

extension STIXPatternTests {
    @Test func keyedFingerprintsAndClientStacksParse() throws {
        let p = try STIXPattern.parse(STIXPattern.keyed(.templateBand, keyID: "k-1", values: [1, 0xFFFF_FFFF_FFFF_FFFF]))
        #expect(p.comparisons == [.templateBand(keyID: "k-1", value: 1), .templateBand(keyID: "k-1", value: .max)])
        let ua = try STIXPattern.parse(STIXPattern.equals(STIXPattern.userAgentPath, [STIXPattern.literal("it's \\ odd")]))
        #expect(ua.comparisons == [.userAgent("it's \\ odd")])
        let plain = try STIXPattern.parse("[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = 'a']")
        #expect(plain.comparisons == [.userAgent("a")])
        let asn = try STIXPattern.parse("[autonomous-system:number IN (64500, 64501)] OR [distillwatch-client-fingerprint:value = 'j']")
        #expect(asn.comparisons == [.autonomousSystem(64500), .autonomousSystem(64501), .clientFingerprint("j")])
    }

    @Test func validPatternsDistillWatchCannotMatchAreListedNotGuessed() throws {
        let p = try STIXPattern.parse("[ipv4-addr:value = '1.2.3.4' OR domain-name:value = 'x.example' OR ipv4-addr:value NOT = '5.6.7.8'] OR [ipv4-addr:value = '1.1.1.1' AND autonomous-system:number = 3]")
        #expect(p.comparisons == [.address(IPPrefix("1.2.3.4")!)])
        #expect(p.unsupported.count == 3)
    }

    @Test(arguments: [
        "", "ipv4-addr:value = '1'", "[ipv4-addr:value = '1.2.3.4'", "[ipv4-addr:value '1.2.3.4']", "[ipv4-addr:value = 'unterminated]",
        "[ipv4-addr:value = '1.2.3.4'] AND [ipv4-addr:value = '1.2.3.5']", "[ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS",
        "[ipv4-addr: = '1.2.3.4']", "[ipv4-addr:value = '\\x']", "[autonomous-system:number = 'AS1']", "[ipv6-addr:value = '1.2.3.4']",
        "[distillwatch-keyed-fingerprint:value = '0011223344556677']", "[ipv4-addr:value IN ()]", "[ipv4-addr:value = '1.2.3.4'] OR",
        "[ipv4-addr:value ! '1']", "[ipv4-addr:value = 1e999999]",
    ])
    func malformedPatternsAreProblemsNeverCrashes(_ pattern: String) {
        #expect(throws: STIXPattern.Problem.self) { try STIXPattern.parse(pattern) }
    }
}
