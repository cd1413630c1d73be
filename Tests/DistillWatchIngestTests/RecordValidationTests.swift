import DistillWatchCore
import Foundation
import Testing
@testable import DistillWatchIngest

/// The validation layer as the line readers apply it: times in any epoch unit the
/// magnitude tells, every out-of-range value refused with its field, bytes that are not
/// UTF-8 refused, a byte order mark skipped.
@Suite struct RecordValidationTests {
    let decoder = ExchangeLineDecoder()
    static let expected = Timestamp(rfc3339: "2026-03-02T00:00:00.250Z")!

    @Test(arguments: [
        "1772409600.25",            // fractional seconds
        "1772409600250",            // milliseconds
        "1772409600250000",         // microseconds
        "1772409600250000000",      // nanoseconds (OTLP)
        "1772409600250.4",          // fractional milliseconds
        #""2026-03-02T01:00:00.250+01:00""#,
    ])
    func epochUnitsAreToldByMagnitude(_ time: String) throws {
        let e = try decoder.decode(#"{"time":\#(time),"account_id":"a"}"#)
        #expect(e.time == Self.expected)
    }

    @Test func integerEpochSecondsAreNotReadAsMilliseconds() throws {
        // 1772409600 as milliseconds would be 1970-01-21: revision 1.1 reads it as seconds.
        let e = try decoder.decode(#"{"time":1772409600,"account_id":"a"}"#)
        #expect(e.time.rfc3339 == "2026-03-02T00:00:00.000Z")
    }

    @Test(arguments: [
        (#"{"time":0,"account_id":"a"}"#, "time", "not a time between 2000 and 2100"),
        (#"{"time":-9223372036854775808,"account_id":"a"}"#, "time", "not a time between 2000 and 2100"),
        (#"{"time":99999999999,"account_id":"a"}"#, "time", "not a time between 2000 and 2100"),
        (#"{"time":"1969-12-01T00:00:00Z","account_id":"a"}"#, "time", "outside the accepted range"),
        (#"{"time":"2100-01-01T00:00:00Z","account_id":"a"}"#, "time", "outside the accepted range"),
        (#"{"time":1772409600000,"account_id":"a","output_tokens":-1}"#, "output_tokens", "-1 is negative"),
        (#"{"time":1772409600000,"account_id":"a","max_tokens":100000001}"#, "max_tokens", "more than 100000000"),
        (#"{"time":1772409600000,"account_id":"a","status":-1}"#, "status", "not an HTTP status"),
        (#"{"time":1772409600000,"account_id":"a","status":600}"#, "status", "not an HTTP status"),
        (#"{"time":1772409600000,"account_id":"a","latency_ms":1e400}"#, "latency_ms", "number out of range"),
        (#"{"time":1772409600000,"account_id":"a","latency_ms":-3}"#, "latency_ms", "is negative"),
        (#"{"time":1772409600000,"account_id":"a","temperature":-9}"#, "temperature", "is negative"),
        (#"{"time":1772409600000,"account_id":"a","asn":-4}"#, "asn", "not an autonomous system number"),
        (#"{"time":1772409600000,"account_id":"a","tool_count":18446744073709551616}"#, "tool_count", "integer out of range"),
        (#"{"time":1772409600000,"account_id":"a","message_count":-3}"#, "message_count", "-3 is negative"),
    ] as [(String, String, String)])
    func outOfRangeValuesAreRefusedByField(_ line: String, _ field: String, _ reason: String) {
        #expect {
            try decoder.decode(line)
        } throws: { error in
            let e = error as! RecordError
            return e.field == field && e.reason.contains(reason)
        }
    }

    @Test func anIdentifierLongerThanTheLimitIsRefused() throws {
        let ok = String(repeating: "x", count: RecordLimits.maximumIdentifierBytes)
        #expect(try decoder.decode(#"{"time":1772409600000,"account_id":"\#(ok)"}"#).accountID == ok)
        #expect { try decoder.decode(#"{"time":1772409600000,"account_id":"\#(ok)x"}"#) } throws: {
            ($0 as? RecordError)?.field == "account_id"
        }
    }

    @Test func invalidUTF8IsRefusedNotMergedIntoOneId() throws {
        for bad: [UInt8] in [[0xFF], [0xFE], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
            var line = Array(#"{"time":1772409600000,"account_id":"utf8-"#.utf8) + bad
            line += Array(#""}"#.utf8)
            #expect {
                try line.withUnsafeBufferPointer { (b) throws(RecordError) in try decoder.decode(b) }
            } throws: { ($0 as? RecordError)?.reason.contains("invalid UTF-8 at byte 42") == true }
        }
        // Well-formed multi-byte text is accepted as is.
        #expect(try decoder.decode(#"{"time":1772409600000,"account_id":"acct-ü-😀-中"}"#).accountID == "acct-ü-😀-中")
    }

    @Test func unpairedSurrogateEscapesAreRefused() throws {
        for escape in [#"\ud800"#, #"\udc00"#, #"\ud800\u0041"#] {
            #expect {
                try decoder.decode(#"{"time":1772409600000,"account_id":"a\#(escape)"}"#)
            } throws: { ($0 as? RecordError)?.reason.contains("unpaired UTF-16 surrogate") == true }
        }
        #expect(try decoder.decode(#"{"time":1772409600000,"account_id":"\ud83d\ude00"}"#).accountID == "😀")
    }

    @Test func aByteOrderMarkIsSkipped() throws {
        let line: [UInt8] = [0xEF, 0xBB, 0xBF] + Array(#"{"time":1772409600000,"account_id":"bom"}"#.utf8)
        let e = try line.withUnsafeBufferPointer { (b) throws(RecordError) in try decoder.decode(b) }
        #expect(e.accountID == "bom")
    }

    @Test func accountRecordsAreValidatedToo() {
        #expect { try AccountLineDecoder().decode(#"{"account_id":"a","created":"1960-01-01T00:00:00Z"}"#) } throws: {
            ($0 as? RecordError)?.field == "created"
        }
        #expect { try AccountLineDecoder().decode(#"{"account_id":""}"#) } throws: { ($0 as? RecordError)?.reason == "is empty" }
    }

    @Test func aLenientDecoderReadsOldRecordsForQuarantine() throws {
        let lenient = ExchangeLineDecoder(validatesLimits: false)
        let e = try lenient.decode(#"{"time":1772409600000,"account_id":"a","output_tokens":-5}"#)
        #expect(e.outputTokens == -5)
        #expect(e.problem == RecordProblem(field: "output_tokens", "-5 is negative"))
    }
}

/// Spec revision 1.1's account fields `plan` and `plan_price_usd`: read, bounded, written
/// back the same, and merged like the others.
@Suite struct AccountPlanFieldTests {
    @Test func planFieldsRoundTripAndAreBounded() throws {
        let decoder = AccountLineDecoder()
        var line = Array(#"{"account_id":"a1","tier":"pro","plan":"pro-monthly","plan_price_usd":20}"#.utf8)
        let a = try line.withUnsafeMutableBufferPointer { b in
            try Result { () throws(RecordError) in try decoder.decode(UnsafeBufferPointer(b)) }.get()
        }
        #expect(a.plan == "pro-monthly" && a.planPriceUSD == 20)
        var written: [UInt8] = []
        JSONLineEncoder.append(a, to: &written)
        let again = try written.withUnsafeMutableBufferPointer { b in
            try Result { () throws(RecordError) in try decoder.decode(UnsafeBufferPointer(rebasing: b.dropLast())) }.get()
        }
        #expect(again == a)
        var negative = Array(#"{"account_id":"a1","plan_price_usd":-5}"#.utf8)
        let refused = negative.withUnsafeMutableBufferPointer { b in
            Result { () throws(RecordError) in try decoder.decode(UnsafeBufferPointer(b)) }
        }
        guard case .failure(let error) = refused else { Issue.record("a negative price was accepted"); return }
        #expect(error.field == "plan_price_usd" && error.reason.contains("negative"))
        var older = AccountRecord(accountID: "a1", plan: "free")
        older.merge(AccountRecord(accountID: "a1", planPriceUSD: 0))
        #expect(older.plan == "free" && older.planPriceUSD == 0)
    }
}
