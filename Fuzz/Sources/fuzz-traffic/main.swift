import DistillWatchCore
import DistillWatchIngest
import FuzzSupport

// A whole NDJSON input, as `scan` and `POST /v1/exchanges` take it: each line an exchange
// or an account record, through one engine with content signals, then analyst labels on
// the first accounts, then the report (the crashes this target was written for were in
// the engine and the report, after decoding).
let exchanges = ExchangeLineDecoder(sketcher: Fuzz.sketcher)
let accounts = AccountLineDecoder()

let target: Fuzz.Target = { data, size in
    var scanner = TrafficScanner(toleranceMilliseconds: 60_000)
    var ids: [String] = []
    NDJSONLines.forEach(in: Fuzz.bytes(data, size)) { _, line in
        if let e = try? exchanges.decode(line) {
            if ids.count < 4, !ids.contains(e.accountID) { ids.append(e.accountID) }
            scanner.observe(e)
        } else if let a = try? accounts.decode(line) {
            scanner.register(a)
        }
    }
    if let first = ids.first { scanner.applyLabel(.confirmedAttack, to: first, at: scanner.engine.clock ?? Fuzz.start) }
    if ids.count > 1 { scanner.applyLabel(.legitimate, to: ids[1], at: scanner.engine.clock ?? Fuzz.start) }
    scanner.applyCampaignLabel(.confirmedAttack, toCampaign: 1, at: scanner.engine.clock ?? Fuzz.start)
    Fuzz.report(&scanner)
    return 0
}

/// SwiftPM links `main` to `fuzz_traffic_main`: hand over to libFuzzer's driver.
@_cdecl("fuzz_traffic_main")
public func fuzz_trafficMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    Fuzz.main(argc, argv, target)
}
