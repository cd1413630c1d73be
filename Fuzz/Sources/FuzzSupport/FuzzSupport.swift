import CLibFuzzer
import DistillWatchCore
import DistillWatchIngest
import Foundation

/// What every fuzz target shares: a fixed content key (sketches must be reproducible so a
/// crash replays), a property check that crashes the target when it fails (libFuzzer then
/// saves the input), and the stored-form round trip the server relies on.
public enum Fuzz {
    /// A fuzz target: called with each input libFuzzer makes; returns 0.
    public typealias Target = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

    /// Runs libFuzzer's driver on `target` with the process's arguments (libFuzzer's own
    /// flags: `-runs=`, `-max_total_time=`, corpus folders, …).
    public static func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ target: Target) -> CInt {
        var argc = argc
        var argv = argv
        return LLVMFuzzerRunDriver(&argc, &argv, target)
    }

    /// The input as a buffer (libFuzzer may pass a null pointer for the empty input).
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: size == 0 ? nil : data, count: size)
    }

    public static let sketcher = ContentSketcher(key: ContentKey(k0: 0x0011_2233_4455_6677, k1: 0x8899_AABB_CCDD_EEFF))
    public static let start = Timestamp(millisecondsSinceEpoch: 1_772_409_600_000)  // 2026-03-02

    /// Stops the process (a crash libFuzzer records) when a property does not hold.
    public static func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
        if !condition() {
            FileHandle.standardError.write(Data("property failed: \(message())\n".utf8))
            abort()
        }
    }

    /// The stored form of an accepted exchange must decode, with the same decoder, to the
    /// same exchange (text aside): the server's replay depends on it.
    public static func requireStoredFormRoundTrip(_ e: Exchange, _ decoder: ExchangeLineDecoder) {
        var out: [UInt8] = []
        JSONLineEncoder.appendWithoutText(e, to: &out)
        let back = Result { () throws(RecordError) in
            try out.withUnsafeBufferPointer { (b) throws(RecordError) in try decoder.decode(UnsafeBufferPointer(rebasing: b.dropLast())) }
        }
        switch back {
        case .success(let decoded):
            require(decoded.withoutText == e.withoutText, "stored form decodes to a different exchange: \(String(decoding: out, as: UTF8.self))")
        case .failure(let error):
            require(false, "stored form is refused (\(error)): \(String(decoding: out, as: UTF8.self))")
        }
    }

    /// Builds the v1 report and encodes it, as `scan --json` and `GET /v1/report` do.
    public static func report(_ scanner: inout TrafficScanner) {
        let report = scanner.finish(generatedAt: start, includeAllAccounts: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        require((try? encoder.encode(report)) != nil, "the report does not encode")
    }
}

/// Reads fixed-size values from the fuzzer's bytes, yielding zeros once they run out.
public struct ByteReader {
    var bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    public init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    public var isAtEnd: Bool { position >= bytes.count }

    public mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func uint16() -> UInt16 { UInt16(byte()) | UInt16(byte()) << 8 }
    public mutating func uint32() -> UInt32 { UInt32(uint16()) | UInt32(uint16()) << 16 }
    public mutating func uint64() -> UInt64 { UInt64(uint32()) | UInt64(uint32()) << 32 }
}
