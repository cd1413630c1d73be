import Foundation
import Testing
@testable import distillwatch

/// Files named on the command line: read whole, or an error naming the file, what it was
/// meant to be and the system's reason (not a guess such as "permission?").
@Suite struct UserFileTests {
    /// Reports are written whole to regular files (through a link, to its target) and as
    /// they are to anything else: renaming a finished file over a device or a pipe would
    /// replace it (as root, `screen --out /dev/null` left a regular file at `/dev/null`).
    @Test func reportsReplaceRegularFilesAndWriteIntoPipesAndDevices() throws {
        let dir = Scratch()
        func type(_ path: String) -> mode_t {
            var s = stat()
            return lstat(path, &s) == 0 ? s.st_mode & S_IFMT : 0
        }
        // A pipe, held open for reading here, so that the write neither blocks nor fails.
        let fifo = dir.path + "/report.pipe"
        #expect(mkfifo(fifo, 0o600) == 0)
        let reader = open(fifo, O_RDWR | O_NONBLOCK)
        #expect(reader >= 0)
        defer { close(reader) }
        try UserFile.write(Data("<html>report</html>".utf8), to: fifo, what: "HTML report")
        #expect(type(fifo) == S_IFIFO)
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(reader, &buffer, buffer.count)
        #expect(n > 0 && String(decoding: buffer[0..<max(n, 0)], as: UTF8.self) == "<html>report</html>")
        // A regular file through a link: the target is replaced, the link stays a link.
        let target = dir.path + "/screening.csv"
        let link = dir.path + "/latest.csv"
        try Data("old\n".utf8).write(to: URL(fileURLWithPath: target))
        #expect(symlink(target, link) == 0)
        try UserFile.write(Data("new\n".utf8), to: link, what: "report")
        #expect(type(link) == S_IFLNK && type(target) == S_IFREG)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "new\n")
        // New files, directories, and a folder that is not there.
        try UserFile.write(Data("x".utf8), to: dir.path + "/new.html", what: "HTML report")
        #expect(try String(contentsOfFile: dir.path + "/new.html", encoding: .utf8) == "x")
        func message(_ path: String, _ what: String) -> String {
            do { try UserFile.write(Data(), to: path, what: what); return "" } catch { return "\(error)" }
        }
        #expect(message(dir.path, "report") == "\(dir.path): is a directory; give a file path for the report")
        #expect(message(dir.path + "/absent/r.html", "HTML report")
                == "\(dir.path)/absent/r.html: cannot write the HTML report: No such file or directory")
    }

    /// A report replacing a file keeps that file's permissions; a new one gets 0666 less the
    /// umask. A failed write leaves nothing behind: neither the target (the former failure
    /// diagnosis opened it with `O_CREAT`) nor a temporary file.
    @Test func writesKeepPermissionsAndFailuresLeaveNothing() throws {
        let dir = Scratch()
        func mode(_ path: String) -> mode_t {
            var s = stat()
            return stat(path, &s) == 0 ? s.st_mode & 0o7777 : 0
        }
        let kept = dir.path + "/private.json"
        try Data("old".utf8).write(to: URL(fileURLWithPath: kept))
        #expect(chmod(kept, 0o600) == 0)
        try UserFile.write(Data("new".utf8), to: kept, what: "report")
        #expect(mode(kept) == 0o600)
        #expect(try String(contentsOfFile: kept, encoding: .utf8) == "new")
        let mask = umask(0)
        umask(mask)
        try UserFile.write(Data("x".utf8), to: dir.path + "/fresh.json", what: "report")
        #expect(mode(dir.path + "/fresh.json") == 0o666 & ~mask)
        // The folder is a regular file: the system's reason, and nothing made.
        let plain = dir.path + "/plain"
        try Data("p".utf8).write(to: URL(fileURLWithPath: plain))
        do {
            try UserFile.write(Data("x".utf8), to: plain + "/r.json", what: "report")
            Issue.record("wrote under a regular file")
        } catch {
            #expect("\(error)" == "\(plain)/r.json: cannot write the report: Not a directory")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(names == ["fresh.json", "plain", "private.json"], "a temporary file was left: \(names)")
    }

    /// A file a command makes on its first run (`share pull --state`) may be missing; any
    /// other reason it cannot be read is an error, not a first run (a pull state that could
    /// not be read used to start the pull from the beginning, silently).
    @Test func aMissingFileIsNilAndAnUnreadableOneAnError() throws {
        let dir = Scratch()
        #expect(try UserFile.readIfPresent(dir.path + "/state.json", what: "pull-state file") == nil)
        do {
            _ = try UserFile.readIfPresent(dir.path, what: "pull-state file")
            Issue.record("a directory was read as a missing file")
        } catch {
            #expect("\(error)" == "\(dir.path): is a directory, not a pull-state file")
        }
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir.path + "/state.json"))
        #expect(try UserFile.readIfPresent(dir.path + "/state.json", what: "pull-state file") == Data("{}".utf8))
    }

    @Test func readsFilesAndDevicesAndSaysWhyNot() throws {
        let dir = Scratch()
        let path = dir.path + "/policy.yaml"
        try Data("minimum_exchanges: 5\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(try UserFile.read(path, what: "policy file") == Data("minimum_exchanges: 5\n".utf8))
        // A character device reads as the empty file it is: an empty policy is the default.
        #expect(try UserFile.read("/dev/null", what: "policy file").isEmpty)
        #expect(try loadPolicy("/dev/null") == .default)
        func message(_ path: String) -> String {
            do { _ = try UserFile.read(path, what: "STIX bundle"); return "" } catch { return "\(error)" }
        }
        #expect(message(dir.path + "/missing.json") == "\(dir.path)/missing.json: no such file (the STIX bundle)")
        #expect(message(dir.path) == "\(dir.path): is a directory, not a STIX bundle")
        // An endless device is refused past the bound, not read into memory.
        do {
            _ = try UserFile.read("/dev/zero", what: "policy file", maximumBytes: 1 << 20)
            Issue.record("/dev/zero was read whole")
        } catch {
            #expect("\(error)".contains("/dev/zero: larger than 1048576 bytes; not a policy file"), "\(error)")
        }
    }
}
