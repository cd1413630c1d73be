import ArgumentParser
import DistillWatchCore
import Testing
@testable import distillwatch

/// `--since` and `--until` read an epoch number as a record's `time` is read: the unit by
/// its magnitude. Epoch seconds were taken for milliseconds, a window in January 1970:
/// `--until` then scanned nothing and exited 0, `--since` read the whole table.
@Suite struct ClickHouseSourceOptionsTests {
    func window(_ arguments: [String]) throws -> (since: Timestamp?, until: Timestamp?) {
        let w = try ClickHouseSourceOptions.parse(["--source", "clickhouse://localhost/db.traffic"] + arguments).window()
        return (w.since, w.until)
    }

    @Test func epochNumbersAreReadInTheUnitTheirMagnitudeImplies() throws {
        let newYear = Timestamp(millisecondsSinceEpoch: 1_767_225_600_000)   // 2026-01-01T00:00:00Z
        for text in ["1767225600", "1767225600000", "1767225600000000", "1767225600000000000", "2026-01-01T00:00:00Z"] {
            #expect(try window(["--since", text]).since == newYear, "\(text)")
            #expect(try window(["--until", text]).until == newYear, "\(text)")
        }
    }

    @Test func aNumberThatIsNoTimeIsRefusedNamingTheOption() {
        for text in ["0", "-1767225600", "17672256", "99999999999999999"] {
            #expect(throws: (any Error).self, "\(text)") { try window(["--until=" + text]) }
            do { _ = try window(["--until=" + text]) } catch {
                #expect(ClickHouseSourceOptions.message(for: error).contains("--until '\(text)'"), "\(error)")
            }
        }
    }
}
