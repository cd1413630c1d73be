import CZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads an ``InputSource`` as lines of bytes, inflating gzip transparently.
///
/// Gzip is recognised by its magic bytes rather than the file name, so a compressed
/// stream on stdin works too; concatenated gzip members (as `cat a.gz b.gz` makes) are
/// read one after another. Lines end with `\n` (a preceding `\r` is dropped); the last
/// line may lack one. Blank lines are skipped but still counted for line numbers.
///
/// - Complexity: O(n) in the input; memory is one read buffer (1 MiB) plus the longest
///   line, capped at ``maximumLineBytes``.
public struct LineReader {
    /// 64 MiB: a line of an OTLP/JSON file is a whole export request, and OpenTelemetry's
    /// exporters send requests up to 64 MiB; the server's bodies are 32 MiB by default.
    public static let maximumLineBytes = 64 << 20

    public let source: InputSource
    /// Compressed or plain bytes read from the source, once ``forEachLine(oversized:_:)``
    /// has returned.
    public private(set) var bytesRead = 0
    /// Raw bytes read so far, readable from inside the line callback (for progress bars).
    public let progress = ReadProgress()

    public init(_ source: InputSource) {
        self.source = source
    }

    /// Calls `body` with each non-blank line's number (from 1) and bytes; the bytes are
    /// valid only during the call. A line longer than ``maximumLineBytes`` is passed to
    /// `oversized` instead and skipped.
    public mutating func forEachLine(
        oversized: (Int) throws -> Void = { _ in },
        _ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void
    ) throws {
        let name = source.description
        let fd: Int32
        switch source {
        case .standardInput:
            fd = 0
        case .descriptor(let given, _):
            try forEachLine(fileDescriptor: given, name: name, oversized: oversized, body)
            return
        case .file(let path):
            fd = open(path, O_RDONLY)
            guard fd >= 0 else {
                let reason = String(cString: strerror(errno))
                throw IngestError(source: name, "cannot open: \(reason)")
            }
            var st = stat()
            if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
                close(fd)
                throw IngestError(source: name, "is a directory, not a file")
            }
        }
        defer { if fd != 0 { close(fd) } }
        try forEachLine(fileDescriptor: fd, name: name, oversized: oversized, body)
    }

    /// Reads lines from an open file descriptor (standard input is descriptor 0; tests use
    /// a pipe). The descriptor is not closed.
    mutating func forEachLine(
        fileDescriptor fd: Int32, name: String,
        oversized: (Int) throws -> Void,
        _ body: (Int, UnsafeBufferPointer<UInt8>) throws -> Void
    ) throws {
        var raw = RawByteStream(fd: fd, name: name)
        var splitter = LineSplitter(maximumLineBytes: LineReader.maximumLineBytes)
        var lineNumber = 0
        let progress = self.progress
        defer { bytesRead = progress.bytes }
        try raw.readAll { chunk, rawBytesSoFar in
            progress.bytes = rawBytesSoFar
            try splitter.feed(chunk) { line, tooLong in
                lineNumber += 1
                if tooLong { try oversized(lineNumber); return }
                var end = line.count
                if end > 0, line[end - 1] == 0x0D { end -= 1 }
                let trimmed = UnsafeBufferPointer(rebasing: line[0..<end])
                if isBlank(trimmed) { return }
                try body(lineNumber, trimmed)
            }
        }
        try splitter.finish { line, tooLong in
            lineNumber += 1
            if tooLong { try oversized(lineNumber); return }
            var end = line.count
            if end > 0, line[end - 1] == 0x0D { end -= 1 }
            let trimmed = UnsafeBufferPointer(rebasing: line[0..<end])
            if isBlank(trimmed) { return }
            try body(lineNumber, trimmed)
        }
    }
}

@inline(__always)
private func isBlank(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
    for c in line where c != 0x20 && c != 0x09 { return false }
    return true
}

/// Splits a stream of chunks into lines, carrying a partial line across chunks.
struct LineSplitter {
    let maximumLineBytes: Int
    private var carry: [UInt8] = []
    private var discarding = false

    init(maximumLineBytes: Int) {
        self.maximumLineBytes = maximumLineBytes
    }

    /// Calls `emit(line, tooLong)` for every complete line in `chunk`.
    mutating func feed(
        _ chunk: UnsafeBufferPointer<UInt8>,
        _ emit: (UnsafeBufferPointer<UInt8>, Bool) throws -> Void
    ) throws {
        guard let base = chunk.baseAddress else { return }
        var start = 0
        let n = chunk.count
        while start < n {
            guard let hit = memchr(base + start, 0x0A, n - start) else {
                // No newline in the rest of the chunk: keep it for the next one.
                let rest = UnsafeBufferPointer(rebasing: chunk[start..<n])
                if !discarding {
                    if carry.count + rest.count > maximumLineBytes {
                        carry.removeAll(keepingCapacity: false)
                        discarding = true
                    } else {
                        carry.append(contentsOf: rest)
                    }
                }
                return
            }
            let end = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            let piece = UnsafeBufferPointer(rebasing: chunk[start..<end])
            if discarding {
                discarding = false
                try emit(piece, true)
            } else if carry.isEmpty {
                try emit(piece, false)
            } else if carry.count + piece.count > maximumLineBytes {
                carry.removeAll(keepingCapacity: false)
                try emit(piece, true)
            } else {
                carry.append(contentsOf: piece)
                try carry.withUnsafeBufferPointer { try emit($0, false) }
                carry.removeAll(keepingCapacity: true)
            }
            start = end + 1
        }
    }

