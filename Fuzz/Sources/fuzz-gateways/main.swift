import DistillWatchCore
import DistillWatchIngest
import FuzzSupport

// The gateway readers past LiteLLM: the input's first byte picks one, the rest is its input.
//   0: an OTLP/HTTP protobuf body   1: an OTLP/JSON body or file line   2: a gzip body
//   3: an OpenAI Batch output line  4: an OpenAI Batch input line       5: a Helicone export line
//   6: an Envoy ext_authz check body (with fixed headers)       7: a Langfuse observation line
// Every exchange accepted must be within RecordLimits, name an account, survive the stored-
// form round trip and go through the engine; nothing may crash or hang.
let v1 = ExchangeLineDecoder(sketcher: Fuzz.sketcher)
let otlp = OTLPTraceReader(decoder: v1)
let batch = OpenAIBatchReader(accountID: "acct-batch", batchID: "batch-fuzz", decoder: v1)
let helicone = HeliconeExportReader(decoder: v1)
let langfuse = LangfuseExportReader(decoder: v1)

let target: Fuzz.Target = { data, size in
    let all = Fuzz.bytes(data, size)
    guard let selector = all.first else { return 0 }
    let input = UnsafeBufferPointer(rebasing: all[1...])
    var scanner = TrafficScanner(mergesRequestIDs: true)
    func accept(_ e: Exchange) {
        Fuzz.require(e.problem == nil, "an accepted exchange is outside RecordLimits: \(e.problem!)")
        Fuzz.require(!e.accountID.isEmpty, "an accepted exchange names no account")
        Fuzz.requireStoredFormRoundTrip(e, v1)
        scanner.observe(e)
    }
    switch selector % 8 {
    case 0, 1:
        let encoding: OTLPTraceReader.Encoding = selector % 8 == 0 ? .protobuf : .json
        guard let request = try? OTLPTraceReader.request(from: UnsafeRawBufferPointer(input), encoding: encoding) else { break }
        let tally = otlp.forEachSpan(in: request, encoding: encoding) { _, result in
            if case .success(let e) = result { accept(e) }
        }
        Fuzz.require(tally.genAISpans <= tally.spans, "more GenAI spans than spans")
    case 2:
        if let inflated = try? GzipBody.inflate(UnsafeRawBufferPointer(input), limit: 1 << 20) {
            Fuzz.require(inflated.count <= 1 << 20, "inflated past the limit")
        }
    case 3:
        if let e = try? batch.decode(input) { accept(e) }
    case 4:
        _ = try? OpenAIBatchReader.request(input)
    case 5:
        if let e = try? helicone.decode(input) { accept(e) }
    case 7:
        if let e = try? langfuse.decode(input) { accept(e) }
    default:
        let checked = EnvoyCheckRequest(path: "/distillwatch/v1/chat/completions", prefix: "/distillwatch",
                                        headers: ["authorization": "Bearer sk-fuzz", "x-forwarded-for": "203.0.113.1"],
                                        body: input, keepText: true,
                                        keyDigest: { "key-\($0.utf8.count)" })  // the server's is SHA-256 (swift-crypto, not built here)
        Fuzz.require(checked.path == "/v1/chat/completions", "the prefix must come off the path")
        if let e = checked.exchange(at: Timestamp(millisecondsSinceEpoch: 1_795_000_000_000), sketcher: Fuzz.sketcher) { accept(e) }
    }
    Fuzz.report(&scanner)
    return 0
}

/// SwiftPM links `main` to `fuzz_gateways_main`: hand over to libFuzzer's driver.
@_cdecl("fuzz_gateways_main")
public func fuzz_gatewaysMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    Fuzz.main(argc, argv, target)
}
