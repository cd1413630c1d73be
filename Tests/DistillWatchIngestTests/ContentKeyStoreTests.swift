import DistillWatchCore
import Foundation
import Testing
@testable import DistillWatchIngest

/// The content key file: made when missing (owner-only), read back, and anything that is
/// not such a file (a directory, a device, other text) is an error naming the path.
@Suite struct ContentKeyStoreTests {
    @Test func makesReadsAndRefusesWhatIsNotAKeyFile() throws {
        let dir = NSTemporaryDirectory() + "distillwatch-key-\(UInt64.random(in: 0...UInt64.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/keys/content.key"
        let (made, created) = try ContentKeyStore.loadOrCreate(path: path)
        #expect(created)
        let permissions = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(permissions == 0o600)
        #expect(try ContentKeyStore.loadOrCreate(path: path) == (made, false))
        func message(_ path: String) -> String {
            do { _ = try ContentKeyStore.load(path: path); return "" } catch { return "\(error)" }
        }
        #expect(message("/dev/null").contains("/dev/null: is not a regular file"), "\(message("/dev/null"))")
        #expect(message(dir).contains("is a directory, not a content key file"))
        try Data("not a key\n".utf8).write(to: URL(fileURLWithPath: dir + "/other"))
        #expect(message(dir + "/other").contains("does not hold a content key"))
        #expect(try ContentKeyStore.load(path: dir + "/missing") == nil)
        // A FIFO is refused before it is opened (opening it would wait for a writer).
        #expect(mkfifo(dir + "/pipe", 0o600) == 0)
        #expect(message(dir + "/pipe").contains("is not a regular file"), "\(message(dir + "/pipe"))")
        // A link is followed: to the key, the key; to nothing, no key yet.
        #expect(symlink(path, dir + "/link") == 0)
        #expect(try ContentKeyStore.load(path: dir + "/link") == made)
        #expect(symlink(dir + "/missing", dir + "/dangling") == 0)
        #expect(try ContentKeyStore.load(path: dir + "/dangling") == nil)
    }
}
