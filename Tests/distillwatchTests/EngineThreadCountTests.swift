import Testing
@testable import distillwatch

/// `--engine-threads N|auto` (`EngineThreadCount`): what `auto` resolves to.
@Suite struct EngineThreadCountTests {
    /// `auto` runs several engine threads only where linkage and the accounts would each
    /// have a core beside decoding: never on 2 cores, where two measured slower than one.
    @Test func automaticEngineThreadsLeaveNoThreadWithoutACore() {
        let auto = EngineThreadCount.auto
        #expect(auto.resolved(sketchingPrompts: false, cores: 1) == 1)
        #expect(auto.resolved(sketchingPrompts: false, cores: 2) == 1)
        #expect(auto.resolved(sketchingPrompts: false, cores: 3) == 2)
        #expect(auto.resolved(sketchingPrompts: false, cores: 4) == 3)
        #expect(auto.resolved(sketchingPrompts: false, cores: 200) == 64)
        for cores in [1, 2, 4, 16] {
            #expect(auto.resolved(sketchingPrompts: true, cores: cores) == 1, "\(cores) cores, prompts sketched")
        }
        #expect(EngineThreadCount.count(3).resolved(sketchingPrompts: true, cores: 2) == 3)
    }

    @Test func parsesAutoAndCountsInRange() throws {
        #expect(try EngineThreadCount.parse("auto") == .auto)
        #expect(try EngineThreadCount.parse("1") == .count(1))
        #expect(try EngineThreadCount.parse("64") == .count(64))
        for bad in ["0", "65", "-1", "two", ""] {
            #expect(throws: (any Error).self, "'\(bad)'") { try EngineThreadCount.parse(bad) }
        }
    }
}
