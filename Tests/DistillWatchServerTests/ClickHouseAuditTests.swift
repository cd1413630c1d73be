import DistillWatchClickHouse
import DistillWatchCore
import DistillWatchStore
import Foundation
import Testing
@testable import DistillWatchServer

/// The decision audit's copy to ClickHouse (`decision_audit_clickhouse`): its rows, and what
/// it does while ClickHouse cannot be reached.
@Suite struct ClickHouseAuditTests {
    static func entry(_ account: String, at ms: Int64 = 1_775_000_000_123) -> DecisionAuditEntry {
        DecisionAuditEntry(at: Timestamp(millisecondsSinceEpoch: ms), accountID: account, verdict: .block, score: 0.91,
                           reasons: ["output_volume", "campaign_membership"], endpoint: "decide", caller: "gateway",
                           requestID: nil, directives: ["refused:block"])
    }

    @Test func rowsMatchTheTableDistillWatchCreates() throws {
        let data = try ClickHouseAuditSink.rows([Self.entry("acct-1")], node: "1/2",
                                                writtenAt: Timestamp(millisecondsSinceEpoch: 1_775_000_001_000))
        let row = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(row["node"] as? String == "1/2" && row["account_id"] as? String == "acct-1" && row["verdict"] as? String == "block")
        #expect(row["at"] as? Int == 1_775_000_000 && row["at_ms"] as? Int == 1_775_000_000_123 && row["written_at"] as? Int == 1_775_000_001)
        #expect(row["reasons"] as? [String] == ["output_volume", "campaign_membership"] && row["request_id"] as? String == "")
        // Every column of dw_decisions is written, and nothing else.
        let table = try #require(ClickHouseResultStore.tables.first { $0.name == "dw_decisions" })
        let columns = Set(table.columns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")[0] }.map(String.init))
        #expect(Set(row.keys) == columns)
    }

    @Test func rowsWaitWhileClickHouseIsDownAndTheOldestGoPastTheBound() async throws {
        let sink = ClickHouseAuditSink(endpoint: try ClickHouseEndpoint(parsing: "clickhouse://127.0.0.1:1/dw"), node: "all",
                                       capacity: 3, metrics: ServerMetrics(), clock: .system, logger: quietLogger,
                                       connectTimeout: .milliseconds(200))
        sink.enqueue([Self.entry("a"), Self.entry("b")])
        await sink.flush()
        #expect(sink.queued == 2 && sink.written == 0 && sink.dropped == 0, "kept for the next try")
        sink.enqueue([Self.entry("c"), Self.entry("d")])
        #expect(sink.queued == 3 && sink.dropped == 1, "the oldest dropped past the bound, and counted")
    }

    @Test func theSettingIsChecked() {
        var c = testConfiguration()
        c.decisionAuditClickHouse = "clickhouse://ch:8123/dw.table"
        #expect(throws: ConfigurationError.self) { try c.validate() }
        c.decisionAuditClickHouse = "clickhouse://ch:8123/dw"
        c.decisionAudit = .none
        let error = #expect(throws: ConfigurationError.self) { try c.validate() }
        #expect(error?.description.contains("decision_audit is none") == true)
        c.decisionAudit = .flagged
        #expect(throws: Never.self) { try c.validate() }
    }
}
