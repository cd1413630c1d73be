import DistillWatchConsole
import DistillWatchCore
import Foundation

/// Builds the self-contained HTML report from a finished scan and writes it (`scan --html`,
/// `eval --html`).
func writeHTMLReport(_ outcome: ScanOutcome, to path: String, title: String, intro: String) throws {
    let report = HTMLReport(engine: outcome.engine, report: outcome.report, activity: outcome.activity ?? HourlyActivityLedger(),
                            title: title, intro: intro)
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        throw ScanFailure("\(path): is a directory; give a file path for the HTML report")
    }
    let html = try ConsoleRenderer().document(report)
    do {
        try Data(html.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        throw ScanFailure("\(path): cannot write the HTML report: \(error.localizedDescription)")
    }
}
