import CZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A byte sink for writing JSON Lines: a file (gzip-compressed when the path ends in
/// `.gz`) or standard output. Not thread-safe: one writer at a time.
public final class OutputSink {
    private let name: String
    private var fd: Int32
    private let ownsDescriptor: Bool
    private var gzip: UnsafeMutablePointer<z_stream>?
    private var buffer: UnsafeMutablePointer<UInt8>
    private static let bufferSize = 1 << 20
    private var closed = false

    /// Creates (or truncates) the file at `path`. gzip is used when the path ends in `.gz`.
    public init(path: String, compressionLevel: Int32 = 6) throws {
        name = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw IngestError(source: path, "cannot create: \(reason)")
        }
        ownsDescriptor = true
        buffer = .allocate(capacity: Self.bufferSize)
        if path.hasSuffix(".gz") {
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            // 15 + 16: write a gzip header and trailer.
            guard deflateInit2_(stream, compressionLevel, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                                ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                stream.deallocate()
                Glibc.close(fd)
                throw IngestError(source: path, "cannot initialise zlib")
            }
            gzip = stream
        }
    }

    private init(standardOutput: Void) {
        name = "<stdout>"
        fd = 1
        ownsDescriptor = false
        buffer = .allocate(capacity: Self.bufferSize)
    }

    /// Standard output, uncompressed.
    public static func standardOutput() -> OutputSink {
        OutputSink(standardOutput: ())
    }

    deinit {
        if !closed { try? close() }
        buffer.deallocate()
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBufferPointer { try write($0) }
    }

    public func write(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        precondition(!closed, "write after close")
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        if let gzip {
            gzip.pointee.next_in = UnsafeMutablePointer(mutating: base)
            gzip.pointee.avail_in = UInt32(bytes.count)
            try pumpDeflate(flush: Z_NO_FLUSH)
        } else {
            try writeAll(base, bytes.count)
        }
    }

    /// Flushes, finishes the gzip stream and closes the file. Idempotent.
    public func close() throws {
        guard !closed else { return }
        closed = true
        if let gzip {
            gzip.pointee.next_in = nil
            gzip.pointee.avail_in = 0
            try pumpDeflate(flush: Z_FINISH)
            deflateEnd(gzip)
            gzip.deallocate()
            self.gzip = nil
        }
        if ownsDescriptor {
            guard Glibc.close(fd) == 0 else {
                let reason = String(cString: strerror(errno))
                throw IngestError(source: name, "close failed: \(reason)")
            }
        }
    }

    private func pumpDeflate(flush: Int32) throws {
        guard let gzip else { return }
        while true {
            gzip.pointee.next_out = buffer
            gzip.pointee.avail_out = UInt32(Self.bufferSize)
            let status = deflate(gzip, flush)
            let produced = Self.bufferSize - Int(gzip.pointee.avail_out)
            if produced > 0 { try writeAll(buffer, produced) }
            if flush == Z_FINISH {
                if status == Z_STREAM_END { return }
                guard status == Z_OK || status == Z_BUF_ERROR else {
                    throw IngestError(source: name, "gzip compression failed (\(status))")
                }
            } else if gzip.pointee.avail_in == 0 && gzip.pointee.avail_out != 0 {
                return
            }
        }
    }

    private func writeAll(_ base: UnsafePointer<UInt8>, _ count: Int) throws {
        var offset = 0
        while offset < count {
            let n = Glibc.write(fd, base + offset, count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                throw IngestError(source: name, "write failed: \(reason)")
            }
            offset += n
        }
    }
}
