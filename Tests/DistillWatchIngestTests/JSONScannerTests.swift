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
