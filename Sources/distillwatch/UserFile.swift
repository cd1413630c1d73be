import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Files a user names on the command line (policies, bundles, reports, key files, sign-offs):
/// read whole, with an error that says which file, what it was meant to be and why it cannot
/// be read, in the operating system's words (`strerror(3)`), rather than a guess.
enum UserFile {
    /// The most read from one such file: 1 GiB (these are configuration and exchange files,
    /// not traffic, which is streamed).
    static let maximumBytes = 1 << 30

    /// The whole file at `path`. A character device or a pipe (`/dev/null`, `<(…)`) is read
    /// to its end like a file.
    /// - Parameters:
    ///   - what: what the file should be, for the message ("policy file", "bundle").
    ///   - maximumBytes: the most it may hold (an endless device such as `/dev/zero` is
    ///     refused once past it, not read into memory).
    /// - Throws: ``ScanFailure`` naming the path: missing, a directory, unreadable (with the
    ///   system's reason), or larger than ``maximumBytes``.
    /// - Complexity: O(file size).
    static func read(_ path: String, what: String, maximumBytes: Int = UserFile.maximumBytes) throws -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ScanFailure("\(path): no such file (the \(what))")
        }
        guard !isDirectory.boolValue else { throw ScanFailure("\(path): is a directory, not a \(what)") }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ScanFailure("\(path): cannot open the \(what): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw ScanFailure("\(path): cannot read the \(what): \(String(cString: strerror(errno)))")
            }
            guard data.count + n <= maximumBytes else {
                throw ScanFailure("\(path): larger than \(maximumBytes) bytes; not a \(what)")
            }
            data.append(contentsOf: chunk[0..<n])
        }
        return data
    }
}
