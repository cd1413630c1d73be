/// A point in time with millisecond resolution, as milliseconds since the Unix epoch (UTC).
///
/// DistillWatch never reads the wall clock inside its core: every time value enters as a
/// `Timestamp` parameter, so tests drive the engine with a manual clock.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var millisecondsSinceEpoch: Int64

    @inlinable
    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    @inlinable
    public init(secondsSinceEpoch: Double) {
        self.millisecondsSinceEpoch = Int64(clamping: (secondsSinceEpoch * 1000).rounded())
    }

    @inlinable
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    @inlinable
    public func adding(milliseconds: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch &+ milliseconds)
    }

    @inlinable
    public func adding(seconds: Double) -> Timestamp {
        adding(milliseconds: Int64(clamping: (seconds * 1000).rounded()))
    }

    /// Milliseconds from `other` to `self` (negative when `self` is earlier).
    @inlinable
    public func milliseconds(since other: Timestamp) -> Int64 {
        millisecondsSinceEpoch &- other.millisecondsSinceEpoch
    }

    /// Whole hours since the epoch, rounding towards minus infinity.
    @inlinable
    public var hourIndex: Int64 { floorDivide(millisecondsSinceEpoch, 3_600_000) }

    /// Whole minutes since the epoch, rounding towards minus infinity.
    @inlinable
    public var minuteIndex: Int64 { floorDivide(millisecondsSinceEpoch, 60_000) }

    /// Whole days since the epoch, rounding towards minus infinity.
    @inlinable
    public var dayIndex: Int64 { floorDivide(millisecondsSinceEpoch, 86_400_000) }

    /// Hour of the day in UTC, 0...23.
    @inlinable
    public var hourOfDay: Int { Int(hourIndex - dayIndex * 24) }

    public var description: String { rfc3339 }

    public static let millisecondsPerMinute: Int64 = 60_000
    public static let millisecondsPerHour: Int64 = 3_600_000
    public static let millisecondsPerDay: Int64 = 86_400_000
}

/// Integer division rounding towards minus infinity (`-1 / 60` is `-1`, not `0`), so that
/// times before the epoch fall into the right minute, hour and day.
@inlinable
public func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

// MARK: - RFC 3339

extension Timestamp {
    /// Parses an RFC 3339 date-time with an explicit offset (`Z` or `±HH:MM`), such as
    /// `2026-04-22T03:14:15.926Z`. Fractions beyond milliseconds are truncated.
    ///
    /// - Complexity: O(n) in the length of the text, no allocation.
    /// - Returns: `nil` when the text is not such a date-time.
    public init?(rfc3339 text: String) {
        var text = text
        let parsed: Timestamp? = text.withUTF8 { Timestamp.parseRFC3339($0) }
        guard let parsed else { return nil }
        self = parsed
    }

    /// Parses RFC 3339 from UTF-8 bytes. See ``init(rfc3339:)``.
    public static func parseRFC3339(_ b: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
        let n = b.count
        guard n >= 20 else { return nil }
        @inline(__always) func digit(_ i: Int) -> Int64? {
            let c = b[i]
            return (c >= 48 && c <= 57) ? Int64(c - 48) : nil
        }
        @inline(__always) func number(_ i: Int, _ len: Int) -> Int64? {
            var v: Int64 = 0
            for k in i..<(i + len) {
                guard let d = digit(k) else { return nil }
                v = v * 10 + d
            }
            return v
        }
        guard let year = number(0, 4), b[4] == UInt8(ascii: "-"),
              let month = number(5, 2), b[7] == UInt8(ascii: "-"),
              let day = number(8, 2),
              b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") || b[10] == UInt8(ascii: " "),
              let hour = number(11, 2), b[13] == UInt8(ascii: ":"),
              let minute = number(14, 2), b[16] == UInt8(ascii: ":"),
              let second = number(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
              hour <= 23, minute <= 59, second <= 60
        else { return nil }
        var i = 19
        var millis: Int64 = 0
        if i < n, b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < n, let d = digit(i) {
                if digits < 3 { millis = millis * 10 + d }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            while digits < 3 { millis *= 10; digits += 1 }
        }
        guard i < n else { return nil }
        var offsetMinutes: Int64 = 0
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign: Int64 = b[i] == UInt8(ascii: "-") ? -1 : 1
            guard i + 6 <= n, let oh = number(i + 1, 2), b[i + 3] == UInt8(ascii: ":"),
                  let om = number(i + 4, 2), oh <= 23, om <= 59
            else { return nil }
            offsetMinutes = sign * (oh * 60 + om)
            i += 6
        default:
            return nil
        }
        guard i == n else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + min(second, 59) - offsetMinutes * 60
        return Timestamp(millisecondsSinceEpoch: seconds * 1000 + millis)
    }

    /// The time as RFC 3339 in UTC with millisecond precision, e.g. `2026-04-22T03:14:15.926Z`.
    public var rfc3339: String {
        let ms = millisecondsSinceEpoch
        let days = floorDivide(ms, Timestamp.millisecondsPerDay)
        let msOfDay = ms - days * Timestamp.millisecondsPerDay
        let (y, m, d) = civilFromDays(days)
        let h = msOfDay / 3_600_000
        let mi = (msOfDay / 60_000) % 60
        let s = (msOfDay / 1000) % 60
        let f = msOfDay % 1000
        func pad(_ v: Int64, _ w: Int) -> String {
            let s = String(v)
            return s.count >= w ? s : String(repeating: "0", count: w - s.count) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(h, 2)):\(pad(mi, 2)):\(pad(s, 2)).\(pad(f, 3))Z"
    }
}

@inlinable
func isLeapYear(_ y: Int64) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

@inlinable
func daysInMonth(year: Int64, month: Int64) -> Int64 {
    switch month {
    case 2: return isLeapYear(year) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
@inlinable
func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = floorDivide(y, 400)
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

/// Inverse of ``daysFromCivil(year:month:day:)``.
@inlinable
func civilFromDays(_ z0: Int64) -> (Int64, Int64, Int64) {
    let z = z0 + 719_468
    let era = floorDivide(z, 146_097)
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let y = yoe + era * 400
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (m <= 2 ? y + 1 : y, m, d)
}
