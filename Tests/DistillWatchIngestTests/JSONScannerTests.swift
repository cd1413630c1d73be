import DistillWatchCore
import Testing
@testable import DistillWatchIngest

@Suite struct JSONScannerNumberTests {
    static func parse(_ text: String) throws -> Double {
        var bytes = Array(text.utf8)
        return try bytes.withUnsafeMutableBufferPointer { b throws(RecordError) in
            var s = JSONScanner(UnsafeBufferPointer(b))
            switch try s.readNumber() {
            case .integer(let v): return Double(v)
            case .fraction(let v): return v
            }
        }
    }

    /// Every double written in Swift's shortest round-trip form reads back as itself: the
    /// stored form of an exchange (a computed latency such as 41200.000047683716, 17
    /// digits) must replay as the same exchange. Found by fuzz-litellm-logs: the fast path
    /// rounded twice for mantissas past 2^53.
    @Test func writtenDoublesReadBackExactly() throws {
        var rng = SplitMix64(seed: 42)
        for k in 0..<20_000 {
            let x: Double
            switch k % 4 {
            case 0: x = Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF)       // any finite positive double
            case 1: x = Double(rng.next() % 1_000_000_000) / 1000 + Double(rng.next() % 1000) * 1e-9
            case 2: x = (Double(rng.next() % 1 << 53) / Double(1 << 53)) * 1e5      // latencies, costs
            default: x = Double(rng.next() % 1 << 60)                                 // big whole numbers
            }
            let text = x.description
            guard !text.contains("inf"), !text.contains("nan") else { continue }
            #expect(try Self.parse(text) == x, "\(text)")
        }
        #expect(try Self.parse("41200.000047683716") == 41200.000047683716)
        #expect(try Self.parse("0.0021") == 0.0021)
        #expect(try Self.parse("1e-7") == 1e-7)
        // An integer stays exact; the same digits as a fraction round (to even) once.
        var bytes = Array("9007199254740993".utf8)
        let integer = try bytes.withUnsafeMutableBufferPointer { b throws(RecordError) -> Int64? in
            var s = JSONScanner(UnsafeBufferPointer(b))
            if case .integer(let v) = try s.readNumber() { return v }
            return nil
        }
        #expect(integer == 9_007_199_254_740_993)
        #expect(try Self.parse("9007199254740993.0") == Double(sign: .plus, exponent: 53, significand: 1))
        #expect(throws: RecordError.self) { try Self.parse("1e400") }
    }
}

/// The string scanner reads 16 bytes at a time, then words, then single bytes; the UTF-8
/// check 32 at a time, then eight, then one. Every boundary between those paths is tried
/// against a byte-at-a-time reference: the special byte at every offset, strings starting
/// at every alignment, and as many bytes after them as leave each path the last one used.
@Suite struct JSONScannerStringTests {
    /// `readString` on `literal` (from its opening quote), with `lead` bytes before it and
    /// `trail` after it in the buffer.
    static func read(_ literal: [UInt8], lead: Int, trail: Int) -> Result<String, RecordError> {
        let buffer = Array(repeating: UInt8(ascii: " "), count: lead) + literal + Array(repeating: UInt8(ascii: "z"), count: trail)
        return buffer.withUnsafeBufferPointer { b in
            var s = JSONScanner(b)
            s.position = lead
            do throws(RecordError) { return .success(try s.readString()) } catch { return .failure(error) }
        }
    }

    @Test func theFirstSpecialByteIsFoundWhereverItLies() throws {
        for length in 0...40 {
            let body = (0..<length).map { UInt8(ascii: "a") + UInt8($0 % 26) }
            let text = String(decoding: body, as: UTF8.self)
            for lead in [0, 1, 7] {
                for trail in [0, 1, 8, 15, 16, 17] {
                    // A quote ends it: the body comes back whole.
                    #expect(try Self.read([0x22] + body + [0x22], lead: lead, trail: trail).get() == text,
                            "length \(length), lead \(lead), trail \(trail)")
                    // An escape: decoded, and the scan goes on to the closing quote.
                    #expect(try Self.read([0x22] + body + Array(#"\n"#.utf8) + body + [0x22], lead: lead, trail: trail).get()
                            == text + "\n" + text)
                    // A control byte inside is refused, not skipped.
                    for control: UInt8 in [0x00, 0x0A, 0x1F] {
                        guard case .failure(let e) = Self.read([0x22] + body + [control] + body + [0x22], lead: lead, trail: trail) else {
                            Issue.record("control 0x\(String(control, radix: 16)) at \(length) accepted"); continue
                        }
                        #expect(e.reason == "control character inside a string")
                    }
                    // No closing quote before the end of the buffer (the trail is letters).
                    guard case .failure(let e) = Self.read([0x22] + body, lead: lead, trail: trail) else {
                        Issue.record("unterminated string of \(length) accepted"); continue
                    }
                    #expect(e.reason == "unterminated string")
                }
            }
        }
    }

    /// Bytes 0x7F (DEL) and 0x20 (space) are ordinary string bytes; 0x1F is the last control.
    @Test func theBoundaryBytesAreOrdinary() throws {
        let body: [UInt8] = Array(repeating: 0x7F, count: 17) + Array(repeating: 0x20, count: 17) + Array("é€𝄞".utf8)
        #expect(try Self.read([0x22] + body + [0x22], lead: 3, trail: 0).get() == String(decoding: body, as: UTF8.self))
    }

    @Test func invalidUTF8IsFoundAtEveryOffset() {
        for length in 1...80 {
            for bad in 0..<length {
                var line = Array(repeating: UInt8(ascii: "x"), count: length)
                line[bad] = 0xFF
                #expect(line.withUnsafeBufferPointer { JSONScanner.firstInvalidUTF8($0) } == bad, "length \(length), byte \(bad)")
                // A well-formed two-byte character there instead is accepted...
                var good = Array(repeating: UInt8(ascii: "x"), count: length + 1)
                good[bad] = 0xC3
                good[bad + 1] = 0xA9
                #expect(good.withUnsafeBufferPointer { JSONScanner.firstInvalidUTF8($0) } == nil)
                // ...and the same character cut off by the end of the line is not.
                var cut = Array(repeating: UInt8(ascii: "x"), count: bad + 1)
                cut[bad] = 0xC3
                #expect(cut.withUnsafeBufferPointer { JSONScanner.firstInvalidUTF8($0) } == bad)
            }
        }
    }
}
