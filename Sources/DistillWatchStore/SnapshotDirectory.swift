import CZlib
import DistillWatchCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a snapshot file says about itself: which engine format its payload is in, how far
/// into the event log it reaches, and under which configuration it was taken.
public struct SnapshotHeader: Sendable, Equatable {
    /// ``engineSnapshotFormat`` of the payload.
    public var engineFormat: UInt32
    /// The sequence of the last event applied before the snapshot: a restart replays the
    /// events after it.
    public var lastSequence: Int64
    /// Events applied since the log began, and exchanges accepted (the server's counters).
    public var appliedEvents: Int64
    public var acceptedExchanges: Int64
    /// When it was taken (server wall clock).
    public var takenAt: Timestamp
    /// SHA-256 of what the state depends on besides the log (the policy, the reorder
    /// settings): 32 bytes. A snapshot under another configuration is not the state the log
    /// would rebuild now.
    public var configurationDigest: [UInt8]
    /// The ``EventCounts/logID`` of the log it was taken from.
    public var logID: Int64

    public init(engineFormat: UInt32, lastSequence: Int64, appliedEvents: Int64, acceptedExchanges: Int64,
                takenAt: Timestamp, configurationDigest: [UInt8], logID: Int64) {
        self.logID = logID
        self.engineFormat = engineFormat
        self.lastSequence = lastSequence
        self.appliedEvents = appliedEvents
        self.acceptedExchanges = acceptedExchanges
        self.takenAt = takenAt
        self.configurationDigest = configurationDigest
    }
}

/// A snapshot file in a ``SnapshotDirectory``.
public struct SnapshotFile: Sendable, Equatable {
    public var path: String
    /// From the file name (the header says the same; ``SnapshotDirectory/read(_:)`` checks).
    public var lastSequence: Int64
    public var bytes: Int
}

/// The server's engine snapshots on disk: one file per snapshot, named by the last log
/// sequence it covers (`snapshot-00000000000001234567.dwsnap`).
///
/// File layout (little-endian): the 8 bytes `DWSNAP\r\n`; container version (UInt32, 1);
/// engine format (UInt32); last sequence, applied events, accepted exchanges, taken-at
/// milliseconds (Int64 each); configuration digest (32 bytes); log id (Int64); payload
/// length (UInt64); payload CRC-32 (UInt32, zlib's, ISO 3309); header CRC-32 of the 100
/// bytes before it (UInt32); then the payload (``TrafficScanner/snapshot()``'s bytes).
///
/// A snapshot is written to `NAME.tmp`, flushed with `fsync(2)`, renamed into place and the
/// directory flushed, so a crash (`kill -9`, power cut) at any moment leaves either the
/// whole file or no file under its name; leftovers `*.tmp` are removed on open.
public final class SnapshotDirectory: Sendable {
    public let path: String
    /// Free bytes a snapshot must leave on its file system (16 MiB by default): a
    /// snapshot is not written when it would take the room the event log needs to go on
    /// taking batches (the log and the snapshots usually share a disk).
    public let reservedBytes: Int
    static let magic: [UInt8] = Array("DWSNAP\r\n".utf8)
    static let containerVersion: UInt32 = 1
    static let headerSize = 104

