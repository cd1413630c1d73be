import DistillWatchCore
import DistillWatchIngest
import FuzzSupport

// The YAML policy file (`--policy`): any text is a policy or a PolicyFileError, and an
// accepted policy runs the engine.
let target: Fuzz.Target = { data, size in
    let text = String(decoding: Fuzz.bytes(data, size), as: UTF8.self)
    guard let policy = try? PolicyFile.load(yaml: text, source: "fuzz") else { return 0 }
    var scanner = TrafficScanner(policy: policy)
    for i in 0..<50 {
        scanner.observe(Exchange(time: Fuzz.start.adding(seconds: Double(i) * 7), accountID: "a\(i % 3)", model: "m",
                                 outputTokens: 4000, maxTokens: 32000, temperature: 1, thinking: true, messageCount: 1,
                                 status: i % 5 == 0 ? 429 : 200, clientIP: "203.0.113.\(i % 4)"))
    }
    Fuzz.report(&scanner)
    return 0
}

/// SwiftPM links `main` to `fuzz_policy_file_main`: hand over to libFuzzer's driver.
@_cdecl("fuzz_policy_file_main")
public func fuzz_policy_fileMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    Fuzz.main(argc, argv, target)
}
