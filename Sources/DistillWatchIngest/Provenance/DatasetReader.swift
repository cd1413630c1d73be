import DistillWatchCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One record of a suspect dataset: the prompt and the answers it holds.
public struct DatasetRecord: Sendable, Equatable {
    public enum Shape: String, Sendable, Codable {
        /// `{"messages": [{"role", "content"}, ...]}` (OpenAI chat fine-tuning, most chat datasets).
        case messages
        /// `{"instruction", "input", "output"}` (Alpaca, Stanford 2023).
        case alpaca
        /// `{"conversations": [{"from": "human"|"gpt", "value"}, ...]}` (ShareGPT, Vicuna).
        case sharegpt
        /// `{"prompt", "completion"}` or `{"prompt", "response"}` (completion fine-tuning,
        /// DistillWatch's own traffic format).
        case promptCompletion = "prompt_completion"
    }

    /// 1-based line of a JSON Lines file, or 1-based element of a JSON array.
    public var position: Int
    public var shape: Shape
    /// The last user turn before the first answer (for the report; never stored).
    public var prompt: String
    /// Each assistant turn.
    public var responses: [String]
}

/// A record the reader could not use, named by position and field.
public struct DatasetProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var position: Int
    public var field: String?
    public var reason: String

    public var description: String {
        "record \(position): " + (field.map { "field \"\($0)\": " } ?? "") + reason
    }
}

/// Reads the common instruction-tuning shapes, JSON Lines or one JSON array, each record in
/// whichever shape it has (``DatasetRecord/Shape``). A record in no known shape, or with no
/// answer text, is a problem with its position, never fatal to the others.
public enum DatasetReader {
    /// The largest file read (2 GiB): a check holds the dataset's sketches in memory.
    public static let maximumBytes = 2 << 30

    /// - Throws: ``IngestError`` for a file that cannot be read, is too large, or holds no
    ///   usable record.
    public static func read(path: String) throws -> (records: [DatasetRecord], problems: [DatasetProblem], lines: Int) {
        try read(bytes: try readWhole(path), source: path)
    }

    /// Reads a dataset already in memory, as ``read(path:)`` reads the file: `data` is the
    /// file's bytes (gzip is inflated), `source` names it in errors. A caller that also
    /// hashes the file reads it once with ``readWhole(_:)`` and gives the bytes here, so
    /// that a pipe (`<(…)`), which can be read only once, is hashed as it was read.
    /// - Throws: ``IngestError`` for gzip that cannot be inflated, or no usable record.
    public static func read(bytes data: Data, source path: String) throws -> (records: [DatasetRecord], problems: [DatasetProblem], lines: Int) {
        var bytes = data
        if data.starts(with: [0x1F, 0x8B]) {
            do {
                bytes = Data(try data.withUnsafeBytes { raw throws(GzipBody.Failure) in try GzipBody.inflate(raw, limit: maximumBytes) })
            } catch {
                throw IngestError(source: path, "is gzip that cannot be read: \(error)")
            }
        }
        let result = parse(bytes)
        guard !result.records.isEmpty else {
            let first = result.problems.first.map { "; first problem: \($0)" } ?? ""
            throw IngestError(source: path, "holds no record with an answer in a known shape (messages, Alpaca, ShareGPT, prompt/completion)\(first)")
        }
        return result
    }

    /// The file at `path` (a regular file, a pipe such as `<(…)`, or a device) read whole, up
    /// to ``maximumBytes``.
    /// - Throws: ``IngestError`` naming the path: missing, a directory, larger than the
    ///   limit, or the system's reason it cannot be read (`strerror(3)`).
    public static func readWhole(_ path: String) throws -> Data {
        do {
            return try WholeFileReader.read(path, maximumBytes: maximumBytes)
        } catch {
            switch error {
            case .missing: throw IngestError(source: path, "cannot be read: \(String(cString: strerror(ENOENT)))")
            case .directory: throw IngestError(source: path, "is a directory, not a dataset")
            case .tooLarge(let limit, let size?):
                throw IngestError(source: path, "is \(size) bytes; a dataset of at most \(limit) bytes is checked at once (split it)")
            case .tooLarge(let limit, nil):
                throw IngestError(source: path, "holds more than \(limit) bytes; a dataset of at most that is checked at once (split it)")
            case .unreadable(let reason): throw IngestError(source: path, "cannot be read: \(reason)")
            }
        }
    }