    /// Emits the last line if the input did not end with a newline.
    mutating func finish(_ emit: (UnsafeBufferPointer<UInt8>, Bool) throws -> Void) throws {
        if discarding {
            discarding = false
            try emit(UnsafeBufferPointer(start: nil, count: 0), true)
        } else if !carry.isEmpty {
            try carry.withUnsafeBufferPointer { try emit($0, false) }
            carry.removeAll()
        }
    }
}

/// Reads all bytes of a file descriptor, inflating gzip members when the stream starts
/// with the gzip magic number.
struct RawByteStream {
    let fd: Int32
    let name: String
    static let chunkSize = 1 << 20

    /// Calls `body` with each chunk of decoded bytes and the count of raw bytes read so far.
    mutating func readAll(_ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) throws {
        let input = UnsafeMutablePointer<UInt8>.allocate(capacity: Self.chunkSize)
        defer { input.deallocate() }
        var total = 0
        var count = try readSome(into: input, capacity: Self.chunkSize)
        // Make sure we have at least two bytes to look for the magic number.
        while count == 1 {
            let more = try readSome(into: input + 1, capacity: Self.chunkSize - 1)
            if more == 0 { break }
            count += more
        }
        total += count
        if count >= 2, input[0] == 0x1F, input[1] == 0x8B {
            try inflateAll(input: input, firstCount: count, total: &total, body)
            return
        }
        if name.hasSuffix(".gz"), count > 0 {
            // Named as gzip but not gzip: a damaged file, not text to read line by line.
            let first = (0..<min(count, 2)).map { input[$0] < 16 ? "0" + String(input[$0], radix: 16) : String(input[$0], radix: 16) }
                .joined(separator: " ")
            throw IngestError(source: name, "is named .gz but is not a gzip stream (it starts with \(first); gzip starts with 1f 8b)")
        }
        while count > 0 {
            try body(UnsafeBufferPointer(start: input, count: count), total)
            count = try readSome(into: input, capacity: Self.chunkSize)
            total += count
        }
    }

    private func readSome(into buffer: UnsafeMutablePointer<UInt8>, capacity: Int) throws -> Int {
        while true {
            let n = read(fd, buffer, capacity)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            let reason = String(cString: strerror(errno))
            throw IngestError(source: name, "read failed: \(reason)")
        }
    }

    private func inflateAll(
        input: UnsafeMutablePointer<UInt8>, firstCount: Int, total: inout Int,
        _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void
    ) throws {
        let output = UnsafeMutablePointer<UInt8>.allocate(capacity: Self.chunkSize)
        defer { output.deallocate() }
        var stream = z_stream()
        // 15 + 16: expect a gzip header (not raw zlib).
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw IngestError(source: name, "cannot initialise zlib")
        }
        defer { inflateEnd(&stream) }
        stream.next_in = input
        stream.avail_in = UInt32(firstCount)
        var memberFinished = false
        var producedAny = false
        while true {
            if stream.avail_in == 0 {
                let n = try readSome(into: input, capacity: Self.chunkSize)
                total += n
                if n == 0 {
                    if memberFinished { return }
                    throw IngestError(source: name, "gzip stream is truncated (unexpected end of file after \(total) bytes)")
                }
                stream.next_in = input
                stream.avail_in = UInt32(n)
            }
            if memberFinished {
                // Another gzip member follows (concatenated .gz files); trailing zero
                // padding is tolerated.
                if stream.next_in[0] == 0 {
                    stream.avail_in = 0
                    continue
                }
                guard inflateReset(&stream) == Z_OK else {
                    throw IngestError(source: name, "cannot reset zlib for the next gzip member")
                }
                memberFinished = false
            }
            stream.next_out = output
            stream.avail_out = UInt32(Self.chunkSize)
            let status = inflate(&stream, Z_NO_FLUSH)
            let produced = Self.chunkSize - Int(stream.avail_out)
            if produced > 0 {
                producedAny = true
                try body(UnsafeBufferPointer(start: output, count: produced), total - Int(stream.avail_in))
            }
            switch status {
            case Z_OK, Z_BUF_ERROR:
                continue
            case Z_STREAM_END:
                memberFinished = true
            default:
                let detail = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                let whereText = producedAny ? "after some data was read" : "at the start"
                throw IngestError(source: name, "not a readable gzip stream (\(detail), \(whereText))")
            }
        }
    }
}

/// How far a ``LineReader`` has got, readable while `forEachLine` runs. Only the reading
/// thread touches it.
public final class ReadProgress: @unchecked Sendable {
    public internal(set) var bytes = 0
}
