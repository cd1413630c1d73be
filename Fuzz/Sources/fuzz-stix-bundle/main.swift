import DistillWatchCore
import DistillWatchSharing
import FuzzSupport
import Foundation

// A partner's STIX bundle (`share import`, `scan --indicators`, a TAXII push or feed): any
// bytes are indicators or per-object problems, never a crash; the indicators then index
// and match traffic. The same bytes as a STIX pattern are parsed or refused.
let key = SharingKey(id: "fuzz-key", secretHex: "00112233445566778899aabbccddeeff")!
let sketcher = ContentSketcher(key: ContentKey(k0: 1, k1: 2), sharingKeys: [key])
let target: Fuzz.Target = { data, size in
    let bytes = Fuzz.bytes(data, size)
    _ = try? STIXPattern.parse(String(decoding: bytes, as: UTF8.self))
    guard let result = try? STIXBundleReader().read(Data(bytes)) else { return 0 }
    var library = SharedIndicatorLibrary()
    library.add(result)
    var engine = DetectionEngine()
    engine.replaceSharedIndicators(library.indicatorSet(sharingKeys: [key]))
    var record = AccountRecord(accountID: "a0")
    record.emailDomain = "example.com"
    engine.register(record)
    for i in 0..<20 {
        var e = Exchange(time: Fuzz.start.adding(seconds: Double(i) * 30), accountID: "a\(i % 2)", outputTokens: 100)
        e.clientIP = i % 2 == 0 ? "198.51.100.\(i)" : "2001:db8::\(i)"
        e.asn = 64500 + i % 3
        e.userAgent = "harness/1.0"
        e.clientFingerprint = "t13d1516h2_8daaf6152771_02713d6af862"
        e.content = sketcher.features(prompt: "Solve the following problem step by step and box the final answer: item \(i)", system: "You are a generator.")
        _ = engine.observe(e)
    }
    _ = engine.sharedIndicatorSightings
    _ = engine.readings(for: "a0")
    return 0
}

/// SwiftPM links `main` to `fuzz_stix_bundle_main`: hand over to libFuzzer's driver.
@_cdecl("fuzz_stix_bundle_main")
public func fuzz_stix_bundleMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    Fuzz.main(argc, argv, target)
}
