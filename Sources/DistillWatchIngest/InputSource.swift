#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where records come from: a file (plain or gzip), standard input (`-`), or an open
/// descriptor another component writes into (the read end of a pipe fed by a ClickHouse
/// query, named after its URL); the reader does not close a descriptor it was given.
public enum InputSource: Sendable, Equatable, CustomStringConvertible {
    case file(String)
    case standardInput
    case descriptor(Int32, name: String)

    /// `-` means standard input, anything else a path.
    public init(argument: String) {
        self = argument == "-" ? .standardInput : .file(argument)
    }

    public var description: String {
        switch self {
        case .file(let path): return path
        case .standardInput: return "<stdin>"
        case .descriptor(_, let name): return name
        }
    }

    /// The size in bytes of a regular file, or `nil` (stdin, pipes).
    public var fileSize: Int? {
        guard case .file(let path) = self else { return nil }
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(st.st_size)
    }
}

/// A failure that stops reading an input: the input cannot be opened or its bytes cannot
/// be decoded. Problems with single records are ``MalformedLine``s instead, never fatal
/// unless the scan is strict.
public struct IngestError: Error, Equatable, Sendable, CustomStringConvertible {
    public var source: String
    public var message: String

    public init(source: String, _ message: String) {
        self.source = source
        self.message = message
    }

    public var description: String { "\(source): \(message)" }
}

/// One rejected line: where it is and why.
public struct MalformedLine: Error, Equatable, Sendable, CustomStringConvertible {
    public var source: String
    public var line: Int
    public var error: RecordError

    public init(source: String, line: Int, error: RecordError) {
        self.source = source
        self.line = line
        self.error = error
    }

    public var description: String { "\(source):\(line): \(error)" }

    /// A line longer than ``LineReader/maximumLineBytes``, which is skipped unread.
    static func tooLong(source: String, line: Int) -> MalformedLine {
        MalformedLine(source: source, line: line, error: RecordError("line longer than \(LineReader.maximumLineBytes) bytes"))
    }
}
