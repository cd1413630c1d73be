import Testing
@testable import DistillWatchCore

@Suite struct TimestampTests {
    @Test func parsesUTCWithMilliseconds() {
        let t = Timestamp(rfc3339: "2026-04-22T03:14:15.926Z")
        #expect(t?.millisecondsSinceEpoch == 1_776_827_655_926)
    }

    @Test func parsesOffsetsAndFractions() {
        let utc = Timestamp(rfc3339: "2026-04-22T03:14:15Z")!
        #expect(Timestamp(rfc3339: "2026-04-22T05:14:15+02:00") == utc)
        #expect(Timestamp(rfc3339: "2026-04-21T22:14:15-05:00") == utc)
        #expect(Timestamp(rfc3339: "2026-04-22T03:14:15.9Z")!.millisecondsSinceEpoch == utc.millisecondsSinceEpoch + 900)
        #expect(Timestamp(rfc3339: "2026-04-22T03:14:15.123456789Z")!.millisecondsSinceEpoch == utc.millisecondsSinceEpoch + 123)
    }

    @Test(arguments: [
        "2026-04-22T03:14:15", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-04-22T24:00:00Z",
        "2026-04-22T03:14:15.Z", "not a time", "2026-04-22T03:14:15+0200", "2026-04-22T03:14:15Zjunk", "",
    ])
    func rejectsInvalid(_ text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test func leapDayAndRoundTrip() {
        let t = Timestamp(rfc3339: "2024-02-29T23:59:59.999Z")!
        #expect(t.rfc3339 == "2024-02-29T23:59:59.999Z")
        for ms in stride(from: Int64(-86_400_000 * 400), through: 86_400_000 * 40_000, by: 7_777_777_777) {
            let x = Timestamp(millisecondsSinceEpoch: ms)
            #expect(Timestamp(rfc3339: x.rfc3339) == x)
        }
    }

    @Test func calendarIndicesRoundDown() {
        let beforeEpoch = Timestamp(millisecondsSinceEpoch: -1)
        #expect(beforeEpoch.hourIndex == -1)
        #expect(beforeEpoch.hourOfDay == 23)
        #expect(Timestamp(rfc3339: "2026-04-22T03:59:59Z")!.hourOfDay == 3)
    }
}
