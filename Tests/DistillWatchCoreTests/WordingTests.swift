import Testing
@testable import DistillWatchCore

@Suite struct WordingTests {
    @Test func numbersAreGroupedByThousandsWhateverTheLocale() {
        #expect(Wording.number(0) == "0")
        #expect(Wording.number(12) == "12")
        #expect(Wording.number(999) == "999")
        #expect(Wording.number(1_000) == "1,000")
        #expect(Wording.number(1_234_567) == "1,234,567")
        #expect(Wording.number(-5_311) == "-5,311")
        #expect(Wording.number(Int.min) == "-9,223,372,036,854,775,808")
    }

    @Test func nounsAgreeWithTheirCount() {
        #expect(Wording.counted(1, "campaign") == "1 campaign")
        #expect(Wording.counted(0, "campaign") == "0 campaigns")
        #expect(Wording.counted(5_311, "exchange") == "5,311 exchanges")
        #expect(Wording.counted(2, "match", "matches") == "2 matches")
    }

    @Test func fixedAndPercentKeepTheirDigits() {
        #expect(Wording.fixed(2, 1) == "2.0")
        #expect(Wording.fixed(0.125, 2) == "0.13")
        #expect(Wording.fixed(-0.0001, 2) == "0.00")
        #expect(Wording.fixed(3.7, 0) == "4")
        #expect(Wording.percent(0.1234) == "12.3%")
        #expect(Wording.percent(0.4567, digits: 0) == "46%")
        #expect(Wording.percent(1) == "100.0%")
    }

    @Test func decimalsReadBackAsTheSameDouble() {
        for x in [0.0, 1, 40_000, 0.45, 0.1 + 0.2, 1e-9, 123_456.789, 1e20] {
            #expect(Double(Wording.decimal(x)) == x, "\(x)")
        }
        #expect(Wording.decimal(40_000) == "40000")
        #expect(Wording.decimal(0.45) == "0.45")
    }

    @Test func roundedIsForSentences() {
        #expect(Wording.rounded(3_680.4) == "3,680")
        #expect(Wording.rounded(12.46) == "12.5")
        #expect(Wording.rounded(0.354, digits: 2) == "0.35")
        #expect(Wording.rounded(7) == "7")
        #expect(Wording.rounded(.infinity) == "inf")
    }

    @Test func durationsUseTheirTwoLargestUnits() {
        #expect(Wording.duration(59) == "59s")
        #expect(Wording.duration(848) == "14m 8s")
        #expect(Wording.duration(5_400) == "1h 30m")
        #expect(Wording.duration(90_000) == "1d 1h")
        #expect(Wording.duration(1e300) == "\(Int.max / 86_400)d \((Int.max % 86_400) / 3600)h")
    }
}
