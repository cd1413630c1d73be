import CZlib

/// Inflates a gzip-compressed request body held in memory (`Content-Encoding: gzip`,
/// RFC 9110 §8.4.1.3; the gzip format is RFC 1952), refusing to produce more than a limit
/// so a small "zip bomb" cannot exhaust memory. Concatenated gzip members are read in
/// turn, as `gunzip` does. Files are inflated as they stream, by ``LineReader``.
public enum GzipBody {
    /// Why a body could not be inflated, in a sentence for a 400 or 413 answer.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
        /// The inflated body would pass the limit.
        public var tooLarge: Bool
    }

    /// The inflated bytes of `compressed`.
    /// - Parameter limit: the most bytes the inflated body may hold.
    /// - Throws: ``Failure`` when the bytes are not gzip, are cut short, or inflate past
    ///   `limit` (then `tooLarge` is true).
    /// - Complexity: O(n) in the inflated size; memory is the inflated body.
    public static func inflate(_ compressed: UnsafeRawBufferPointer, limit: Int) throws(Failure) -> [UInt8] {
        guard compressed.count > 0 else { return [] }
        var stream = z_stream()
        // 15 + 16: a gzip header, not raw zlib.
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure(description: "cannot initialise zlib", tooLarge: false)
        }
        defer { inflateEnd(&stream) }
        var out: [UInt8] = []
        let chunk = 64 * 1024
        var buffer = [UInt8](repeating: 0, count: chunk)
        var consumed = 0
        while consumed < compressed.count {
            if compressed[consumed] == 0, !out.isEmpty {
                break  // zero padding after the last member, as gunzip tolerates
            }
            stream.next_in = UnsafeMutablePointer(mutating: compressed.baseAddress!.assumingMemoryBound(to: UInt8.self) + consumed)
            stream.avail_in = UInt32(min(compressed.count - consumed, Int(UInt32.max)))
            var finished = false
            while !finished {
                let status = buffer.withUnsafeMutableBufferPointer { b -> Int32 in
                    stream.next_out = b.baseAddress
                    stream.avail_out = UInt32(chunk)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk - Int(stream.avail_out)
                if out.count + produced > limit {
                    throw Failure(description: "the gzip body inflates to more than \(limit) bytes", tooLarge: true)
                }
                out.append(contentsOf: buffer[0..<produced])
                switch status {
                case Z_STREAM_END:
                    finished = true
                case Z_OK:
                    continue
                case Z_BUF_ERROR where stream.avail_in == 0:
                    throw Failure(description: "the gzip body is cut short (no end of stream)", tooLarge: false)
                case Z_BUF_ERROR:
                    continue
                default:
                    let detail = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                    throw Failure(description: "the body is not valid gzip (\(detail))", tooLarge: false)
                }
            }
            consumed = compressed.count - Int(stream.avail_in)
            guard inflateReset(&stream) == Z_OK else {
                throw Failure(description: "cannot reset zlib for the next gzip member", tooLarge: false)
            }
        }
        return out
    }
}
