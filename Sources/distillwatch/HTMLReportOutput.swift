import DistillWatchConsole
import DistillWatchCore
import Foundation

/// Builds the self-contained HTML report from a finished scan and writes it (`scan --html`,
/// `eval --html`).
/// - Parameter verdictCounts: accounts by verdict, when the engine does not hold every
///   account (the campaign step's engine holds its candidates only).
func writeHTMLReport(_ outcome: ScanOutcome, to path: String, title: String, intro: String,
                     verdictCounts: [Verdict: Int]? = nil) throws {
    var report = HTMLReport(engine: outcome.engine, report: outcome.report, activity: outcome.activity ?? HourlyActivityLedger(),
                            title: title, intro: intro)
    if let verdictCounts { report.overview.verdictCounts = verdictCounts }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        throw ScanFailure("\(path): is a directory; give a file path for the HTML report")
    }
    let html = try ConsoleRenderer().document(report)
    try UserFile.write(Data(html.utf8), to: path, what: "HTML report")
}
