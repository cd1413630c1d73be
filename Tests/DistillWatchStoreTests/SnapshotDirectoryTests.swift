import DistillWatchCore
import Foundation
import Synchronization
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

    /// A file named like a snapshot whose sequence this server could not have written (past
    /// 2^63 − 1, signed, not digits) is passed over with a problem naming it, not silently.
    @Test func namesThatAreNotSnapshotsAreProblemsNamingTheFile() throws {
        let dir = ScratchDirectory()
        let snapshots = try SnapshotDirectory(path: dir.path)
        try snapshots.write(header(7), payload: [1])
        let odd = ["snapshot-99999999999999999999.dwsnap", "snapshot-+5.dwsnap", "snapshot-x1.dwsnap", "snapshot-.dwsnap"]
        for name in odd { FileManager.default.createFile(atPath: dir.path + "/" + name, contents: Data("x".utf8)) }
        FileManager.default.createFile(atPath: dir.path + "/notes.txt", contents: Data("x".utf8))
        let listing = snapshots.listing()
        #expect(listing.files.map(\.lastSequence) == [7])
        #expect(listing.problems.count == odd.count, "\(listing.problems)")
        for name in odd {
            #expect(listing.problems.contains { $0.hasPrefix(dir.path + "/" + name + ": not a snapshot name this server writes") }, "\(name)")
        }
        // The largest sequence there is still reads as one.
        FileManager.default.createFile(atPath: dir.path + "/snapshot-09223372036854775807.dwsnap", contents: Data("x".utf8))
        #expect(snapshots.listing().files.first?.lastSequence == Int64.max)
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

    /// Something under a snapshot's name that is not a regular file (a FIFO, a directory)
    /// is refused at once: opening a FIFO for reading used to wait for a writer, and the
    /// server never started.
    @Test func whatIsNotARegularFileIsRefusedWithoutWaiting() throws {
        let dir = ScratchDirectory()
        let snapshots = try SnapshotDirectory(path: dir.path)
        let fifo = dir.path + "/snapshot-00000000000000009999.dwsnap"
        #expect(mkfifo(fifo, 0o600) == 0)
        try FileManager.default.createDirectory(atPath: dir.path + "/snapshot-00000000000000000005.dwsnap", withIntermediateDirectories: false)
        #expect(snapshots.list().map(\.lastSequence) == [9999, 5])
        for file in snapshots.list() {
            // On a thread, so that a read that blocks fails the test instead of hanging it.
            let done = DispatchSemaphore(value: 0)
            let outcome = Mutex<String?>(nil)
            Thread.detachNewThread {
                do { _ = try snapshots.read(file); outcome.withLock { $0 = "read" } } catch { outcome.withLock { $0 = "\(error)" } }
                done.signal()
            }
            if done.wait(timeout: .now() + 20) == .timedOut {
                Issue.record("reading \(file.path) blocked")
                let writer = open(fifo, O_WRONLY | O_NONBLOCK)  // lets the blocked open return
                if writer >= 0 { close(writer) }
                done.wait()
            }
            #expect(outcome.withLock { $0 } == "\(file.path): not a regular file, so not a snapshot")
        }
    }

    @Test func aWriteThatFailsLeavesNothingUnderTheName() throws {
        let dir = ScratchDirectory()
        let snapshots = try SnapshotDirectory(path: dir.path + "/snaps")
        try FileManager.default.removeItem(atPath: dir.path + "/snaps")
        #expect { try snapshots.write(header(3), payload: [1]) } throws: { "\($0)".contains("cannot create the snapshot") }
        #expect(snapshots.list().isEmpty)
    }
}
