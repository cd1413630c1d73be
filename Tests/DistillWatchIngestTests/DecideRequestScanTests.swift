@testable import DistillWatchIngest
import Foundation
import Testing

/// The fast path of `POST /v1/decide` bodies (``DecideRequest/scanned(_:)``) reads what
/// Foundation's decoder reads, or declines: it never accepts a body Foundation refuses, and
/// never reads a value differently.
@Suite struct DecideRequestScanTests {
    struct Fields: Equatable {
        var account: String, key: String?, request: String?, ip: String?, agent: String?, model: String?
        var maxTokens: Int?, temperature: Double?, prompt: String?, prefill: Bool?, thinking: Bool?, dryRun: Bool?
        var country: String?

        init(_ r: DecideRequest) {
            account = r.accountID; key = r.apiKeyID; request = r.requestID; ip = r.clientIP; agent = r.userAgent
            model = r.model; maxTokens = r.maxTokens; temperature = r.temperature; prompt = r.prompt
            prefill = r.prefill; thinking = r.thinking; dryRun = r.dryRun; country = r.country
        }
    }

    static func fast(_ body: String) -> Fields? {
        Array(body.utf8).withUnsafeBytes { DecideRequest.scanned($0) }.map(Fields.init)
    }

    static func foundation(_ body: String) -> Fields? {
        (try? Array(body.utf8).withUnsafeBytes { (raw) throws(BodyError) in try JSONBodyDecoder.decode(DecideRequest.self, from: raw) })
            .map(Fields.init)
    }

    static let plain = [
        #"{"account_id":"acct-1"}"#,
        #"{"account_id": "acct-2", "api_key_id": "key-9", "request_id": "req-1", "model": "sable-4", "max_tokens": 4096, "temperature": 0.7, "prefill": false, "thinking": true, "dry_run": false, "country": "DE"}"#,
        #" { "client_ip" : "198.51.7.9", "user_agent": "anthropic-typescript/0.28.0 (node 18)", "account_id" : "a\u005f\"quoted\"\n", "prompt": "ünïcødé 🚀 \ud83d\ude80" } "#,
        #"{"account_id":"x","api_key_id":null,"max_tokens":null,"temperature":1,"thinking":null,"extra":{"nested":[1,2,{"a":null}]},"more":[]}"#,
        #"{"account_id":"x","temperature":-0.001,"max_tokens":-0}"#,
        #"{"account_id":"a","temperature":123456789012345678901234567890}"#,
        #"{"account_id":"x","temperature":0.30000000000000004}"#,
    ]

    @Test func plainBodiesTakeTheFastPathAndReadTheSameValues() throws {
        for body in Self.plain {
            let fast = try #require(Self.fast(body), "fast path declined \(body)")
            #expect(fast == Self.foundation(body), "\(body)")
        }
    }

    static let declined = [
        "", "   ", "[]", "null", #"{}"#, #"{"account_id":null}"#, #"{"account_id":7}"#,
        #"{"account_id":"a","account_id":"b"}"#, #"{"account_id":"a","max_tokens":1.5}"#,
        #"{"account_id":"a","max_tokens":1e3}"#, #"{"account_id":"a","max_tokens":"12"}"#,
        #"{"account_id":"a","thinking":1}"#, #"{"account_id":"a","model":5}"#, #"{"account_id":"a"} x"#,
        #"{"account_id":"a","#, #"{"account_id":"\ud800"}"#, "\u{FEFF}{\"account_id\":\"a\"}",
        #"{"account_id":"a","temperature":1e-3}"#, #"{"account_id":"a","temperature":0E7}"#,
        // A name given twice anywhere, known to the request or not.
        #"{"account_id":"a","x":1,"x":2}"#, #"{"account_id":"a","x":{"y":[{"z":1,"z":2}]}}"#,
        #"{"x":1,"account_id":"a","model":"m","x":null}"#,
    ]

    @Test func unusualOrBrokenBodiesAreLeftToFoundation() {
        for body in Self.declined {
            #expect(Self.fast(body) == nil, "\(body)")
        }
    }

