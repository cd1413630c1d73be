import Foundation

/// A one-line progress bar on standard error, redrawn at most ten times a second.
struct ProgressBar {
    static let minimumBytes = 64 << 20
    static var standardErrorIsTerminal: Bool { isatty(2) == 1 }

    let totalBytes: Int?
    let enabled: Bool
    private let start = Date()
    private var lastDraw = Date.distantPast

    init(totalBytes: Int?, enabled: Bool) {
        self.totalBytes = totalBytes
        self.enabled = enabled
    }

    mutating func update(bytes: Int, records: Int) {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        let elapsed = max(0.001, now.timeIntervalSince(start))
        let rate = Double(records) / elapsed
        var line = "\r"
        if let totalBytes, totalBytes > 0 {
            let share = min(1, Double(bytes) / Double(totalBytes))
            let width = 30
            let filled = Int(share * Double(width))
            line += "[" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled) + "] "
            line += String(format: "%3.0f%%  ", share * 100)
        }
        line += "\(compact(Double(records))) exchanges  \(compact(rate))/s   "
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

/// 1234567 → "1.2M".
func compact(_ x: Double) -> String {
    switch x {
    case 1e9...: return String(format: "%.1fG", x / 1e9)
    case 1e6...: return String(format: "%.1fM", x / 1e6)
    case 1e4...: return String(format: "%.0fk", x / 1e3)
    default: return String(format: "%.0f", x)
    }
}
