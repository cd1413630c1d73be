import DistillWatchCore
import DistillWatchIngest
import FuzzSupport

// The JSON request bodies of `serve` (decide, label, LiteLLM guardrail) and the NDJSON line
// splitter of the ingest routes. The first byte picks the body type.
let target: Fuzz.Target = { data, size in
    let input = Fuzz.bytes(data, size)
    guard let first = input.first else { return 0 }
    let body = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(input)[1...])
    switch first % 3 {
    case 0:
        _ = try? JSONBodyDecoder.decode(DecideRequest.self, from: body)
    case 1:
        if let ask = try? JSONBodyDecoder.decode(LabelRequest.self, from: body) { _ = try? ask.analystLabel() }
    default:
        // LiteLLM's guardrail call: whatever decodes must give an exchange the engine takes.
        let bytes = body.bindMemory(to: UInt8.self)
        if let call = try? GuardrailCallDecoder(keepsText: true).decode(bytes),
           let (account, _) = LiteLLMIdentity().account(call.identity) {
            let e = call.exchange(accountID: account, at: Timestamp(millisecondsSinceEpoch: 1_795_000_000_000),
                                  sketcher: Fuzz.sketcher)
            if let e { Fuzz.requireStoredFormRoundTrip(e, ExchangeLineDecoder(sketcher: Fuzz.sketcher)) }
        }
    }
    var lines = 0
    var last = 0
    NDJSONLines.forEach(in: body.bindMemory(to: UInt8.self)) { number, line in
        Fuzz.require(number > last && !line.isEmpty, "NDJSON line numbers must increase and lines be non-empty")
        last = number
        lines += 1
    }
    return 0
}

/// SwiftPM links `main` to `fuzz_request_bodies_main`: hand over to libFuzzer's driver.
@_cdecl("fuzz_request_bodies_main")
public func fuzz_request_bodiesMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    Fuzz.main(argc, argv, target)
}
