import Foundation
import DistillWatchCore
import DistillWatchIngest
import FuzzSupport

// The JSON request bodies of `serve` (decide, label, LiteLLM guardrail in both phases,
// reasoning, verify), a provenance dataset (DatasetReader, then every answer sketched and
// its inline reasoning redacted), and the NDJSON line splitter of the ingest routes. The
// first byte picks the body type.
let target: Fuzz.Target = { data, size in
    let input = Fuzz.bytes(data, size)
    guard let first = input.first else { return 0 }
    let body = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(input)[1...])
    switch first % 6 {
    case 0:
        // The route's fast path reads only what Foundation's decoder reads, the same way.
        let slow = try? JSONBodyDecoder.decode(DecideRequest.self, from: body)
        if let fast = DecideRequest.scanned(body) {
            Fuzz.require(slow != nil, "the fast path accepts only what Foundation accepts")
            if let slow {
                Fuzz.require(fast.accountID == slow.accountID && fast.apiKeyID == slow.apiKeyID && fast.requestID == slow.requestID
                             && fast.model == slow.model && fast.maxTokens == slow.maxTokens && fast.prefill == slow.prefill
                             && fast.thinking == slow.thinking && fast.dryRun == slow.dryRun && fast.country == slow.country
                             && fast.clientIP == slow.clientIP && fast.userAgent == slow.userAgent && fast.prompt == slow.prompt
                             && fast.temperature == slow.temperature,
                             "the fast path reads the values Foundation reads")
            }
        }
    case 1:
        if let ask = try? JSONBodyDecoder.decode(LabelRequest.self, from: body) { _ = try? ask.analystLabel() }
    case 2:
        _ = try? JSONBodyDecoder.decode(ReasoningRequest.self, from: body)
        _ = try? JSONBodyDecoder.decode(VerifyRequest.self, from: body)
    case 3:
        // A response-phase guardrail call keeps its texts; each text's reasoning is redacted.
        if let call = try? GuardrailCallDecoder(keepsText: false, keepsResponseTexts: true).decode(body.bindMemory(to: UInt8.self)) {
            for text in call.responseTexts ?? [] {
                if let r = ReasoningRedaction.redact(text, replacement: { _ in "<think>s</think>" }) {
                    Fuzz.require(r.blocks > 0, "a redaction names at least one block")
                }
            }
        }
    case 4:
        let parsed = DatasetReader.parse(Data(body))
        for record in parsed.records {
            for answer in record.responses {
                if let sketch = ResponseSketch.of(answer, key: Fuzz.sketcher.key) {
                    Fuzz.require(ResponseSketch(bytes: sketch.bytes) == sketch, "a sketch survives its stored bytes")
                    Fuzz.require(sketch.agreement(with: sketch) == ResponseSketch.bins, "a sketch agrees with itself")
                }
            }
        }
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
