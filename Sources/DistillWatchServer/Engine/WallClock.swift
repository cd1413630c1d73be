import DistillWatchCore
import Foundation
import Synchronization

/// The server's source of wall-clock time: when events were received, when labels were
/// given, when decisions were made. Injected so tests run on a manual clock. (The engine
/// itself reads no clock: its time is the exchanges' time.)
public struct WallClock: Sendable {
    public var now: @Sendable () -> Timestamp

    public init(now: @escaping @Sendable () -> Timestamp) {
        self.now = now
    }

    public static let system = WallClock { Timestamp(secondsSinceEpoch: Date().timeIntervalSince1970) }

    /// A clock that stays at `start` until advanced (tests).
    public static func manual(_ start: Timestamp) -> (WallClock, @Sendable (Int64) -> Void) {
        let time = Mutex(start)
        return (WallClock { time.withLock { $0 } },
                { ms in time.withLock { $0 = $0.adding(milliseconds: ms) } })
    }
}