    /// Opens (creating if needed) the directory and removes unfinished `*.tmp` files.
    /// - Throws: ``StoreError`` naming the directory when it cannot be created or read.
    public init(path: String, reservedBytes: Int = 16 << 20) throws {
        self.path = path
        self.reservedBytes = reservedBytes
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            for name in try FileManager.default.contentsOfDirectory(atPath: path) where name.hasSuffix(".tmp") {
                try? FileManager.default.removeItem(atPath: path + "/" + name)
            }
        } catch {
            throw StoreError("\(path): cannot use this directory for snapshots: \(error.localizedDescription)")
        }
    }

    /// The snapshots present, newest (highest sequence) first.
    /// - Complexity: O(files in the directory).
    public func list() -> [SnapshotFile] { listing().files }

    /// What the directory holds: its snapshots, and what was passed over.
    public struct Listing: Sendable {
        /// Snapshots, newest (highest sequence) first.
        public var files: [SnapshotFile]
        /// Why a file named like a snapshot was not listed (a sequence that is not a whole
        /// number from 0 to 2^63 − 1, as in `snapshot-99999999999999999999.dwsnap`), or why
        /// the directory could not be read; each names the path. For the start-up warnings.
        public var problems: [String]
    }

    /// The snapshots present and what was passed over (``Listing``): a file named like a
    /// snapshot but not one this server could have written is a problem to report, not
    /// silence, since an operator may have put it there to be restored.
    /// - Complexity: O(files in the directory).
    public func listing() -> Listing {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            return Listing(files: [], problems: ["\(path): cannot list the snapshot directory (\(error.localizedDescription)); no snapshot is used"])
        }
        var files: [SnapshotFile] = [], problems: [String] = []
        for name in names.sorted() where name.hasPrefix("snapshot-") && name.hasSuffix(".dwsnap") {
            let digits = name.dropFirst("snapshot-".count).dropLast(".dwsnap".count)
            let full = path + "/" + name
            guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let sequence = Int64(digits) else {
                problems.append("\(full): not a snapshot name this server writes (snapshot-, a sequence of up to 20 digits "
                                + "no greater than \(Int64.max), .dwsnap); passed over")
                continue
            }
            let size = ((try? FileManager.default.attributesOfItem(atPath: full))?[.size] as? Int) ?? 0
            files.append(SnapshotFile(path: full, lastSequence: sequence, bytes: size))
        }
        return Listing(files: files.sorted { $0.lastSequence > $1.lastSequence }, problems: problems)
    }

    /// Writes a snapshot durably (temporary file, `fsync`, rename, directory `fsync`).
    /// - Throws: ``StoreError`` naming the file and the system's reason (a full disk, no
    ///   permission); nothing is left under the final name then.
    /// - Complexity: O(payload): one CRC pass and one write.
    @discardableResult
    public func write(_ header: SnapshotHeader, payload: [UInt8]) throws -> SnapshotFile {
        let name = "snapshot-" + String(repeating: "0", count: max(0, 20 - String(header.lastSequence).count))
            + String(header.lastSequence) + ".dwsnap"
        let final = path + "/" + name, temporary = final + ".tmp"
        if let problem = spaceProblem(forSnapshotBytes: Self.headerSize + payload.count) { throw StoreError(problem) }
        var head = Self.encode(header, payloadLength: payload.count, payloadCRC: Self.crc32(payload))
        head += Self.bytes(of: Self.crc32(head))
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError("\(temporary): cannot create the snapshot: \(Self.errorText())") }
        do {
            try Self.writeAll(fd, head, path: temporary)
            try Self.writeAll(fd, payload, path: temporary)
            guard fsync(fd) == 0 else { throw StoreError("\(temporary): cannot flush the snapshot to disk: \(Self.errorText())") }
            close(fd)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, final) == 0 else {
            let reason = Self.errorText()
            unlink(temporary)
            throw StoreError("\(final): cannot put the snapshot in place: \(reason)")
        }
        let dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 { _ = fsync(dir); close(dir) }
        return SnapshotFile(path: final, lastSequence: header.lastSequence, bytes: head.count + payload.count)
    }

    /// Reads and checks a snapshot: its magic, container version, both CRCs, its length and
    /// that its header matches its name.
    /// - Throws: ``StoreError`` naming the file and what is wrong (truncated, damaged, of an
    ///   unknown container version).
    /// - Complexity: O(file size).
    public func read(_ file: SnapshotFile) throws -> (header: SnapshotHeader, payload: [UInt8]) {
        // Without blocking: opening a FIFO put there for reading would wait for a writer, and
        // the server would never start.
        let fd = open(file.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw StoreError("\(file.path): cannot open: \(Self.errorText())") }
        defer { close(fd) }
        var kind = stat()
        guard fstat(fd, &kind) == 0 else { throw StoreError("\(file.path): cannot read its type: \(Self.errorText())") }
        guard kind.st_mode & S_IFMT == S_IFREG else { throw StoreError("\(file.path): not a regular file, so not a snapshot") }
        let head = try Self.readExactly(fd, Self.headerSize, path: file.path, what: "its header")
        guard Array(head[0..<8]) == Self.magic else { throw StoreError("\(file.path): not a DistillWatch snapshot (no DWSNAP header)") }
        guard Self.crc32(Array(head[0..<100])) == Self.load(UInt32.self, head, 100) else {
            throw StoreError("\(file.path): the header is damaged (CRC-32 mismatch)")
        }
        let version = Self.load(UInt32.self, head, 8)
        guard version == Self.containerVersion else {
            throw StoreError("\(file.path): snapshot container version \(version); this version reads \(Self.containerVersion)")
        }
        let header = SnapshotHeader(engineFormat: Self.load(UInt32.self, head, 12), lastSequence: Self.load(Int64.self, head, 16),
                                    appliedEvents: Self.load(Int64.self, head, 24), acceptedExchanges: Self.load(Int64.self, head, 32),
                                    takenAt: Timestamp(millisecondsSinceEpoch: Self.load(Int64.self, head, 40)),
                                    configurationDigest: Array(head[48..<80]), logID: Self.load(Int64.self, head, 80))
        guard header.lastSequence == file.lastSequence else {
            throw StoreError("\(file.path): the header says sequence \(header.lastSequence), the name \(file.lastSequence)")
        }
        let length = Self.load(UInt64.self, head, 88)
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StoreError("\(file.path): cannot read its size: \(Self.errorText())") }
        guard length <= UInt64(Int.max), UInt64(st.st_size) == UInt64(Self.headerSize) + length else {
            throw StoreError("\(file.path): \(st.st_size) bytes, but the header announces \(Self.headerSize) + \(length) (truncated?)")
        }
        let payload = try Self.readExactly(fd, Int(length), path: file.path, what: "its \(length)-byte payload")
        guard Self.crc32(payload) == Self.load(UInt32.self, head, 96) else {
            throw StoreError("\(file.path): the payload is damaged (CRC-32 mismatch)")
        }
        return (header, payload)
    }

    /// Renames a snapshot out of the listing (`NAME.set-aside`), keeping its bytes for an
    /// operator: one of another database, or reaching past the log. - Returns: the new path.
    @discardableResult
    public func setAside(_ file: SnapshotFile) -> String? {
        let target = file.path + ".set-aside"
        return rename(file.path, target) == 0 ? target : nil
    }

    /// Deletes all but the newest `count` snapshots. - Returns: the files deleted.
    @discardableResult
    public func prune(keeping count: Int) -> [SnapshotFile] {
        let old = Array(list().dropFirst(max(1, count)))
        for f in old { unlink(f.path) }
        return old
    }

    // MARK: Bytes

    static func encode(_ h: SnapshotHeader, payloadLength: Int, payloadCRC: UInt32) -> [UInt8] {
        var out = magic
        out += bytes(of: containerVersion)
        out += bytes(of: h.engineFormat)
        out += bytes(of: h.lastSequence)
        out += bytes(of: h.appliedEvents)
        out += bytes(of: h.acceptedExchanges)
        out += bytes(of: h.takenAt.millisecondsSinceEpoch)
        out += (h.configurationDigest + [UInt8](repeating: 0, count: 32)).prefix(32)
        out += bytes(of: h.logID)
        out += bytes(of: UInt64(payloadLength))
        out += bytes(of: payloadCRC)
        return out
    }

    static func bytes<T: FixedWidthInteger>(of value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    static func load<T: FixedWidthInteger>(_: T.Type, _ bytes: [UInt8], _ offset: Int) -> T {
        T(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) })
    }

    /// zlib's CRC-32, fed in chunks (its length argument is 32-bit).
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            var crc = CZlib.crc32(0, nil, 0)
            var offset = 0
            while offset < buffer.count {
                let n = min(buffer.count - offset, 1 << 30)
                crc = CZlib.crc32(crc, buffer.baseAddress! + offset, uInt(n))
                offset += n
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, min(raw.count - offset, 1 << 24))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw StoreError("\(path): cannot write the snapshot: \(errorText())")
                }
                offset += n
            }
        }
    }

    static func readExactly(_ fd: Int32, _ count: Int, path: String, what: String) throws -> [UInt8] {
        var failure: String?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var offset = 0
            while offset < count {
                let n = Glibc.read(fd, buffer.baseAddress! + offset, min(count - offset, 1 << 24))
                if n < 0, errno == EINTR { continue }
                if n <= 0 {
                    failure = n == 0 ? "the file ends before \(what) (truncated)" : "cannot read \(what): \(errorText())"
                    break
                }
                offset += n
            }
            initialized = offset
        }
        if let failure { throw StoreError("\(path): \(failure)") }
        return bytes
    }

    static func errorText() -> String { String(cString: strerror(errno)) }

    /// Why a snapshot of about `bytes` bytes must not be written now: it would leave less
    /// than ``reservedBytes`` free for the event log. `nil` when it fits (or the free space
    /// cannot be read).
    public func spaceProblem(forSnapshotBytes bytes: Int) -> String? {
        guard let free = freeBytes(), free < bytes + reservedBytes else { return nil }
        return """
            \(path): not enough free space for a snapshot of about \(bytes) bytes (\(free) free; \(reservedBytes) are \
            kept for the event log); free some space
            """
    }

    /// Bytes an unprivileged writer may still use on the directory's file system.
    public func freeBytes() -> Int? {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return nil }
        return Int(s.f_bavail) * Int(s.f_frsize)
    }
}
