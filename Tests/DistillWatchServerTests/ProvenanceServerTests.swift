import DistillWatchCore
import DistillWatchStore
import Foundation
import HummingbirdTesting
import Testing
@testable import DistillWatchServer

/// With `provenance_index` on, the answers of ingested exchanges are kept as keyed sketches
/// in the server's database, in the exchanges' transaction, never as text; the database is
/// then a provenance index (Documentation/Provenance.md).
@Suite struct ProvenanceServerTests {
    static let key = ContentKey(hex: "00112233445566778899aabbccddeeff")!

    @Test func answersAreSketchedNeverStoredAndTheDatabaseIsAnIndex() async throws {
        let dir = ScratchDirectory()
        var c = testConfiguration()
        c.database = dir.path + "/state.sqlite"
        c.provenanceIndex = true
        c.sketcher = ContentSketcher(key: Self.key)
        let answer = "CANARY-ANSWER the boundary condition holds because the integral of the kernel over the unit ball is finite and "
            + "bounded by the constant 4417, so the sequence converges uniformly on every compact subset of the domain"
        let lines = [
            #"{"time":"2026-06-01T10:00:00Z","account_id":"acct-p","request_id":"r-1","model":"m1","response":"\#(answer)"}"#,
            #"{"time":"2026-06-01T10:00:05Z","account_id":"acct-q","request_id":"r-2","model":"m1"}"#,
        ].joined(separator: "\n")
        let configuration = c
        let status = try await withServer(.router, configuration) { client in
            try await client.post("/v1/exchanges", Secret.ingest, lines).status
        }
        #expect(status == .ok)
        let index = try ProvenanceIndex(path: c.database, create: false)
        #expect(try index.keyFingerprint() == ProvenanceIndex.fingerprint(Self.key))
        #expect(try index.summary().count == 1, "one exchange carried an answer")
        var sketches: [(Int64, ResponseSketch)] = []
        try index.forEachSketch { sketches.append(($0, $1)) }
        let record = ResponseSketch.of(answer, key: Self.key)!
        #expect(sketches.first?.1 == record)
        let served = try index.responses(ids: [sketches[0].0])
        #expect(served.values.first?.accountID == "acct-p" && served.values.first?.requestID == "r-1")
        try index.close()
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            let data = (try? Data(contentsOf: URL(fileURLWithPath: dir.path + "/" + name))) ?? Data()
            #expect(data.range(of: Data("CANARY-ANSWER".utf8)) == nil, "\(name) holds the answer's text")
        }
        // Another content key on the same database is refused at start.
        c.sketcher = ContentSketcher(key: ContentKey(k0: 1, k1: 2))
        let otherKey = c
        await #expect(throws: StoreError.self) { try await withServer(.router, otherKey) { _ in } }
        c.sketcher = nil
        #expect(throws: ConfigurationError.self) { try c.validate() }
    }
}