    /// Parses JSON Lines, or a JSON array when the first non-space byte is `[`.
    public static func parse(_ data: Data) -> (records: [DatasetRecord], problems: [DatasetProblem], lines: Int) {
        var records: [DatasetRecord] = []
        var problems: [DatasetProblem] = []
        let firstByte = data.first { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 && $0 != 0xEF && $0 != 0xBB && $0 != 0xBF }
        if firstByte == UInt8(ascii: "[") {
            let parsed: Any
            do {
                parsed = try JSONSerialization.jsonObject(with: data)
            } catch {
                let detail = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String) ?? error.localizedDescription
                return ([], [DatasetProblem(position: 1, field: nil, reason: "not a valid JSON array: " + TextPosition.locating(detail, in: data))], 1)
            }
            guard let array = parsed as? [Any] else {
                return ([], [DatasetProblem(position: 1, field: nil, reason: "not a valid JSON array")], 1)
            }
            for (i, element) in array.enumerated() { collect(element, position: i + 1, &records, &problems) }
            return (records, problems, array.count)
        }
        var lines = 0
        var start = data.startIndex
        while start < data.endIndex {
            let end = data[start...].firstIndex(of: 0x0A) ?? data.endIndex
            lines += 1
            let line = data[start..<end]
            start = end < data.endIndex ? data.index(after: end) : end
            guard line.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) else { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) else {
                problems.append(DatasetProblem(position: lines, field: nil, reason: "not valid JSON"))
                continue
            }
            collect(object, position: lines, &records, &problems)
        }
        return (records, problems, lines)
    }

    static func collect(_ object: Any, position: Int, _ records: inout [DatasetRecord], _ problems: inout [DatasetProblem]) {
        do {
            records.append(try record(object, position: position))
        } catch let problem as DatasetProblem {
            problems.append(problem)
        } catch {
            problems.append(DatasetProblem(position: position, field: nil, reason: "\(error)"))
        }
    }

    /// One record in whichever known shape it has.
    static func record(_ object: Any, position: Int) throws -> DatasetRecord {
        guard let o = object as? [String: Any] else {
            throw DatasetProblem(position: position, field: nil, reason: "not a JSON object")
        }
        if let messages = o["messages"] {
            return try turns(messages, field: "messages", role: "role", text: "content", user: ["user"], assistant: ["assistant"],
                             shape: .messages, position: position, system: nil)
        }
        if let conversations = o["conversations"] ?? o["conversation"] {
            return try turns(conversations, field: o["conversations"] != nil ? "conversations" : "conversation", role: "from", text: "value",
                             user: ["human", "user"], assistant: ["gpt", "assistant", "chatgpt", "bard", "model"],
                             shape: .sharegpt, position: position, system: nil)
        }
        if o["instruction"] != nil || o["output"] != nil {
            guard let output = o["output"] as? String else {
                throw DatasetProblem(position: position, field: "output", reason: "an Alpaca record needs the answer as a string")
            }
            let instruction = o["instruction"] as? String ?? ""
            let input = o["input"] as? String ?? ""
            return try answered(DatasetRecord(position: position, shape: .alpaca,
                                              prompt: input.isEmpty ? instruction : instruction + "\n\n" + input, responses: [output]),
                                field: "output")
        }
        if let prompt = o["prompt"] as? String ?? o["question"] as? String {
            let answerField = o["completion"] != nil ? "completion" : o["response"] != nil ? "response" : "answer"
            guard let answer = o[answerField] as? String else {
                throw DatasetProblem(position: position, field: answerField, reason: "a prompt/completion record needs the answer as a string")
            }
            return try answered(DatasetRecord(position: position, shape: .promptCompletion, prompt: prompt, responses: [answer]),
                                field: answerField)
        }
        throw DatasetProblem(position: position, field: nil,
                             reason: "not a known shape: expected messages, instruction/output (Alpaca), conversations (ShareGPT) or prompt/completion")
    }

    static func turns(_ value: Any, field: String, role: String, text: String, user: Set<String>, assistant: Set<String>,
                      shape: DatasetRecord.Shape, position: Int, system: String?) throws -> DatasetRecord {
        guard let list = value as? [Any] else { throw DatasetProblem(position: position, field: field, reason: "should be an array of turns") }
        var prompt = ""
        var responses: [String] = []
        for (i, item) in list.enumerated() {
            guard let turn = item as? [String: Any], let who = (turn[role] as? String)?.lowercased() else {
                throw DatasetProblem(position: position, field: "\(field)[\(i)].\(role)", reason: "each turn needs a \(role)")
            }
            let content = Self.text(turn[text])
            if assistant.contains(who) {
                if let content, !content.isEmpty { responses.append(content) }
            } else if user.contains(who), responses.isEmpty, let content {
                prompt = content
            }
        }
        return try answered(DatasetRecord(position: position, shape: shape, prompt: prompt, responses: responses), field: field)
    }

    /// A string, or the text parts of OpenAI's content array (`[{"type": "text", "text"}]`).
    static func text(_ value: Any?) -> String? {
        if let s = value as? String { return s }
        if let parts = value as? [Any] {
            let texts = parts.compactMap { ($0 as? [String: Any]).flatMap { $0["text"] as? String } }
            return texts.isEmpty ? nil : texts.joined(separator: "\n")
        }
        return nil
    }

    static func answered(_ r: DatasetRecord, field: String) throws -> DatasetRecord {
        guard r.responses.contains(where: { $0.contains(where: { $0.isLetter || $0.isNumber }) }) else {
            throw DatasetProblem(position: r.position, field: field, reason: "holds no answer text to compare")
        }
        return r
    }
}
