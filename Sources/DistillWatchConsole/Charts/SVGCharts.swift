import DistillWatchCore

/// Server-drawn SVG charts: no script, no network, text escaped, each with a `<title>`
/// and an `aria-label` that states what it shows, and text labels on every marker so
/// colour is never the only cue.
///
/// Every chart is sized in CSS pixels by a `viewBox` and scales to its container.
public enum SVGChart {
    /// A marker drawn on a timeline (first flag, a model release) with its label.
    public struct Marker: Sendable, Equatable {
        public var hour: Int64
        public var label: String
        public init(hour: Int64, label: String) {
            self.hour = hour
            self.label = label
        }
    }

    /// Exchanges per time bucket from hourly totals, with markers.
    ///
    /// Buckets are hours when the span is at most 14 days, else days (so a 44-day
    /// campaign draws 44 bars, not 1,056), else runs of days when days would be more than
    /// 4,000 bars (a stray exchange of 2000 among 2026 traffic: the bars stopped at 2010 and
    /// the newest traffic was not drawn). Empty hours inside the span are drawn as zero.
    /// - Parameters:
    ///   - hours: totals in time order (hours since the epoch).
    ///   - value: what to plot (exchanges by default).
    /// - Complexity: O(hours + buckets); at most 4,000 buckets.
    public static func timeline(_ hours: [HourlyTotals], markers: [Marker] = [], title: String,
                                unit: String = "exchanges", daily forceDaily: Bool = false,
                                value: (HourlyTotals) -> Int = { $0.exchanges }) -> String {
        let width = 880.0, height = 220.0, left = 64.0, right = 16.0, top = 28.0, bottom = 40.0
        guard let first = hours.first?.hour, let last = hours.last?.hour else {
            return empty(title: title, width: width, height: 80)
        }
        let daily = forceDaily || last - first > 14 * 24
        let start = daily ? floorDivide(first, 24) * 24 : first
        let days = floorDivide(last - start, 24) + 1
        let daysPerBucket: Int64 = daily ? max(1, (days + 3_999) / 4_000) : 1
        let bucketHours: Int64 = daily ? 24 * daysPerBucket : 1
        let count = Int(floorDivide(last - start, bucketHours) + 1)
        var buckets = [Int](repeating: 0, count: count)
        for h in hours {
            let b = Int(floorDivide(h.hour - start, bucketHours))
            if b >= 0, b < count { buckets[b] = buckets[b].addingReportingOverflow(value(h)).overflow ? .max : buckets[b] + value(h) }
        }
        let peak = max(1, buckets.max() ?? 1)
        let plotW = width - left - right, plotH = height - top - bottom
        let barW = plotW / Double(count)
        let bucketName = !daily ? "hour" : daysPerBucket == 1 ? "day" : "\(daysPerBucket) days"
        var svg = open(width: width, height: height,
                       label: "\(title): \(unit) per \(bucketName), \(ConsoleFormat.hour(start)) to \(ConsoleFormat.hour(last)); peak \(ConsoleFormat.number(peak))")
        svg += "<title>\(ConsoleFormat.escape(title))</title>"
        // Axes and the peak gridline.
        svg += "<line class=\"axis\" x1=\"\(f(left))\" y1=\"\(f(top + plotH))\" x2=\"\(f(width - right))\" y2=\"\(f(top + plotH))\"/>"
        svg += "<line class=\"grid\" x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(width - right))\" y2=\"\(f(top))\"/>"
        svg += "<text class=\"tick\" x=\"\(f(left - 6))\" y=\"\(f(top + 4))\" text-anchor=\"end\">\(ConsoleFormat.number(peak))</text>"
        svg += "<text class=\"tick\" x=\"\(f(left - 6))\" y=\"\(f(top + plotH + 4))\" text-anchor=\"end\">0</text>"
        for (b, v) in buckets.enumerated() where v > 0 {
            let h = plotH * Double(v) / Double(peak)
            let bucketStart = start + Int64(b) * bucketHours
            svg += "<rect class=\"bar\" x=\"\(f(left + Double(b) * barW))\" y=\"\(f(top + plotH - h))\" width=\"\(f(max(barW - (barW > 3 ? 1 : 0), 0.5)))\" height=\"\(f(h))\">"
            svg += "<title>\(daily ? ConsoleFormat.day(floorDivide(bucketStart, 24)) : ConsoleFormat.hour(bucketStart)): \(ConsoleFormat.number(v)) \(unit)</title></rect>"
        }
        // Start and end dates under the axis.
        let fmt: (Int64) -> String = { daily ? ConsoleFormat.day(floorDivide($0, 24)) : ConsoleFormat.hour($0) }
        svg += "<text class=\"tick\" x=\"\(f(left))\" y=\"\(f(height - 22))\">\(fmt(start))</text>"
        svg += "<text class=\"tick\" x=\"\(f(width - right))\" y=\"\(f(height - 22))\" text-anchor=\"end\">\(fmt(start + Int64(count - 1) * bucketHours))</text>"
        svg += "<text class=\"tick\" x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 6))\" text-anchor=\"middle\">\(unit) per \(bucketName) (UTC)</text>"
        for (k, m) in markers.enumerated() {
            let x = left + Double(floorDivide(m.hour - start, bucketHours)) * barW + barW / 2
            guard x >= left, x <= width - right else { continue }
            let y = top - 8 - Double(k % 2) * 12
            svg += "<line class=\"marker\" x1=\"\(f(x))\" y1=\"\(f(y + 2))\" x2=\"\(f(x))\" y2=\"\(f(top + plotH))\"/>"
            let anchor = x > width * 0.7 ? "end" : "start"
            svg += "<text class=\"marker-label\" x=\"\(f(x + (anchor == "end" ? -3 : 3)))\" y=\"\(f(y + 8))\" text-anchor=\"\(anchor)\">\(ConsoleFormat.escape(m.label))</text>"
        }
        return svg + "</svg>"
    }

