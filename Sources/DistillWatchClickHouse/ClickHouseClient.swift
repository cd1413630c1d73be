import AsyncHTTPClient
import DistillWatchIngest
import Foundation
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#endif

/// Queries a ClickHouse server over its HTTP interface (async-http-client): small answers
/// read whole, large results streamed gzip-compressed into a descriptor, rows inserted as
/// JSONEachRow.
///
/// Works with ClickHouse 18.16 (Debian's package) and current servers: credentials go as
/// the `user` and `password` parameters, settings as URL parameters, the query as the POST
/// body. Source: ClickHouse documentation, "HTTP Interface".
public final class ClickHouseClient: Sendable {
    public let endpoint: ClickHouseEndpoint
    let client: HTTPClient
    /// How long a small query may take, whole.
    public let queryTimeout: TimeAmount
    /// Answers read whole are cut at this many bytes.
    public static let maximumAnswerBytes = 64 << 20

    /// - Parameters:
    ///   - idleTimeout: the longest wait for the next bytes of a streamed result (s).
    ///   - connectTimeout: how long a connection is tried (refused ones again, with back-off).
    public init(endpoint: ClickHouseEndpoint, queryTimeout: TimeAmount = .seconds(60), idleTimeout: TimeAmount = .seconds(300),
                connectTimeout: TimeAmount = .seconds(10)) {
        self.endpoint = endpoint
        self.queryTimeout = queryTimeout
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: connectTimeout, read: idleTimeout)
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Closes the client's connections. Call once, when done.
    public func shutdown() async {
        try? await client.shutdown()
    }

    /// A client dropped without ``shutdown()`` (its owner failed before it ran) closes its
    /// connections in the background instead of leaking them.
    deinit {
        client.shutdown { _ in }
    }

    /// When set, every statement sent is appended to the file this variable names (one
    /// statement per line, settings as a comment): to see what DistillWatch asks of a
    /// server, or replay it on another version.
    public static let queryLogVariable = "DISTILLWATCH_CLICKHOUSE_QUERY_LOG"

