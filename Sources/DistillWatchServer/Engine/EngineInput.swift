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
}

/// Turns log events back into engine inputs with the same decoders the endpoints use, so
/// a replay sees exactly what the live server saw.
struct EventDecoder: Sendable {
    let exchanges: ExchangeLineDecoder
    let accounts = AccountLineDecoder()

    init(captureText: Bool, sketcher: ContentSketcher? = nil) {
        exchanges = ExchangeLineDecoder(captureText: captureText, sketcher: sketcher)
    }

    func input(for event: StoredEvent) throws -> EngineInput {
        do {
            switch event.kind {
            case .exchange:
                return .exchange(try event.payload.withUnsafeBufferPointer { bytes throws(RecordError) in try exchanges.decode(bytes) })
            case .account:
                return .account(try event.payload.withUnsafeBufferPointer { bytes throws(RecordError) in try accounts.decode(bytes) })
            case .accountLabel:
                return .accountLabel(accountID: event.subject ?? "", try JSONDecoder().decode(LabelEvent.self, from: Data(event.payload)))
            case .campaignLabel:
                return .campaignLabel(campaignID: event.subject ?? "", try JSONDecoder().decode(LabelEvent.self, from: Data(event.payload)))
            case .flush:
                return .flush
            }
        } catch {
            throw StoreError("event \(event.sequence) (\(event.kind)) cannot be replayed: \(error)")
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