    /// Bars for a fixed set of labelled values (hour of day, the last 24 hours).
    public static func bars(_ values: [Int], labels: [String], title: String, unit: String, labelEvery: Int = 3) -> String {
        let width = 880.0, height = 180.0, left = 64.0, right = 16.0, top = 16.0, bottom = 36.0
        guard !values.isEmpty else { return empty(title: title, width: width, height: 80) }
        let peak = max(1, values.max() ?? 1)
        let plotW = width - left - right, plotH = height - top - bottom
        let barW = plotW / Double(values.count)
        var svg = open(width: width, height: height, label: "\(title); peak \(ConsoleFormat.number(peak)) \(unit)")
        svg += "<title>\(ConsoleFormat.escape(title))</title>"
        svg += "<line class=\"axis\" x1=\"\(f(left))\" y1=\"\(f(top + plotH))\" x2=\"\(f(width - right))\" y2=\"\(f(top + plotH))\"/>"
        svg += "<text class=\"tick\" x=\"\(f(left - 6))\" y=\"\(f(top + 4))\" text-anchor=\"end\">\(ConsoleFormat.number(peak))</text>"
        for (k, v) in values.enumerated() {
            let h = plotH * Double(v) / Double(peak)
            if v > 0 {
                svg += "<rect class=\"bar\" x=\"\(f(left + Double(k) * barW + 1))\" y=\"\(f(top + plotH - h))\" width=\"\(f(max(barW - 2, 0.5)))\" height=\"\(f(h))\">"
                svg += "<title>\(ConsoleFormat.escape(k < labels.count ? labels[k] : "\(k)")): \(ConsoleFormat.number(v)) \(unit)</title></rect>"
            }
            if k % max(1, labelEvery) == 0, k < labels.count {
                svg += "<text class=\"tick\" x=\"\(f(left + Double(k) * barW + barW / 2))\" y=\"\(f(height - 18))\" text-anchor=\"middle\">\(ConsoleFormat.escape(labels[k]))</text>"
            }
        }
        return svg + "</svg>"
    }

    /// The account–evidence graph of a campaign sample: accounts on the left, the hashed
    /// evidence values they share on the right, a line for each holding.
    /// - Complexity: O(accounts + evidence + edges).
    public static func evidenceGraph(_ graph: CampaignEvidenceGraph) -> String {
        let rows = max(graph.accounts.count, graph.evidence.count, 1)
        let width = 880.0, rowH = 22.0, top = 24.0
        let height = top + Double(rows) * rowH + 12
        let ax = 250.0, ex = 630.0
        func ay(_ k: Int, _ n: Int) -> Double { top + (Double(rows) * rowH) * (Double(k) + 0.5) / Double(max(n, 1)) }
        var svg = open(width: width, height: height,
                       label: "Evidence graph: \(graph.accounts.count) of \(ConsoleFormat.number(graph.members)) members and the \(graph.evidence.count) hashed values two or more of them share")
        svg += "<title>Accounts and the evidence they share</title>"
        svg += "<text class=\"tick\" x=\"\(f(ax))\" y=\"14\" text-anchor=\"end\">accounts (highest scored)</text>"
        svg += "<text class=\"tick\" x=\"\(f(ex))\" y=\"14\">shared evidence (hashed values)</text>"
        for (a, e) in graph.edges {
            svg += "<line class=\"edge\" x1=\"\(f(ax + 6))\" y1=\"\(f(ay(a, graph.accounts.count)))\" x2=\"\(f(ex - 6))\" y2=\"\(f(ay(e, graph.evidence.count)))\"/>"
        }
        for (k, id) in graph.accounts.enumerated() {
            let y = ay(k, graph.accounts.count)
            let text = ConsoleFormat.escape(id.count > 34 ? String(id.prefix(33)) + "…" : id)
            svg += "<circle class=\"node-account\" cx=\"\(f(ax + 6))\" cy=\"\(f(y))\" r=\"4\"/>"
            // No links inside: a `role="img"` hides its content from assistive technology
            // (the members table links every account).
            svg += "<text class=\"node-label\" x=\"\(f(ax - 2))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(text)</text>"
        }
        for (k, key) in graph.evidence.enumerated() {
            let y = ay(k, graph.evidence.count)
            svg += "<rect class=\"node-evidence\" x=\"\(f(ex - 10))\" y=\"\(f(y - 4))\" width=\"8\" height=\"8\"/>"
            svg += "<text class=\"node-label\" x=\"\(f(ex + 4))\" y=\"\(f(y + 4))\">\(ConsoleFormat.escape(key.label))</text>"
        }
        return svg + "</svg>"
    }

    static func open(width: Double, height: Double, label: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 \(f(width)) \(f(height))\" role=\"img\" aria-label=\"\(ConsoleFormat.escape(label))\">"
    }

    static func empty(title: String, width: Double, height: Double) -> String {
        open(width: width, height: height, label: "\(title): no data")
            + "<title>\(ConsoleFormat.escape(title))</title><text class=\"tick\" x=\"\(f(width / 2))\" y=\"\(f(height / 2))\" text-anchor=\"middle\">no data in the stored history</text></svg>"
    }

    /// One decimal, no locale: SVG coordinates.
    static func f(_ x: Double) -> String {
        guard x.isFinite, abs(x) < 1e12 else { return "0" }
        let r = (x * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) : String(r)
    }
}
