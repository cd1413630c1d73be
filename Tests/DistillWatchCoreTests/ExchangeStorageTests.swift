@testable import DistillWatchCore
import Testing

/// `Exchange` keeps its fields in one copy-on-write buffer: it must still behave as a
/// value (a copy never sees another copy's writes) and compare by its fields.
@Suite struct ExchangeStorageTests {
    let t0 = Timestamp(millisecondsSinceEpoch: 1_772_409_600_000)

    func sample() -> Exchange {
        Exchange(time: t0, accountID: "acct-1", requestID: "req-1", model: "m", inputTokens: 10,
                 outputTokens: 20, temperature: 0.5, stream: true, clientIP: "198.51.100.7",
                 prompt: "hello", endUserID: "u", costUSD: 0.25)
    }

    @Test func aCopyDoesNotSeeWritesToTheOriginal() {
        var original = sample()
        let copy = original
        original.model = "other"
        original.inputTokens = nil
        original.prompt = nil
        original.accountID = "acct-2"
        #expect(copy.model == "m")
        #expect(copy.inputTokens == 10)
        #expect(copy.prompt == "hello")
        #expect(copy.accountID == "acct-1")
        #expect(original.model == "other" && original.inputTokens == nil && original.accountID == "acct-2")
        #expect(copy == sample())
        #expect(original != copy)
    }

    @Test func theOriginalDoesNotSeeWritesToACopy() {
        let original = sample()
        var copy = original
        copy.supplement(with: Exchange(time: t0, accountID: "x", outputTokens: 99, batchID: "b"))
        #expect(original.outputTokens == 20 && original.batchID == nil)
        #expect(copy.outputTokens == 99 && copy.batchID == "b" && copy.accountID == "acct-1")
    }

    @Test func equalityComparesFieldsNotBuffers() {
        let a = sample()
        var b = sample()
        #expect(a == b)
        b.status = 429
        #expect(a != b)
        b.status = nil
        #expect(a == b)
        let c = a
        #expect(c == a)
    }

    /// `checkLimits()` remembers a record it found within the limits (so the scanner need
    /// not check it again) until any field is written; it never marks a record outside
    /// them, nor a buffer another copy shares, and the mark is not a field.
    @Test func aCheckWithinLimitsIsRememberedUntilAWrite() {
        var e = sample()
        #expect(!e.isCheckedWithinLimits)
        #expect(e.checkLimits() == nil)
        #expect(e.isCheckedWithinLimits)
        #expect(e == sample())
        e.model = "m2"
        #expect(!e.isCheckedWithinLimits)
        #expect(e.checkLimits() == nil && e.isCheckedWithinLimits)
        e.content = ContentFeatures()
        #expect(!e.isCheckedWithinLimits)

        var outside = sample()
        outside.userAgent = String(repeating: "x", count: RecordLimits.maximumFieldBytes + 1)
        #expect(outside.checkLimits()?.field == "user_agent")
        #expect(!outside.isCheckedWithinLimits)

        var shared = sample()
        let other = shared
        #expect(shared.checkLimits() == nil)
        #expect(!shared.isCheckedWithinLimits && !other.isCheckedWithinLimits)
    }

    /// A decoder writes a blank record's fields in place (`withFieldsForWriting`): the
    /// record then reads as if built with the initialiser, a copy taken before keeps its
    /// values, and the write forgets an earlier limits check.
    @Test func fieldsWrittenInPlaceAreTheRecordsAndOnlyItsOwn() {
        var e = Exchange()
        #expect(e == Exchange(time: Timestamp(millisecondsSinceEpoch: 0), accountID: ""))
        e.withFieldsForWriting { f in
            f.time = sample().time
            f.accountID = "acct-1"
        }
        #expect(e.accountID == "acct-1" && e.time == sample().time)
        #expect(e.checkLimits() == nil && e.isCheckedWithinLimits)
        let before = e
        e.withFieldsForWriting { f in f.model = "m2" }
        #expect(e.model == "m2" && before.model == nil)
        #expect(!e.isCheckedWithinLimits)
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try e.withFieldsForWriting { (f: inout Exchange.Fields) throws(Stop) in f.status = 500; throw Stop() }
        }
        #expect(e.status == 500, "a write before the error stays written")
        #expect(Exchange(fields: { var f = Exchange.Fields(); f.accountID = "a"; return f }()).accountID == "a")
    }

    @Test func contentIsChangedInPlaceAndOnlyInThisRecord() {
        var a = sample()
        a.content = ContentFeatures()
        let before = a
        a.content!.capability = .agenticToolUse
        #expect(a.content?.capability == .agenticToolUse)
        #expect(before.content?.capability != .agenticToolUse)
    }

    @Test func printsAsItsFields() {
        let text = String(describing: sample())
        #expect(text.hasPrefix("Exchange(time: "))
        #expect(text.contains("accountID: \"acct-1\""))
        #expect(!text.contains("ManagedBuffer"))
    }

    @Test func withoutTextLeavesTheOriginalItsText() {
        let a = sample()
        let stripped = a.withoutText
        #expect(stripped.prompt == nil && a.prompt == "hello")
        #expect(stripped.model == a.model)
    }
}
