import Foundation
import Testing
@testable import DistillWatchIngest

/// The one bounded whole-file reader behind the CLI's files, the server's configuration and
/// provenance datasets: every way a read fails is told apart, with the system's reason.
@Suite struct WholeFileReaderTests {
    func failure(_ path: String, maximumBytes: Int = 1 << 20) -> WholeFileReader.Failure? {
        do { _ = try WholeFileReader.read(path, maximumBytes: maximumBytes); return nil } catch { return error }
    }

    @Test func filesPipesAndDevicesAreReadWhole() throws {
        let dir = ScratchDirectory()
        let path = dir.file("policy.yaml", "minimum_exchanges: 5\n")
        #expect(try WholeFileReader.read(path, maximumBytes: 21) == Data("minimum_exchanges: 5\n".utf8))
        #expect(try WholeFileReader.read("/dev/null", maximumBytes: 10).isEmpty)
        // Larger than one read (64 KiB) and exactly at the bound.
        let big = [UInt8]((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try Data(big).write(to: URL(fileURLWithPath: dir.path + "/big"))
        #expect(try WholeFileReader.read(dir.path + "/big", maximumBytes: 200_000) == Data(big))
        // Past 1 MiB the reads are of 1 MiB: a file of 3 MiB and 5 bytes, at its bound.
        let large = Data((0..<(3 << 20) + 5).map { UInt8(truncatingIfNeeded: $0 &* 13) })
        try large.write(to: URL(fileURLWithPath: dir.path + "/large"))
        #expect(try WholeFileReader.read(dir.path + "/large", maximumBytes: (3 << 20) + 5) == large)
        // A pipe with a writer: read to its end.
        let fifo = dir.path + "/in.pipe"
        #expect(mkfifo(fifo, 0o600) == 0)
        let writer = Thread {
            let fd = open(fifo, O_WRONLY)
            _ = "from a pipe".withCString { write(fd, $0, 11) }
            close(fd)
        }
        writer.start()
        #expect(try WholeFileReader.read(fifo, maximumBytes: 11) == Data("from a pipe".utf8))
    }

    @Test func eachFailureIsToldApart() throws {
        let dir = ScratchDirectory()
        #expect(failure(dir.path + "/absent") == .missing)
        #expect(symlink(dir.path + "/absent", dir.path + "/dangling") == 0)
        #expect(failure(dir.path + "/dangling") == .missing)
        #expect(failure(dir.path) == .directory)
        // A path through a regular file: the system's reason, not "missing".
        let file = dir.file("plain", "x")
        #expect(failure(file + "/child") == .unreadable(reason: "Not a directory"))
        // A regular file past the bound is refused from its size, before any read.
        let path = dir.file("eleven", "eleven byte")
        #expect(failure(path, maximumBytes: 10) == .tooLarge(limit: 10, size: 11))
        // An endless device is refused once past the bound, not read into memory.
        #expect(failure("/dev/zero", maximumBytes: 1 << 20) == .tooLarge(limit: 1 << 20, size: nil))
        #expect(failure("/dev/zero", maximumBytes: 0) == .tooLarge(limit: 0, size: nil))
        // A pipe one byte past the bound is refused.
        let fifo = dir.path + "/in.pipe"
        #expect(mkfifo(fifo, 0o600) == 0)
        let writer = Thread {
            let fd = open(fifo, O_WRONLY)
            _ = "from a pipe".withCString { write(fd, $0, 11) }
            close(fd)
        }
        writer.start()
        #expect(failure(fifo, maximumBytes: 10) == .tooLarge(limit: 10, size: nil))
    }
}
