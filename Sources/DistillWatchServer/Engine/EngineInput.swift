import DistillWatchCore
import DistillWatchIngest
import DistillWatchStore
import Foundation

/// One input to the engine, decoded: what an event of the log means.
enum EngineInput: Sendable {
    case exchange(Exchange)
    case account(AccountRecord)
    case accountLabel(accountID: String, LabelEvent)
    case campaignLabel(campaignID: String, LabelEvent)
    case flush
    /// The whole set of indicators from other providers, from this point of the log on
    /// (indexed with the installation's sharing keys).
    case sharedIndicators(SharedIndicatorSet)
}

/// Turns log events back into engine inputs with the same decoders the endpoints use, so
/// a replay sees exactly what the live server saw; and records into their stored form.
struct EventDecoder: Sendable {
    let exchanges: ExchangeLineDecoder
    let accounts = AccountLineDecoder()
    /// The installation's sharing keys (the sketcher's), for indexing shared indicators.
    let sharingKeys: [SharingKey]

    init(captureText: Bool, sketcher: ContentSketcher? = nil) {
        exchanges = ExchangeLineDecoder(captureText: captureText, sketcher: sketcher)
        sharingKeys = sketcher?.sharingKeys ?? []
    }

    /// The log's event for a new set of shared indicators.
    static func storedForm(of indicators: [SharedIndicator]) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array((try? encoder.encode(indicators)) ?? Data("[]".utf8))
    }

    /// The engine input an event stands for.
    /// - Throws: ``StoreError`` naming the event when its payload cannot be decoded or holds
    ///   a value the engine refuses (replay quarantines such an event).
    func input(for event: StoredEvent) throws -> EngineInput {
        do {
            switch event.kind {
            case .exchange:
                return .exchange(try event.payload.withUnsafeBufferPointer { bytes throws(RecordError) in try exchanges.decode(bytes) })
            case .account:
                return .account(try event.payload.withUnsafeBufferPointer { bytes throws(RecordError) in try accounts.decode(bytes) })
            case .accountLabel:
                let id = event.subject ?? ""
                if let problem = RecordLimits.problem(identifier: id, field: "account_id") { throw RecordError(problem) }
                return .accountLabel(accountID: id, try JSONDecoder().decode(LabelEvent.self, from: Data(event.payload)))
            case .campaignLabel:
                return .campaignLabel(campaignID: event.subject ?? "", try JSONDecoder().decode(LabelEvent.self, from: Data(event.payload)))
            case .flush:
                return .flush
            case .indicators:
                let list = try JSONDecoder().decode([SharedIndicator].self, from: Data(event.payload))
                return .sharedIndicators(SharedIndicatorSet(list, sharingKeys: sharingKeys))
            case .unknown:
                throw RecordError("its stored kind is not one this version knows (written by a newer DistillWatch, or a damaged row)")
            }
        } catch {
            throw StoreError("event \(event.sequence) (\(event.kind.name)) cannot be replayed: \(error)")
        }
    }

    // MARK: Stored forms

    /// What the event log keeps of an exchange: the decoded record re-encoded with only the
    /// fields the engine reads and its content sketch, never the line as received, so no
    /// prompt, response or unknown field reaches the database. Decoding it rebuilds the
    /// same engine input.
    static func storedForm(of e: Exchange) -> [UInt8] {
        var out: [UInt8] = []
        JSONLineEncoder.appendWithoutText(e, to: &out)
        out.removeLast()  // the newline
        return out
    }

    /// What the event log keeps of an account record: the decoded record re-encoded.
    static func storedForm(of a: AccountRecord) -> [UInt8] {
        var out: [UInt8] = []
        JSONLineEncoder.append(a, to: &out)
        out.removeLast()
        return out
    }

    /// Upgrades a format-1 payload (the line as received) to its stored form. A line the
    /// engine would now refuse keeps its stored form (without text) and is quarantined; a
    /// line that no longer decodes at all is replaced by nothing, since its text cannot be
    /// told from its fields.
    func upgrade(_ kind: EventKind, _ payload: [UInt8]) -> PayloadUpgrade {
        var lenientExchanges = exchanges
        lenientExchanges.validatesLimits = false
        let lenientAccounts = AccountLineDecoder(validatesLimits: false)
        do throws(RecordError) {
            switch kind {
            case .exchange:
                let e = try payload.withUnsafeBufferPointer { bytes throws(RecordError) in try lenientExchanges.decode(bytes) }
                let stored = Self.storedForm(of: e)
                if let problem = e.problem { return .quarantine(replacement: stored, reason: problem.description) }
                return .replace(stored)
            case .account:
                let a = try payload.withUnsafeBufferPointer { bytes throws(RecordError) in try lenientAccounts.decode(bytes) }
                let stored = Self.storedForm(of: a)
                if let problem = a.problem { return .quarantine(replacement: stored, reason: problem.description) }
                return .replace(stored)
            default:
                return .replace(payload)
            }
        } catch {
            return .quarantine(replacement: [], reason: "\(error); the \(payload.count) bytes received were not kept")
        }
    }
}

extension LabelEvent {
    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array((try? encoder.encode(self)) ?? Data())
    }
}
