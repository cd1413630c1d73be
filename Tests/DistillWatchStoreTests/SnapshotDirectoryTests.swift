import DistillWatchCore
import Foundation
import Testing
@testable import DistillWatchStore

/// Snapshot files: written whole or not at all, read back only when every check passes,
/// each failure named.
@Suite struct SnapshotDirectoryTests {
    func header(_ sequence: Int64) -> SnapshotHeader {
        SnapshotHeader(engineFormat: engineSnapshotFormat, lastSequence: sequence, appliedEvents: sequence, acceptedExchanges: sequence - 1,
                       takenAt: Timestamp(millisecondsSinceEpoch: 1_772_409_600_000), configurationDigest: Array(repeating: 7, count: 32),
                       logID: 0x1234_5678_9ABC)
    }

    @Test func aSnapshotReadsBackAsWritten() throws {
        let dir = ScratchDirectory()
        let snapshots = try SnapshotDirectory(path: dir.path + "/snaps")
        let payload = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let file = try snapshots.write(header(42), payload: payload)
        #expect(file.bytes == SnapshotDirectory.headerSize + payload.count)
        #expect(file.path.hasSuffix("/snapshot-00000000000000000042.dwsnap"))
        let (h, p) = try snapshots.read(try #require(snapshots.list().first))
        #expect(h == header(42))
        #expect(p == payload)
    }

    @Test func listIsNewestFirstAndPruneKeepsTheNewest() throws {
        let dir = ScratchDirectory()
        let snapshots = try SnapshotDirectory(path: dir.path)
        for s: Int64 in [5, 300, 40] { try snapshots.write(header(s), payload: [1, 2, 3]) }
        FileManager.default.createFile(atPath: dir.path + "/notes.txt", contents: Data("x".utf8))
        #expect(snapshots.list().map(\.lastSequence) == [300, 40, 5])
        #expect(snapshots.prune(keeping: 2).map(\.lastSequence) == [5])
        #expect(snapshots.list().map(\.lastSequence) == [300, 40])
    }

    @Test func unfinishedFilesAreRemovedOnOpen() throws {
        let dir = ScratchDirectory()
        FileManager.default.createFile(atPath: dir.path + "/snapshot-00000000000000000009.dwsnap.tmp", contents: Data([1, 2]))
        let snapshots = try SnapshotDirectory(path: dir.path)
        #expect(snapshots.list().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    /// Each kind of damage is refused with a message naming the file and the problem.
    @Test func damageIsRefusedWithTheReason() throws {
        let dir = ScratchDirectory()
        let snapshots = try SnapshotDirectory(path: dir.path)
        let file = try snapshots.write(header(7), payload: Array(repeating: 9, count: 5_000))
        let original = try Data(contentsOf: URL(fileURLWithPath: file.path))
        func refused(_ bytes: Data, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            try bytes.write(to: URL(fileURLWithPath: file.path))
            let listed = try #require(snapshots.list().first)
            #expect(sourceLocation: sourceLocation) { try snapshots.read(listed) } throws: { error in
                "\(error)".contains(file.path) && "\(error)".contains(expected)
            }
        }
        var payloadFlip = original
        payloadFlip[2_000] ^= 1
        try refused(payloadFlip, "the payload is damaged (CRC-32 mismatch)")
        var headerFlip = original
        headerFlip[20] ^= 1
        try refused(headerFlip, "the header is damaged (CRC-32 mismatch)")
        try refused(original.prefix(3_000), "truncated")
        try refused(original.prefix(50), "the file ends before its header (truncated)")
        try refused(Data("PK\u{03}\u{04}".utf8) + original.dropFirst(4), "not a DistillWatch snapshot")
        try refused(Data(), "the file ends before its header")
    }

    @Test func aWriteThatFailsLeavesNothingUnderTheName() throws {
        let dir = ScratchDirectory()
        let snapshots = try SnapshotDirectory(path: dir.path + "/snaps")
        try FileManager.default.removeItem(atPath: dir.path + "/snaps")
        #expect { try snapshots.write(header(3), payload: [1]) } throws: { "\($0)".contains("cannot create the snapshot") }
        #expect(snapshots.list().isEmpty)
    }
}
