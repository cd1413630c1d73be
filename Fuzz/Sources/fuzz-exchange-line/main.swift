import DistillWatchCore
import DistillWatchIngest
import FuzzSupport

// One exchange line (spec §1): decoded with content sketching on; what is accepted must be
// within RecordLimits, survive the stored-form round trip, and go through the engine.
let decoder = ExchangeLineDecoder(sketcher: Fuzz.sketcher)

let target: Fuzz.Target = { data, size in
    let line = Fuzz.bytes(data, size)
    guard let e = try? decoder.decode(line) else { return 0 }
    Fuzz.require(e.problem == nil, "an accepted exchange is outside RecordLimits: \(e.problem!)")
    Fuzz.requireStoredFormRoundTrip(e, decoder)
    var scanner = TrafficScanner()
    scanner.observe(e)
    scanner.observe(e)
    Fuzz.report(&scanner)
    return 0
}

/// SwiftPM links `main` to `fuzz_exchange_line_main`: hand over to libFuzzer's driver.
@_cdecl("fuzz_exchange_line_main")
public func fuzz_exchange_lineMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    Fuzz.main(argc, argv, target)
}
