import DistillWatchTestSupport
import Foundation
import Testing

/// `share export` refuses a bundle that would name no producer: a STIX identity's name is
/// required (STIX 2.1, section 4.2), and a blank one tells recipients nothing.
@Suite struct ShareExportArgumentTests {
    @Test func aBlankProducerIsAUsageError() throws {
        for producer in ["", "   "] {
            let r = try run(["share", "export", "--report", "/nonexistent/report.json", "--traffic", "/nonexistent/t.jsonl",
                             "--all-flagged", "--producer", producer])
            #expect(r.status == 64, "\(r.stderr)")
            #expect(r.stderr.contains("--producer must name the producer"), "\(r.stderr)")
        }
    }
}
