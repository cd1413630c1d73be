/// Saturating arithmetic for the engine's counters.
///
/// Swift traps on integer overflow, which in a long-running server is a denial of service:
/// one hostile record, or years of traffic on one account, would stop the process, and a
/// replay of the log would stop it again. The engine's counters therefore saturate: a
/// counter that reaches its type's bound stays there. Saturation was chosen over checked
/// arithmetic (refusing the record) because the bound is only reachable by accumulation,
/// after the record was validated (``RecordLimits``), and a counter pinned at its maximum
/// still reads as "a great deal", which is what the signals need.
extension FixedWidthInteger {
    /// `self + other`, clamped to `Self.min ... Self.max`.
    @inlinable
    public func addingSaturating(_ other: Self) -> Self {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other < 0 ? .min : .max
    }

    /// Adds `other`, clamping at the type's bounds.
    @inlinable
    public mutating func addSaturating(_ other: Self) {
        self = addingSaturating(other)
    }

    /// Adds one, staying at `Self.max` once there.
    @inlinable
    public mutating func incrementSaturating() {
        if self != .max { self += 1 }
    }

    /// `self - other`, clamped to `Self.min ... Self.max`.
    @inlinable
    public func subtractingSaturating(_ other: Self) -> Self {
        let (difference, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return difference }
        return other < 0 ? .max : .min
    }

    /// `self × other`, clamped to `Self.min ... Self.max`.
    @inlinable
    public func multipliedSaturating(by other: Self) -> Self {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        guard overflow else { return product }
        return (self < 0) == (other < 0) ? .max : .min
    }
}

extension FixedWidthInteger {
    /// `x` rounded towards zero and clamped to `Self.min ... Self.max`; `nan` is 0. Swift's
    /// `Int64(x)` traps on a double out of range, and policy numbers (hours, rates) reach
    /// such conversions multiplied by constants.
    @inlinable
    public init(clamping x: Double) {
        if x.isNaN {
            self = 0
        } else if x >= Double(Self.max) {
            self = .max
        } else if x <= Double(Self.min) {
            self = .min
        } else {
            self.init(x)
        }
    }
}

/// `a mod n` in `0 ..< n` for any `a`, also negative (Swift's `%` keeps the sign of `a`).
@inlinable
public func floorModulo(_ a: Int64, _ n: Int64) -> Int64 {
    let r = a % n
    return r < 0 ? r + n : r
}
