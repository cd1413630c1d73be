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
