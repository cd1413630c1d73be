import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a file named by a user or a configuration (a policy, a bundle, a dataset, a key
/// file) whole, up to a bound, and says in the system's words why it cannot. Traffic is
/// streamed instead (``LineReader``); this is for files a command needs all of at once.
///
/// One reader serves the CLI (`UserFile`), the server's configuration and the provenance
/// datasets: each caller keeps its own error type and wording and maps ``Failure`` to it.
public enum WholeFileReader {
    /// Why a file could not be read whole.
    public enum Failure: Error, Equatable, Sendable {
        /// Nothing at the path (`ENOENT`, or a link to nothing).
        case missing
        /// The path names a directory.
        case directory
        /// More than `limit` bytes: a regular file's size (`size`), or a pipe or device
        /// read past the limit (`size == nil`; `/dev/zero` is refused, not read into memory).
        case tooLarge(limit: Int, size: Int?)
        /// The system's reason (`strerror(3)`) the file cannot be opened or read.
        case unreadable(reason: String)
    }

    /// The bytes of the file at `path`: a regular file, or a pipe (`<(…)`) or character
    /// device read to its end.
    ///
    /// The bytes are read straight into the returned `Data`: a regular file's storage is
    /// reserved from its size, so peak memory is the file and one read's room (1 MiB), not
    /// two copies of it.
    /// - Parameter maximumBytes: the most read (bytes); a regular file larger than this is
    ///   refused from its size, before a byte is read.
    /// - Throws: ``Failure``: `missing`, `directory`, `tooLarge` or `unreadable`.
    /// - Complexity: O(file size); one `open(2)`, one `fstat(2)`, reads of 64 KiB (1 MiB for a
    ///   file past 1 MiB), retried on `EINTR`.
    public static func read(_ path: String, maximumBytes: Int) throws(Failure) -> Data {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw code == ENOENT ? .missing : .unreadable(reason: String(cString: strerror(code)))
        }
        defer { close(fd) }
        var status = stat()
        var expected = 0
        if fstat(fd, &status) == 0 {
            switch status.st_mode & S_IFMT {
            case S_IFDIR:
                throw .directory
            case S_IFREG:
                let size = Int(status.st_size)
                if size > maximumBytes { throw .tooLarge(limit: maximumBytes, size: size) }
                expected = size
            default:
                break
            }
        }
        let step = expected > 1 << 20 ? 1 << 20 : 1 << 16
        var bytes = Data()
        // Room for the file and the read that finds its end, so that read does not move it.
        bytes.reserveCapacity(expected + step)
        while true {
            let start = bytes.count
            let left = maximumBytes - start
            // One byte past the bound is enough to know a pipe or device is too large.
            let room = left < step ? left + 1 : step
            bytes.count = start + room
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + start, room) }
            bytes.count = start + max(n, 0)
            if n == 0 { return bytes }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                // Reading a directory's descriptor fails with EISDIR where fstat did not tell.
                if code == EISDIR { throw .directory }
                throw .unreadable(reason: String(cString: strerror(code)))
            }
            guard bytes.count <= maximumBytes else { throw .tooLarge(limit: maximumBytes, size: nil) }
        }
    }
}
