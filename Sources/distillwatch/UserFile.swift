import ArgumentParser
import DistillWatchIngest
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
        do {
            return try WholeFileReader.read(path, maximumBytes: maximumBytes)
        } catch {
            throw failure(error, path: path, what: what)
        }
    }

    /// The whole file at `path`, or `nil` when nothing is there (`ENOENT`): for files a
    /// command makes on its first run (`share pull --state`). Anything else that stops the
    /// read is an error, so that an unreadable file is not taken for a missing one.
    /// - Throws: ``ScanFailure`` as ``read(_:what:maximumBytes:)``, but never for a missing file.
    static func readIfPresent(_ path: String, what: String, maximumBytes: Int = UserFile.maximumBytes) throws -> Data? {
        do {
            return try WholeFileReader.read(path, maximumBytes: maximumBytes)
        } catch .missing {
            return nil
        } catch {
            throw failure(error, path: path, what: what)
        }
    }

    private static func failure(_ error: WholeFileReader.Failure, path: String, what: String) -> ScanFailure {
        switch error {
        case .missing: ScanFailure("\(path): no such file (the \(what))")
        case .directory: ScanFailure("\(path): is a directory, not a \(what)")
        case .tooLarge(let limit, _): ScanFailure("\(path): larger than \(limit) bytes; not a \(what)")
        case .unreadable(let reason): ScanFailure("\(path): cannot read the \(what): \(reason)")
        }
    }

    /// Writes `data` to `path` for the user (a report): a regular file, new or replaced, is
    /// written whole or not at all (a temporary file beside it, then `rename(2)`), through
    /// a symbolic link to its target; anything else that exists there (`/dev/null`,
    /// `/dev/stdout`, a pipe) is written to as it is. Renaming over a device would replace
    /// it: run as root, `--out /dev/null` left a regular file at `/dev/null`.
    /// - Parameter what: what the file is, for the message ("HTML report").
    /// - Throws: ``ScanFailure`` naming the path: a directory, or the system's reason it
    ///   cannot be written (`strerror(3)`).
    /// - Complexity: O(data size).
    static func write(_ data: Data, to path: String, what: String) throws {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        var status = stat()
        var mode = mode_t(0o666)
        if stat(target, &status) == 0 {
            switch status.st_mode & S_IFMT {
            case S_IFDIR:
                throw ScanFailure("\(path): is a directory; give a file path for the \(what)")
            case S_IFREG:
                mode = status.st_mode & 0o7777
            default:
                try writeInPlace(data, to: target, shownAs: path, what: what)
                return
            }
        } else {
            let mask = umask(0)
            umask(mask)
            mode &= ~mask
        }
        try writeWhole(data, to: target, mode: mode, shownAs: path, what: what)
    }

    /// Writes a regular file whole or not at all: `mkstemp(3)` beside `target`, the bytes,
    /// `fchmod(2)` to `mode` (the replaced file's, or 0666 less the umask for a new one),
    /// then `rename(2)` over `target`. The temporary file is removed on any failure, and the
    /// message carries the failing call's `errno` (no probe of the target that could leave
    /// an empty file behind).
    private static func writeWhole(_ data: Data, to target: String, mode: mode_t, shownAs shown: String, what: String) throws {
        let folder = (target as NSString).deletingLastPathComponent
        let name = (target as NSString).lastPathComponent
        var template = Array(((folder.isEmpty ? "." : folder) + "/." + name + ".XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw ScanFailure("\(shown): cannot write the \(what): \(String(cString: strerror(errno)))")
        }
        let temporary = String(cString: template)
        var isOpen = true
        do {
            try writeAll(data, to: fd, shownAs: shown, what: what)
            guard fchmod(fd, mode) == 0 else {
                throw ScanFailure("\(shown): cannot write the \(what): \(String(cString: strerror(errno)))")
            }
            isOpen = false
            // close(2) reports a write the file system deferred (NFS, a full quota).
            guard close(fd) == 0 else {
                throw ScanFailure("\(shown): cannot write the \(what): \(String(cString: strerror(errno)))")
            }
        } catch {
            if isOpen { close(fd) }
            unlink(temporary)
            throw error
        }
        guard rename(temporary, target) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw ScanFailure("\(shown): cannot write the \(what): \(reason)")
        }
    }

    /// Writes `data` to the device or pipe at `path`, retrying short writes and `EINTR`.
    private static func writeInPlace(_ data: Data, to path: String, shownAs shown: String, what: String) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ScanFailure("\(shown): cannot open the \(what) for writing: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        try writeAll(data, to: fd, shownAs: shown, what: what)
    }

    /// Writes every byte of `data` to `fd`, retrying short writes and `EINTR`.
    private static func writeAll(_ data: Data, to fd: Int32, shownAs shown: String, what: String) throws {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ScanFailure("\(shown): cannot write the \(what): \(String(cString: strerror(errno)))")
                }
                offset += n
            }
        }
    }

    /// A file as the system knows it: its device and inode when it exists, else its
    /// absolute path with links in its folders resolved.
    enum Identity: Hashable {
        case file(device: UInt64, inode: UInt64)
        case path(String)
    }

    /// The identity of `path`, or `nil` when writing to it cannot destroy anything a
    /// command reads: standard output (`-`), a device or a pipe (`/dev/null` may take every
    /// output of a run).
    static func identity(_ path: String) -> Identity? {
        guard path != "-" else { return nil }
        var status = stat()
        if stat(path, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFREG else { return nil }
            return .file(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
        }
        return .path(URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path)
    }

    /// Refuses, before anything is read or written, an output that is one of the command's
    /// inputs (`scan t.jsonl --json t.jsonl` replaced the traffic with the report; `share
    /// export --out` the sharing key file) or two outputs that are one file (only the last
    /// written would remain). Paths are compared as files (device and inode, through links),
    /// not as text.
    /// - Parameters:
    ///   - outputs: each output option's name (`--json`) and path, `nil` when not given.
    ///   - inputs: what each input is ("traffic file") and its path.
    /// - Throws: ``ScanFailure`` naming both paths and what they are.
    /// - Complexity: O(outputs × inputs) `stat` calls.
    static func refuseClashes(outputs: [(option: String, path: String?)], inputs: [(what: String, path: String?)]) throws {
        let sources = inputs.compactMap { input in input.path.flatMap { p in identity(p).map { (input.what, p, $0) } } }
        var written: [(String, String, Identity)] = []
        for output in outputs {
            guard let path = output.path, let id = identity(path) else { continue }
            if let (what, input, _) = sources.first(where: { $0.2 == id }) {
                throw ScanFailure("\(output.option) \(path) is the \(what) \(input): writing there would destroy it; give another path")
            }
            if let (option, other, _) = written.first(where: { $0.2 == id }) {
                throw ScanFailure("\(option) \(other) and \(output.option) \(path) are one file: give each output its own path")
            }
            written.append((output.option, path, id))
        }
    }

    /// Refuses standard input given to two of a command's inputs (`scan - --accounts -`):
    /// the first read empties it, and the second then "is empty". `/dev/stdin` counts as `-`.
    /// - Parameter inputs: what each input is ("traffic file") and its path.
    /// - Throws: `ValidationError` naming both inputs.
    static func refuseStandardInputTwice(_ inputs: [(what: String, path: String?)]) throws {
        let readers = inputs.filter { $0.path == "-" || $0.path == "/dev/stdin" || $0.path == "/proc/self/fd/0" }
        guard readers.count > 1 else { return }
        throw ValidationError("standard input is given as the \(readers[0].what) and as the \(readers[1].what): it can be read only once; give one of them a file")
    }

    /// Refuses two outputs written to standard output (`--json - --sightings -` gave two
    /// JSON documents one after the other).
    /// - Throws: `ValidationError` naming both options.
    static func refuseStandardOutputTwice(_ outputs: [(option: String, path: String?)]) throws {
        let writers = outputs.filter { $0.path == "-" }
        guard writers.count > 1 else { return }
        throw ValidationError("\(writers[0].option) - and \(writers[1].option) - both write to standard output: give one of them a file")
    }

    /// Refuses an input a command must read twice (two passes) when it is not a regular
    /// file: standard input or a pipe (`<(zcat t.gz)`) gives nothing the second time.
    /// - Throws: `ValidationError` naming the option and why it is read twice.
    static func requireRereadable(_ path: String, option: String, why: String) throws {
        var status = stat()
        let regular = path != "-" && stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFREG
        // A path that does not exist is left to the reader, which names it.
        guard !regular, path == "-" || stat(path, &status) == 0 else { return }
        throw ValidationError("\(option) \(path): \(why), so it must be a regular file, not standard input or a pipe")
    }

    /// Refuses a file named twice among `paths` (compared as files, through links).
    /// - Throws: ``ScanFailure`` naming both spellings and `consequence`.
    static func refuseRepeats(_ paths: [String], what: String, consequence: String) throws {
        var seen: [Identity: String] = [:]
        for path in paths {
            guard let id = identity(path), case .file = id else { continue }
            if let first = seen[id] {
                throw ScanFailure("\(path) is the \(what) \(first) again: \(consequence); give each file once")
            }
            seen[id] = path
        }
    }
}
