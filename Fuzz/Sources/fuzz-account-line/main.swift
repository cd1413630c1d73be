import DistillWatchCore
import DistillWatchIngest
import FuzzSupport

// One account record (spec §2): accepted records are within RecordLimits, round-trip
// through their stored form, and register with the engine.
let decoder = AccountLineDecoder()

let target: Fuzz.Target = { data, size in
    guard let a = try? decoder.decode(Fuzz.bytes(data, size)) else { return 0 }
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

/// SwiftPM links `main` to `fuzz_account_line_main`: hand over to libFuzzer's driver.
@_cdecl("fuzz_account_line_main")
public func fuzz_account_lineMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    Fuzz.main(argc, argv, target)
}