    static func log(_ sql: String, settings: [String: String]) {
        guard let path = ProcessInfo.processInfo.environment[queryLogVariable], !path.isEmpty else { return }
        let line = sql.replacingOccurrences(of: "\n", with: " ") + " -- " + settings.sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value)" }.joined(separator: " ") + "\n"
        guard let handle = FileHandle(forWritingAtPath: path) ?? {
            FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        }() else { return }
        handle.seekToEndOfFile()
        handle.write(Data(line.utf8))
        try? handle.close()
    }

    func url(settings: [String: String], query: String? = nil) -> String {
        if let query { Self.log(query, settings: settings) }
        var items = [URLQueryItem(name: "database", value: endpoint.database)]
        if let user = endpoint.user { items.append(URLQueryItem(name: "user", value: user)) }
        if let password = endpoint.password { items.append(URLQueryItem(name: "password", value: password)) }
        if let query { items.append(URLQueryItem(name: "query", value: query)) }
        for (k, v) in settings.sorted(by: { $0.key < $1.key }) { items.append(URLQueryItem(name: k, value: v)) }
        var c = URLComponents()
        c.queryItems = items
        // URLComponents leaves '+' as is, which a server reads as a space.
        let query = (c.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        return endpoint.baseURL + "?" + query
    }

    /// Runs a query and returns its whole answer as text.
    /// - Throws: ``ClickHouseError`` (unreachable, server exception with its code).
    public func query(_ sql: String, settings: [String: String] = [:]) async throws(ClickHouseError) -> String {
        Self.log(sql, settings: settings)
        let bytes = try await send(body: Data(sql.utf8), url: url(settings: settings), deadline: .now() + queryTimeout)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A table's columns, as `DESCRIBE TABLE` lists them.
    /// - Throws: ``ClickHouseError`` (error 60 for a missing table, 81 for a missing database).
    public func describe(_ table: String) async throws(ClickHouseError) -> [ClickHouseColumn] {
        ClickHouseColumn.parseDescription(try await query("DESCRIBE TABLE \(table) FORMAT TabSeparated"))
    }

    /// Runs a statement that returns nothing (DDL, INSERT … SELECT).
    public func execute(_ sql: String, settings: [String: String] = [:]) async throws(ClickHouseError) {
        _ = try await query(sql, settings: settings)
    }

    /// Inserts rows given as JSON Lines (one object per row, keys named as columns).
    /// - Complexity: one request; `rows` is sent as is.
    public func insert(into table: String, jsonLines rows: Data) async throws(ClickHouseError) {
        guard !rows.isEmpty else { return }
        // Fields the table lacks (DistillWatch's `dw_content`, a newer format's) are skipped;
        // a Distributed table's rows are on their shards when the insert returns.
        _ = try await send(body: rows, url: url(settings: ["input_format_skip_unknown_fields": "1", "insert_distributed_sync": "1"],
                                                query: "INSERT INTO \(table) FORMAT JSONEachRow"),
                           deadline: .now() + queryTimeout)
    }

    /// Streams a query's result into `fd` (the write end of a pipe), compressed with gzip
    /// by the server, and returns the compressed bytes written. Blocks the calling task
    /// while the reader is behind (a pipe's backpressure). The descriptor is not closed.
    /// - Throws: ``ClickHouseError``: an exception before the first row, or
    ///   ``ClickHouseError/interrupted(_:_:)`` when the connection ends early.
    public func stream(_ sql: String, settings: [String: String] = [:], to fd: Int32) async throws(ClickHouseError) -> Int {
        Self.log(sql, settings: settings)
        var request = HTTPClientRequest(url: url(settings: settings.merging(["enable_http_compression": "1"]) { a, _ in a }))
        request.method = .POST
        request.headers.add(name: "Accept-Encoding", value: "gzip")
        request.body = .bytes(ByteBuffer(bytes: Array(sql.utf8)))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: .now() + .hours(24))
        } catch {
            throw .unreachable(endpoint.description, Self.reason(error))
        }
        guard response.status == .ok else {
            let body = (try? await response.body.collect(upTo: Self.maximumAnswerBytes)).map { Self.text(of: $0, headers: response.headers) } ?? ""
            let (code, message) = ClickHouseError.parseException(body)
            throw .server(endpoint.description, code: code, status: Int(response.status.code), message: message)
        }
        var written = 0
        do {
            for try await chunk in response.body {
                try chunk.withUnsafeReadableBytes { (raw: UnsafeRawBufferPointer) throws(ClickHouseError) in
                    var offset = 0
                    while offset < raw.count {
                        let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                        if n < 0 {
                            if errno == EINTR { continue }
                            // The reader stopped (a malformed line under --strict, an error): nothing to do.
                            throw .readerClosed(endpoint.description)
                        }
                        offset += n
                    }
                }
                written += chunk.readableBytes
            }
        } catch let error as ClickHouseError {
            throw error
        } catch {
            throw .interrupted(endpoint.description, Self.reason(error))
        }
        return written
    }

    private func send(body: Data, url: String, deadline: NIODeadline) async throws(ClickHouseError) -> Data {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: deadline)
        } catch {
            throw .unreachable(endpoint.description, Self.reason(error))
        }
        let buffer: ByteBuffer
        do {
            buffer = try await response.body.collect(upTo: Self.maximumAnswerBytes)
        } catch {
            throw .interrupted(endpoint.description, Self.reason(error))
        }
        guard response.status == .ok else {
            let (code, message) = ClickHouseError.parseException(Self.text(of: buffer, headers: response.headers))
            throw .server(endpoint.description, code: code, status: Int(response.status.code), message: message)
        }
        return Data(buffer.readableBytesView)
    }

    /// A body as text, inflated when the server compressed it (an exception raised after
    /// compression was negotiated comes gzip-compressed too).
    static func text(of buffer: ByteBuffer, headers: HTTPHeaders) -> String {
        let compressed = headers.first(name: "Content-Encoding")?.lowercased() == "gzip"
            || (buffer.readableBytes >= 2 && buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) == 0x1F8B)
        if compressed, let inflated = try? buffer.withUnsafeReadableBytes({ (raw: UnsafeRawBufferPointer) throws -> [UInt8] in
            try GzipBody.inflate(raw, limit: maximumAnswerBytes)
        }) {
            return String(decoding: inflated, as: UTF8.self)
        }
        return String(decoding: buffer.readableBytesView, as: UTF8.self)
    }

    /// The network's reason, without Swift type names where a plain one exists.
    static func reason(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        if text.contains("connectTimeout") { return "connection timed out" }
        if text.contains("readTimeout") { return "no bytes for longer than the read timeout" }
        if text.contains("deadlineExceeded") { return "no answer within the time limit: the server accepted the connection but did not answer" }
        if text.contains("remoteConnectionClosed") || text.contains("connectionClosed") { return "the server closed the connection" }
        return text
    }
}