    /// What the slow path says where Foundation's own message would not name the field:
    /// a number `max_tokens` cannot hold, and a name given twice at any depth (Foundation
    /// reads the first of two, Python's `json` and `JSON.parse` the last).
    @Test func bodiesFoundationMisreportsAreErrorsNamingTheField() {
        func message(_ body: String) -> String? {
            do {
                _ = try Array(body.utf8).withUnsafeBytes { (raw) throws(BodyError) in try JSONBodyDecoder.decode(DecideRequest.self, from: raw) }
                return nil
            } catch let error as BodyError {
                return error.message
            } catch {
                return "\(error)"
            }
        }
        let cases: [(String, String)] = [
            (#"{"account_id":"a","max_tokens":1.5}"#, #"field "max_tokens": should be a whole number, got 1.5"#),
            (#"{"account_id":"a","max_tokens":1e300}"#, #"field "max_tokens": should be a whole number from -2^63 to 2^63 - 1, got 1e+300"#),
            (#"{"account_id":"a","max_tokens":9223372036854775808}"#, #"field "max_tokens": should be a whole number from -2^63"#),
            (#"{"account_id":"a","account_id":"b"}"#, #"field "account_id": given more than once"#),
            (#"{"account_id":"a","x":{"y":[0,{"z":1,"z":2}]}}"#, #"field "x.y[1].z": given more than once"#),
            ("\u{FEFF}{\"account_id\":\"a\",\"model\":\"m\",\"model\":\"n\"}", #"field "model": given more than once"#),
        ]
        for (body, expected) in cases {
            let got = message(body)
            #expect(got?.hasPrefix(expected) == true, "\(body) → \(got ?? "accepted")")
        }
        // Still read: a whole number written as a fraction or with an exponent, names in
        // different objects, and the same name in sibling objects.
        #expect(message(#"{"account_id":"a","max_tokens":1e3,"x":{"account_id":1},"y":[{"k":1},{"k":2}]}"#) == nil)
        #expect(Self.foundation(#"{"account_id":"a","max_tokens":4096.0}"#)?.maxTokens == 4096)
        // The other bodies with a whole number.
        do {
            _ = try Array(#"{"account_id":"a","treatment":"withhold","reasoning_tokens":2.5}"#.utf8).withUnsafeBytes { (raw) throws(BodyError) in
                try JSONBodyDecoder.decode(ReasoningRequest.self, from: raw)
            }
            Issue.record("a fraction of a reasoning token was accepted")
        } catch {
            #expect((error as? BodyError)?.message == #"field "reasoning_tokens": should be a whole number, got 2.5"#)
        }
    }

    /// Thousands of damaged copies of the plain bodies (bytes replaced, dropped, doubled;
    /// seeded): whenever the fast path reads one, Foundation reads the same.
    @Test func damagedBodiesNeverReadDifferently() {
        var rng = SystemRandomNumberGenerator.Seeded(seed: 0xDEC1DE)
        var read = 0
        let alphabet = Array(#"{}[]":,\ 0123456789.eE-+tfnulasrx"#.utf8)
        for round in 0..<50_000 {
            var bytes = Array(Self.plain[round % Self.plain.count].utf8)
            for _ in 0..<(1 + Int(rng.next() % 3)) where !bytes.isEmpty {
                let at = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: at)
                default: bytes.insert(bytes[at], at: at)
                }
            }
            let fast = bytes.withUnsafeBytes { DecideRequest.scanned($0) }.map(Fields.init)
            guard let fast else { continue }
            read += 1
            let slow = (try? bytes.withUnsafeBytes { (raw) throws(BodyError) in try JSONBodyDecoder.decode(DecideRequest.self, from: raw) })
                .map(Fields.init)
            #expect(fast == slow, "\(String(decoding: bytes, as: UTF8.self))")
        }
        #expect(read > 5_000)
    }
}

extension SystemRandomNumberGenerator {
    /// SplitMix64 (Steele, Lea and Flood, OOPSLA 2014): a seeded generator for repeatable
    /// damage.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
