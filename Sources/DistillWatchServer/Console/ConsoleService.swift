import Crypto
import DistillWatchConsole
import DistillWatchCore
import Synchronization

/// Console sessions: an analyst signs in once with a token that has the `analyst` role
/// and gets a random session id in a cookie; each session carries its own CSRF token,
/// which every state-changing form sends back (OWASP CSRF Prevention Cheat Sheet,
/// "synchronizer token pattern").
///
/// Sessions live in memory (a restart signs everyone out), expire after
/// `console_session_hours`, and are capped at ``maxSessions`` (the oldest go first).
final class ConsoleService: Sendable {
    struct Session: Sendable {
        var analyst: String
        var csrf: String
        var expires: Timestamp
        var created: Timestamp
    }

    let renderer: ConsoleRenderer
    let sessionMilliseconds: Int64
    static let maxSessions = 10_000
    private let sessions = Mutex<[String: Session]>([:])
    /// Campaign timelines by campaign id: summing the hours of 25,000 members takes the
    /// store about half a second, so a page shows the last one computed and refreshes it
    /// in the background when it is older than ``timelineMaxAgeMilliseconds`` or the
    /// membership changed (stale-while-revalidate, RFC 5861's idea); only a campaign's
    /// first view waits for it.
    private let timelines = Mutex<[String: TimelineEntry]>([:])
    static let timelineMaxAgeMilliseconds: Int64 = 60_000

    struct TimelineEntry: Sendable {
        var members: Int
        var computedAt: Timestamp
        var hours: [HourlyTotals]
        var refreshing = false
    }

    /// The campaign's timeline and when it was computed.
    func timeline(_ campaign: String, members: Int, now: Timestamp,
                  compute: @escaping @Sendable () async throws -> [HourlyTotals]) async throws -> (hours: [HourlyTotals], at: Timestamp) {
        enum Plan { case fresh([HourlyTotals], Timestamp), stale([HourlyTotals], Timestamp), missing }
        let plan = timelines.withLock { all -> Plan in
            guard var entry = all[campaign] else { return .missing }
            let old = entry.members != members || now.milliseconds(since: entry.computedAt) > Self.timelineMaxAgeMilliseconds
            if old, !entry.refreshing {
                entry.refreshing = true
                all[campaign] = entry
                return .stale(entry.hours, entry.computedAt)
            }
            return .fresh(entry.hours, entry.computedAt)
        }
        switch plan {
        case .fresh(let hours, let at):
            return (hours, at)
        case .stale(let hours, let at):
            Task {
                let fresh = try? await compute()
                self.timelines.withLock { all in
                    if let fresh { all[campaign] = TimelineEntry(members: members, computedAt: now, hours: fresh) } else { all[campaign]?.refreshing = false }
                }
            }
            return (hours, at)
        case .missing:
            let hours = try await compute()
            timelines.withLock { all in
                if all.count >= 256 { all.removeAll() }
                all[campaign] = TimelineEntry(members: members, computedAt: now, hours: hours)
            }
            return (hours, now)
        }
    }

    /// - Throws: when a template does not parse (a build defect the tests catch).
    init(sessionHours: Double) throws {
        renderer = try ConsoleRenderer()
        sessionMilliseconds = Int64(sessionHours * 3_600_000)
    }

    /// Opens a session for `analyst`; answers its id (the cookie value) and the session.
    func signIn(analyst: String, at now: Timestamp) -> (id: String, session: Session) {
        let id = Self.randomToken()
        let session = Session(analyst: analyst, csrf: Self.randomToken(), expires: now.adding(milliseconds: sessionMilliseconds), created: now)
        sessions.withLock { all in
            if all.count >= Self.maxSessions {
                all = all.filter { $0.value.expires > now }
                if all.count >= Self.maxSessions, let oldest = all.min(by: { $0.value.created < $1.value.created })?.key {
                    all[oldest] = nil
                }
            }
            all[id] = session
        }
        return (id, session)
    }

    /// The live session for a cookie value, or `nil` (unknown or expired).
    func session(_ id: String?, at now: Timestamp) -> Session? {
        guard let id, id.utf8.count == 64 else { return nil }
        return sessions.withLock { all in
            guard let s = all[id] else { return nil }
            if s.expires <= now { all[id] = nil; return nil }
            return s
        }
    }

    func signOut(_ id: String) {
        _ = sessions.withLock { $0.removeValue(forKey: id) }
    }

    var count: Int { sessions.withLock { $0.count } }

    /// 32 random bytes (the system's CSPRNG, `getrandom(2)` on Linux) as 64 hex digits.
    static func randomToken() -> String {
        var g = SystemRandomNumberGenerator()
        var out = ""
        out.reserveCapacity(64)
        for _ in 0..<4 {
            let v = g.next() as UInt64
            let hex = String(v, radix: 16)
            out += String(repeating: "0", count: 16 - hex.count) + hex
        }
        return out
    }

    /// The key the sign-in form's token is derived under, drawn at start.
    private let loginKey: [UInt8] = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }

    /// The sign-in form's token for a `dw_login` nonce: HMAC-SHA-256, 64 hex digits.
    func loginToken(for nonce: String) -> String {
        HMAC<SHA256>.authenticationCode(for: Array(nonce.utf8), using: SymmetricKey(data: loginKey)).lowercaseHex
    }

    /// Compares two secrets in time that depends only on their lengths.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in x.indices { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}
