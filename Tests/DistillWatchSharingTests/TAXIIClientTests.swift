import Testing
@testable import DistillWatchTAXII

/// The TAXII client's reading of what a server sends back that could hurt it.
@Suite struct TAXIIClientTests {
    /// `Retry-After` is a server's word: only its delay-seconds form (RFC 9110 §10.2.3) is
    /// taken, capped at 60 s; nothing in it may reach a conversion that traps (`-inf`
    /// crashed `share pull` and the server's feed polling).
    @Test func retryAfterTakesOnlyDelaySecondsUpToAMinute() {
        #expect(TAXIIClient.retryDelay("0") == 0)
        #expect(TAXIIClient.retryDelay("7") == 7)
        #expect(TAXIIClient.retryDelay(" 12 ") == 12)
        #expect(TAXIIClient.retryDelay("3600") == 60)
        #expect(TAXIIClient.retryDelay("9999999999") == 60)
        for hostile in ["-inf", "inf", "nan", "-1", "-1e300", "1e300", "1.5", "+3", "0x10", "99999999999",
                        "Wed, 21 Oct 2015 07:28:00 GMT", "", "  "] {
            #expect(TAXIIClient.retryDelay(hostile) == nil, "\(hostile)")
        }
        #expect(TAXIIClient.retryDelay(nil) == nil)
    }
}
