import DistillWatchCore
import DistillWatchIngest
import FuzzSupport

// The JSON request bodies of `serve` (decide, label, LiteLLM guardrail) and the NDJSON line
// splitter of the ingest routes. The first byte picks the body type.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestBodies(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let body = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    switch data[0] % 3 {
    case 0:
        _ = try? JSONBodyDecoder.decode(DecideRequest.self, from: body)
    case 1:
        if let ask = try? JSONBodyDecoder.decode(LabelRequest.self, from: body) { _ = try? ask.analystLabel() }
    default:
        _ = try? JSONBodyDecoder.decode(GuardrailRequest.self, from: body)
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
