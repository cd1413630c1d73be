import DistillWatchCore
import DistillWatchStore
import DistillWatchTAXII
import Foundation
import Logging
import ServiceLifecycle

/// Polls the partners' TAXII collections of `taxii_feeds` (each every `interval_seconds`),
/// incrementally (`added_after` the last `X-TAXII-Date-Added-Last`, kept in the database),
/// and adds what they give to the feed's collection here, whose indicators the engine
/// matches. A failed poll is logged and retried at the next interval; the server goes on.
struct TAXIIFeedService: Service {
    let state: ServerState
    /// Where a feed's cursor is kept (never served as a TAXII status).
    static let cursorPrefix = "feed-state:"

    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for feed in state.configuration.taxiiFeeds {
                group.addTask { try await poll(feed) }
            }
            try await group.waitForAll()
        }
    }

    private func poll(_ feed: ServerConfiguration.TAXIIFeed) async throws {
        let client = TAXIIClient(apiRoot: feed.apiRoot, collectionID: feed.collection, authentication: feed.authentication)
        let marker = Self.cursorPrefix + feed.name
        while !Task.isCancelledOrShuttingDown {
            do {
                let last = try await state.sharing.objects.taxiiStatus(id: marker).map { String(decoding: $0, as: UTF8.self) }
                let pulled = try await client.pull(addedAfter: last)
                if !pulled.objects.isEmpty, let collection = state.sharing.collection(named: "feed:" + feed.name) {
                    let outcome = try await state.sharing.add(pulled.objects, to: collection, at: state.clock.now())
                    state.logger.info("taxii feed \(feed.name): \(pulled.objects.count) objects, \(outcome.failures.count) refused; \(outcome.indicatorsMatched) indicators matched")
                }
                if let newest = pulled.lastAdded, newest != last {
                    try await state.sharing.objects.recordTAXIIStatus(id: marker, json: Array(newest.utf8), at: state.clock.now())
                }
            } catch {
                state.logger.warning("taxii feed \(feed.name): poll failed (\(error)); next try in \(feed.intervalSeconds) s")
            }
            // Cut short at shutdown, so a stop does not wait out the interval.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(feed.intervalSeconds * 1000))) }
        }
    }
}

extension Task where Success == Never, Failure == Never {
    /// Cancelled, or the service group is shutting down gracefully.
    static var isCancelledOrShuttingDown: Bool { isCancelled || isShuttingDownGracefully }
}
