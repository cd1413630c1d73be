import Crypto
import DistillWatchCore
import DistillWatchIngest
import DistillWatchStore
import Logging

/// Taking and loading the server's engine snapshots: the engine state (a
/// ``TrafficScanner``) and the server's counters at one point of the event log, so that a
/// restart loads the state and replays only the log after it.
enum EngineSnapshot {
    /// The engine state at the end of the event at `lastSequence`.
    struct Restored: Sendable {
        var scanner: TrafficScanner
        var appliedEvents: Int
        var lastSequence: Int64
        var acceptedExchanges: Int

        init(scanner: TrafficScanner, appliedEvents: Int, lastSequence: Int64, acceptedExchanges: Int) {
            self.scanner = scanner
            self.appliedEvents = appliedEvents
            self.lastSequence = lastSequence
            self.acceptedExchanges = acceptedExchanges
        }

        /// The state a snapshot file holds, with the counters from its header.
        init(scanner: TrafficScanner, header: SnapshotHeader) {
            self.init(scanner: scanner, appliedEvents: Int(header.appliedEvents), lastSequence: header.lastSequence,
                      acceptedExchanges: Int(header.acceptedExchanges))
        }
    }

    /// SHA-256 of what the engine's state depends on besides the log: the policy (as
    /// `distillwatch policy show` renders it), the reorder tolerance and buffer bound, and
    /// the engine's snapshot format. A snapshot under another digest is not the state the
    /// log would rebuild under this configuration. The countermeasure rules are left out:
    /// they change what gateways are told, not the engine's state.
    static func configurationDigest(_ c: ServerConfiguration) -> [UInt8] {
        var policy = c.policy
        policy.countermeasures = .default
        let text = """
            engine_snapshot_format: \(engineSnapshotFormat)
            reorder_tolerance_ms: \(c.reorderToleranceMilliseconds)
            max_buffered_exchanges: \(c.maxBufferedExchanges)
            \(PolicyFile.render(policy))
            """
        return Array(SHA256.hash(data: Array(text.utf8)))
    }

    /// Serialises `captured` and writes it durably into `directory`.
    /// - Throws: ``StoreError`` when the file cannot be written (the state is unchanged).
    /// - Complexity: O(engine state).
    static func write(_ captured: Restored, to directory: SnapshotDirectory, digest: [UInt8], logID: Int64,
                      at time: Timestamp) throws -> SnapshotFile {
        let payload = captured.scanner.snapshot()
        let header = SnapshotHeader(engineFormat: engineSnapshotFormat, lastSequence: captured.lastSequence,
                                    appliedEvents: Int64(captured.appliedEvents), acceptedExchanges: Int64(captured.acceptedExchanges),
                                    takenAt: time, configurationDigest: digest, logID: logID)
        return try directory.write(header, payload: payload)
    }

    /// What start-up found.
    struct Outcome: Sendable {
        var restored: Restored?
        /// The snapshot file loaded.
        var file: SnapshotFile?
        /// Warnings about snapshots passed over, for the log and `/v1/status`.
        var warnings: [String] = []
        /// The log before this sequence is gone (compacted) and no snapshot covering it
        /// could be loaded: the engine starts without that history.
        var historyMissingThrough: Int64 = 0
    }

    /// Loads the newest usable snapshot: one of this log (its log id), that reads back
    /// whole (CRCs, format, layout), does not reach past the log and leaves no compacted
    /// gap before the log's remaining events, and was taken under this configuration. A
    /// snapshot of another log or reaching past this one's end is set aside (renamed
    /// `*.set-aside`, kept for an operator) so that it is never pruned in place of this
    /// log's or used later; every snapshot passed over is a warning. With no snapshot of
    /// this configuration left, the whole log is replayed; but when the log was compacted
    /// (nothing else holds that history), the newest snapshot taken under another
    /// configuration is loaded instead, with a warning, keeping its own reorder settings,
    /// and the current policy judges from there on.
    static func restore(from directory: SnapshotDirectory, configuration: ServerConfiguration,
                        log: EventCounts) -> Outcome {
        var outcome = Outcome()
        let digest = configurationDigest(configuration)
        var otherConfiguration: (file: SnapshotFile, header: SnapshotHeader, payload: [UInt8])?
        let listing = directory.listing()
        outcome.warnings += listing.problems
        for file in listing.files {
            do {
                let (header, payload) = try directory.read(file)
                guard header.logID == log.logID else {
                    directory.setAside(file)
                    outcome.warnings.append("\(file.path): a snapshot of another database (log id \(header.logID), this log's is \(log.logID)); set aside as .set-aside")
                    continue
                }
                guard header.engineFormat == engineSnapshotFormat else {
                    outcome.warnings.append("\(file.path): engine format \(header.engineFormat); this version writes \(engineSnapshotFormat)")
                    continue
                }
                guard header.lastSequence <= log.lastSequence else {
                    directory.setAside(file)
                    outcome.warnings.append("\(file.path): reaches sequence \(header.lastSequence), past the log's last \(log.lastSequence) (commits lost in a power cut?); set aside as .set-aside")
                    continue
                }
                guard header.lastSequence >= log.compactedThrough else {
                    outcome.warnings.append("\(file.path): ends at sequence \(header.lastSequence), before the log's compacted history (through \(log.compactedThrough))")
                    continue
                }
                guard header.configurationDigest == digest else {
                    outcome.warnings.append("\(file.path): taken under another policy or reorder setting")
                    if otherConfiguration == nil { otherConfiguration = (file, header, payload) }
                    continue
                }
                let scanner = try TrafficScanner(snapshot: payload, policy: configuration.policy,
                                                 toleranceMilliseconds: configuration.reorderToleranceMilliseconds,
                                                 mergesRequestIDs: true)
                outcome.restored = Restored(scanner: scanner, header: header)
                outcome.file = file
                return outcome
            } catch {
                outcome.warnings.append("\(file.path): cannot be loaded: \(error)")
            }
        }
        if log.compactedThrough > 0, let (file, header, payload) = otherConfiguration {
            do {
                let scanner = try TrafficScanner(snapshot: payload, policy: configuration.policy, toleranceMilliseconds: nil,
                                                 mergesRequestIDs: true)
                outcome.warnings.append("""
                    \(file.path): loaded although taken under another policy or reorder setting, because the log before it \
                    was compacted: the history is kept, the current policy judges from here on, and the snapshot's reorder \
                    tolerance (\(scanner.buffer.toleranceMilliseconds) ms) stays in force until the engine is rebuilt
                    """)
                outcome.restored = Restored(scanner: scanner, header: header)
                outcome.file = file
                return outcome
            } catch {
                outcome.warnings.append("\(file.path): cannot be loaded: \(error)")
            }
        } else if otherConfiguration != nil {
            outcome.warnings.append("no snapshot of this configuration: replaying the whole log instead")
        }
        outcome.historyMissingThrough = log.compactedThrough
        return outcome
    }
}
