import DistillWatchClickHouse
import Foundation
import Testing
@testable import DistillWatchServer

/// The console's Runs page reads report entries from ClickHouse; a row that is not one is an
/// error naming the table, row and run (it was dropped, and the page listed fewer).
@Suite struct StoredRunReaderTests {
    struct Entry: Decodable, Equatable { var campaign_id: String }

    @Test func aRowThatIsNotAReportEntryIsAnErrorNotDropped() throws {
        let good = #"{"campaign_id":"c1"}"# + "\n" + #"{"campaign_id":"c2"}"# + "\n"
        #expect(try StoredRunReader.entries(good, Entry.self, table: "dw.dw_campaigns", run: "r1") == [Entry(campaign_id: "c1"), Entry(campaign_id: "c2")])
        for bad in [#"{"campaign_id":7}"#, "not json", "{}"] {
            do {
                _ = try StoredRunReader.entries(good + bad + "\n", Entry.self, table: "dw.dw_campaigns", run: "r1")
                Issue.record("\(bad): dropped or read")
            } catch {
                #expect("\(error)".contains("dw.dw_campaigns") && "\(error)".contains("row 3 of run 'r1' holds report_json that is not a report entry"), "\(error)")
            }
        }
    }
}
