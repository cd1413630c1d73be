import DistillWatchCore
import DistillWatchIngest
import FuzzSupport

// One label record (spec §3, evaluation ground truth).
let decoder = LabelLineDecoder()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLabelLine(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let label = try? decoder.decode(UnsafeBufferPointer(start: data, count: size)) else { return 0 }
    Fuzz.require(RecordLimits.problem(identifier: label.accountID, field: "account_id") == nil, "accepted label id out of limits")
    var out: [UInt8] = []
    JSONLineEncoder.append(label, to: &out)
    let back = try? out.withUnsafeBufferPointer { (b) throws(RecordError) in try decoder.decode(UnsafeBufferPointer(rebasing: b.dropLast())) }
    Fuzz.require(back == label, "a label record does not round-trip: \(String(decoding: out, as: UTF8.self))")
    return 0
}
