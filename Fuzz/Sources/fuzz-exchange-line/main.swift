import DistillWatchCore
import DistillWatchIngest
import FuzzSupport

// One exchange line (spec §1): decoded with content sketching on; what is accepted must be
// within RecordLimits, survive the stored-form round trip, and go through the engine.
let decoder = ExchangeLineDecoder(sketcher: Fuzz.sketcher)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzExchangeLine(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let line = UnsafeBufferPointer(start: data, count: size)
    guard let e = try? decoder.decode(line) else { return 0 }
    Fuzz.require(e.problem == nil, "an accepted exchange is outside RecordLimits: \(e.problem!)")
    Fuzz.requireStoredFormRoundTrip(e, decoder)
    var scanner = TrafficScanner()
    scanner.observe(e)
    scanner.observe(e)
    Fuzz.report(&scanner)
    return 0
}
