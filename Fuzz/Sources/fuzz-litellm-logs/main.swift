import DistillWatchCore
import DistillWatchIngest
import FuzzSupport

// A body of LiteLLM's logging callback (json_array, ndjson or single), or a line of its
// s3/gcs files: every payload accepted must be within RecordLimits, name an account,
// survive the stored-form round trip and go through the engine (with request-id merging,
// as the server runs it); positions must move forward.
let decoder = StandardLoggingPayloadDecoder(sketcher: Fuzz.sketcher)
let storedForm = ExchangeLineDecoder(sketcher: Fuzz.sketcher)

let target: Fuzz.Target = { data, size in
    let body = Fuzz.bytes(data, size)
    var scanner = TrafficScanner(mergesRequestIDs: true)
    var last = (line: 0, index: -1)
    LiteLLMLogBatch.forEachPayload(in: body, decoder: decoder) { position, result in
        let index = position.index ?? -1
        Fuzz.require(position.line > last.line || (position.line == last.line && index > last.index) || index == -1,
                     "payload positions must move forward: \(position) after line \(last.line)")
        last = (position.line, index)
        guard case .success(let e) = result else { return }
        Fuzz.require(e.problem == nil, "an accepted payload is outside RecordLimits: \(e.problem!)")
        Fuzz.require(!e.accountID.isEmpty, "an accepted payload names no account")
        Fuzz.requireStoredFormRoundTrip(e, storedForm)
        scanner.observe(e)
    }
    Fuzz.report(&scanner)
    return 0
}

/// SwiftPM links `main` to `fuzz_litellm_logs_main`: hand over to libFuzzer's driver.
@_cdecl("fuzz_litellm_logs_main")
public func fuzz_litellm_logsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    Fuzz.main(argc, argv, target)
}
