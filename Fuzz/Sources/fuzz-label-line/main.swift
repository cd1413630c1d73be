import DistillWatchCore
import DistillWatchIngest
import FuzzSupport

// One label record (spec §3, evaluation ground truth).
let decoder = LabelLineDecoder()

let target: Fuzz.Target = { data, size in
    guard let label = try? decoder.decode(Fuzz.bytes(data, size)) else { return 0 }
    Fuzz.require(RecordLimits.problem(identifier: label.accountID, field: "account_id") == nil, "accepted label id out of limits")
    var out: [UInt8] = []
    JSONLineEncoder.append(label, to: &out)
    let back = try? out.withUnsafeBufferPointer { (b) throws(RecordError) in try decoder.decode(UnsafeBufferPointer(rebasing: b.dropLast())) }
    Fuzz.require(back == label, "a label record does not round-trip: \(String(decoding: out, as: UTF8.self))")
    return 0
}

/// SwiftPM links `main` to `fuzz_label_line_main`: hand over to libFuzzer's driver.
@_cdecl("fuzz_label_line_main")
public func fuzz_label_lineMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    Fuzz.main(argc, argv, target)
}
