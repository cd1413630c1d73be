import DistillWatchCore
import Testing
@testable import DistillWatchConsole

@Suite struct ConsoleFormatTests {
    @Test func thousandsSeparators() {
        #expect(ConsoleFormat.number(0) == "0")
        #expect(ConsoleFormat.number(999) == "999")
        #expect(ConsoleFormat.number(1_000) == "1,000")
        #expect(ConsoleFormat.number(28_800_000) == "28,800,000")
        #expect(ConsoleFormat.number(-1_234_567) == "-1,234,567")
        #expect(ConsoleFormat.decimal(1234.567) == "1,234.57")
        #expect(ConsoleFormat.decimal(0.005, digits: 2) == "0.01")
        #expect(ConsoleFormat.percent(0.314) == "31.4%")
        // Values no Int64 holds are written, never trapped on.
        #expect(ConsoleFormat.decimal(1e300).hasPrefix("≥") && ConsoleFormat.decimal(-.greatestFiniteMagnitude).hasPrefix("≤"))
        #expect(ConsoleFormat.decimal(.nan) == "n/a" && ConsoleFormat.dollars(.infinity) == "$∞")
    }

    @Test func timesAreUTCWithTheZoneStated() {
        let t = Timestamp(rfc3339: "2026-01-04T13:05:59.999Z")!
        #expect(ConsoleFormat.time(t) == "2026-01-04 13:05 UTC")
        #expect(ConsoleFormat.time(nil) == "–")
    }

    @Test func escapingCoversMarkupAndAttributes() {
        #expect(ConsoleFormat.escape("<script>alert(\"x\")</script>&'") == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;")
        #expect(ConsoleFormat.escape("a\u{01}b") == "a\u{FFFD}b")
        #expect(ConsoleFormat.pathSegment("a b/<c>") == "a%20b%2F%3Cc%3E")
        // Dot segments would be resolved away by the browser.
        #expect(ConsoleFormat.pathSegment("..") == "%2E%2E" && ConsoleFormat.pathSegment(".") == "%2E" && ConsoleFormat.pathSegment("a..b") == "a..b")
        // Bidirectional controls are shown by name (they would reorder what follows them).
        #expect(ConsoleFormat.escape("bidi\u{202E}gnp.exe") == "bidi[U+202E]gnp.exe")
        #expect(ConsoleFormat.escape("\u{2066}x\u{2069}") == "[U+2066]x[U+2069]")
    }
}
