import AsyncHTTPClient
import Foundation
import NIOCore

/// Asks the provider's own summariser model for a summary of a model's reasoning
/// (`summarize_reasoning`), through an OpenAI-compatible `POST {url}/chat/completions`
/// (OpenAI API reference, "Create chat completion"; LiteLLM serves the same): a system
/// message asking for at most `max_words` words of conclusions, the reasoning as the user
/// message, and the summary read from `choices[0].message.content`.
///
/// The whole exchange, body included, must finish within `timeout_ms`; the caller serves
/// a fixed notice on any failure, so a summariser that is down costs latency, never an
/// invented summary.
struct ReasoningSummarizer: Sendable {
    let settings: ServerConfiguration.ReasoningSummarizerSettings
    let client: HTTPClient

    /// Reasoning longer than this is cut before it is sent (256 KiB of UTF-8).
    static let maxReasoningBytes = 256 << 10
    /// The largest answer read (1 MiB).
    static let maxResponseBytes = 1 << 20

    init(settings: ServerConfiguration.ReasoningSummarizerSettings, client: HTTPClient = .shared) {
        self.settings = settings
        self.client = client
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The summary of `reasoning`.
    /// - Throws: ``Failure`` for a refused, late, malformed or empty answer.
    func summarize(_ reasoning: String) async throws -> String {
        var text = reasoning
        if text.utf8.count > Self.maxReasoningBytes {
            text = String(decoding: text.utf8.prefix(Self.maxReasoningBytes), as: UTF8.self)
        }
        let body: [String: Any] = [
            "model": settings.model,
            "messages": [
                ["role": "system", "content": """
                    Summarise the reasoning below in at most \(settings.maxWords) words: state what it concluded and on \
                    what grounds, without reproducing its steps, calculations or drafts.
                    """],
                ["role": "user", "content": text],
            ],
            "max_tokens": settings.maxWords * 3,
            "temperature": 0,
        ]
        let url = settings.url.hasSuffix("/") ? settings.url + "chat/completions" : settings.url + "/chat/completions"
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let key = settings.apiKey { request.headers.add(name: "Authorization", value: "Bearer " + key) }
        request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        let timeout = TimeAmount.milliseconds(Int64(settings.timeoutMilliseconds))
        let client = self.client
        let ready = request
        let data: Data = try await withThrowingTaskGroup(of: Data?.self) { group in
            group.addTask {
                let response = try await client.execute(ready, timeout: timeout)
                let bytes = try await response.body.collect(upTo: Self.maxResponseBytes)
                guard response.status == .ok else {
                    throw Failure(description: "\(url): HTTP \(response.status.code): \(String(buffer: bytes).prefix(200))")
                }
                return Data(bytes.readableBytesView)
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(settings.timeoutMilliseconds))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let data = first else {
                throw Failure(description: "\(url): no answer within \(settings.timeoutMilliseconds) ms")
            }
            return data
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let choices = object["choices"] as? [[String: Any]], let message = choices.first?["message"] as? [String: Any],
              let content = message["content"] as? String else {
            throw Failure(description: "\(url): the answer is not a chat completion with choices[0].message.content")
        }
        let summary = content.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !summary.isEmpty else { throw Failure(description: "\(url): the summary is empty") }
        return summary
    }
}
