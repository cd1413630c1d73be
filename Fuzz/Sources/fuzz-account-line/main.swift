import DistillWatchCore
import DistillWatchIngest
import FuzzSupport

// One account record (spec §2): accepted records are within RecordLimits, round-trip
// through their stored form, and register with the engine.
let decoder = AccountLineDecoder()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAccountLine(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let a = try? decoder.decode(UnsafeBufferPointer(start: data, count: size)) else { return 0 }
    Fuzz.require(a.problem == nil, "an accepted account record is outside RecordLimits: \(a.problem!)")
    var out: [UInt8] = []
    JSONLineEncoder.append(a, to: &out)
    let back = try? out.withUnsafeBufferPointer { (b) throws(RecordError) in try decoder.decode(UnsafeBufferPointer(rebasing: b.dropLast())) }
    Fuzz.require(back == a, "stored form of an account record decodes differently: \(String(decoding: out, as: UTF8.self))")
    var scanner = TrafficScanner()
    scanner.register(a)
    scanner.observe(Exchange(time: Fuzz.start, accountID: a.accountID, outputTokens: 100))
    Fuzz.report(&scanner)
    return 0
}
