import Testing
@testable import DistillWatchCore

/// ``ReorderBuffer`` with request-id merging: two views of one request join, per account,
/// and a client reusing one id cannot make its traffic disappear.
@Suite struct ReorderBufferMergeTests {
    static func exchange(_ account: String, _ id: String?, at second: Int64, output: Int? = nil, model: String? = nil) -> Exchange {
        var e = Exchange(time: Timestamp(millisecondsSinceEpoch: 1_795_000_000_000 + second * 1000), accountID: account)
        e.requestID = id
        e.outputTokens = output
        e.model = model
        return e
    }

    static func run(_ input: [Exchange], tolerance: Int64 = 60_000) -> (out: [Exchange], buffer: ReorderBuffer) {
        var buffer = ReorderBuffer(toleranceMilliseconds: tolerance, mergesRequestIDs: true)
        var out: [Exchange] = []
        for e in input { buffer.push(e) { out.append($0) } }
        buffer.drain { out.append($0) }
        return (out, buffer)
    }

    /// A guardrail's view (model) and a log's view (output tokens) of one request become one
    /// exchange with both; a redelivered copy after release is dropped once.
    @Test func twoViewsOfOneRequestJoin() {
        let (out, buffer) = Self.run([
            Self.exchange("a", "r1", at: 0, model: "m"), Self.exchange("a", "r1", at: 1, output: 50),
            Self.exchange("a", "r2", at: 200), Self.exchange("a", "r1", at: 201, output: 50),
        ])
        #expect(out.count == 2)
        #expect(out[0].model == "m" && out[0].outputTokens == 50)
        #expect(buffer.mergedExchanges == 1 && buffer.duplicateExchanges == 1)
    }

    /// The same id under another account is another request: nobody merges into, or drops,
    /// another account's exchanges.
    @Test func idsAreKeyedByAccount() {
        let (out, buffer) = Self.run((0..<5).map { Self.exchange("acct-\($0)", "same-span-id", at: Int64($0)) })
        #expect(out.count == 5)
        #expect(Set(out.map(\.accountID)).count == 5)
        #expect(buffer.mergedExchanges == 0 && buffer.duplicateExchanges == 0)
    }

    /// 300 requests of one account with one reused id, within and across the reorder
    /// window: at least every other one counts (one merge per waiting record, one dropped
    /// duplicate per released one), where before they collapsed into one exchange forever.
    @Test func aReusedIDCannotHideTraffic() {
        let input = (0..<300).map { Self.exchange("evader", "same-id-every-time", at: Int64($0) * 2) }
        let (out, buffer) = Self.run(input)
        #expect(out.count >= 150, "\(out.count) exchanges counted of 300")
        #expect(out.count + buffer.mergedExchanges + buffer.duplicateExchanges == 300)
    }
}
