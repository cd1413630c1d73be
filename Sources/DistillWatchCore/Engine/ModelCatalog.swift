/// Every model seen in the traffic: when it first appeared and the largest `max_tokens`
/// requested for it. Models are interned to small integers so that account state stays
/// fixed-size.
///
/// A model is *newly released* when it first appears more than the policy's grace period
/// after the traffic began (models present from the start were already there).
struct ModelCatalog: Sendable {
    struct Model: Sendable {
        var name: String
        var firstSeen: Timestamp
        var largestMaxTokens: Int32 = 0
        /// The policy's limit for this model, resolved once when the model is first seen.
        var configuredMaxTokens: Int?
        var isNewRelease: Bool
    }

    private(set) var models: [Model] = []
    private var index: [String: Int32] = [:]
    /// The models interned last, newest first (`index` -1: empty): traffic names a handful
    /// of models, so most lookups are answered by a few string comparisons instead of
    /// hashing the name. One entry answered a third of the exchanges of traffic alternating
    /// three models; the hashing of the rest cost 330 instructions an exchange (callgrind,
    /// 1 December 2026).
    private var recent = InlineArray<4, (name: String, index: Int32)>(repeating: ("", -1))

    /// The index of `name` among the recent models, if it is there.
    @inline(__always)
    private func recentIndex(_ name: String) -> Int32? {
        for k in 0..<4 where recent[k].index >= 0 && recent[k].name == name { return recent[k].index }
        return nil
    }

    /// Puts a model first among the recent ones (the oldest leaves).
    private mutating func noteRecent(_ name: String, _ i: Int32) {
        recent[3] = recent[2]
        recent[2] = recent[1]
        recent[1] = recent[0]
        recent[0] = (name, i)
    }
    /// The most recent newly released model and when it first appeared.
    private(set) var latestRelease: (model: Int32, firstSeen: Timestamp)?

    /// Interns `name`, recording its first appearance at `time`.
    ///
    /// Always inlined, so that the policy is read only for a model not among the last four:
    /// passed out of line from the engine's mutating step, it was copied (264 bytes) on every
    /// exchange (callgrind, 1 December 2026).
    /// - Complexity: amortised O(1).
    @inline(__always)
    mutating func intern(_ name: String, at time: Timestamp, trafficStart: Timestamp, policy: Policy) -> Int32 {
        if let i = recentIndex(name) { return i }
        return internLooked(name, at: time, trafficStart: trafficStart, policy: policy)
    }

    /// ``intern(_:at:trafficStart:policy:)`` for a name not among the last four interned.
    private mutating func internLooked(_ name: String, at time: Timestamp, trafficStart: Timestamp, policy: Policy) -> Int32 {
        if let i = index[name] {
            noteRecent(name, i)
            return i
        }
        let graceMs = Int64(clamping: policy.releaseGraceHours * Double(Timestamp.millisecondsPerHour))
        let isNew = time.milliseconds(since: trafficStart) > graceMs
        let i = Int32(models.count)
        models.append(Model(name: name, firstSeen: time, configuredMaxTokens: policy.modelMaxTokens[name], isNewRelease: isNew))
        index[name] = i
        noteRecent(name, i)
        if isNew { latestRelease = (i, time) }
        return i
    }

    /// Whether interning `name` with a `max_tokens` of `maxTokens` would change the
    /// catalogue (a model not seen yet, or a larger `max_tokens` than any before): what the
    /// per-account step reads of it (``maxTokensLimit(model:)``, ``latestRelease``).
    /// - Complexity: O(1) amortised (up to four comparisons with the models interned last).
    func wouldChange(name: String, maxTokens: Int?) -> Bool {
        let i: Int32
        if let recent = recentIndex(name) {
            i = recent
        } else if let found = index[name] {
            i = found
        } else {
            return true
        }
        guard let maxTokens else { return false }
        return Int32(clamping: maxTokens) > models[Int(i)].largestMaxTokens
    }

    mutating func noteMaxTokens(_ value: Int32, model: Int32) {
        guard model >= 0 else { return }
        if value > models[Int(model)].largestMaxTokens { models[Int(model)].largestMaxTokens = value }
    }

    func name(_ model: Int32) -> String? {
        model >= 0 && Int(model) < models.count ? models[Int(model)].name : nil
    }

    /// The output limit of a model: the policy's when it names one, else the largest
    /// `max_tokens` anyone has requested for the model so far.
    func maxTokensLimit(model: Int32) -> Int? {
        guard model >= 0, Int(model) < models.count else { return nil }
        let m = models[Int(model)]
        if let configured = m.configuredMaxTokens { return configured }
        return m.largestMaxTokens > 0 ? Int(m.largestMaxTokens) : nil
    }
}

// MARK: Snapshot

extension ModelCatalog: SnapshotCodable {
    /// Stored properties: the models and the latest release are written; the index and
    /// the recent models' cache are rebuilt.
    static var snapshotFieldCount: Int { 4 }

    func write(to w: inout SnapshotWriter) {
        w.array(models) { w, m in
            w.string(m.name)
            w.timestamp(m.firstSeen)
            w.int(m.largestMaxTokens)
            w.optional(m.configuredMaxTokens) { $0.int($1) }
            w.bool(m.isNewRelease)
        }
        // The index is the models' names in order; the recent models are a cache.
        w.optional(latestRelease) { w, r in
            w.int(r.model)
            w.timestamp(r.firstSeen)
        }
    }

    init(from r: inout SnapshotReader) throws(SnapshotError) {
        models = try r.array(minimumElementSize: 18) { (r: inout SnapshotReader) throws(SnapshotError) in
            Model(name: try r.string(), firstSeen: try r.timestamp(), largestMaxTokens: try r.int(),
                  configuredMaxTokens: try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in try r.int() },
                  isNewRelease: try r.bool())
        }
        index = [:]
        for (i, m) in models.enumerated() { index[m.name] = Int32(i) }
        recent = InlineArray(repeating: ("", -1))
        latestRelease = try r.optional { (r: inout SnapshotReader) throws(SnapshotError) in (model: try r.int(), firstSeen: try r.timestamp()) }
        if let release = latestRelease, !models.indices.contains(Int(release.model)) {
            throw SnapshotError("the latest release names model \(release.model) of \(models.count)")
        }
    }
}
