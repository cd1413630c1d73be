import DistillWatchCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where the content key lives, and how it is made on first use.
///
/// The key is 32 hexadecimal digits in a file readable only by its owner (mode 0600).
/// Signatures made with one key are comparable with each other and with those of anyone
/// who shares the key; losing the key only means new signatures no longer match old ones.
public enum ContentKeyStore {
    /// `$DISTILLWATCH_HOME/content.key`, else `~/.distillwatch/content.key`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let home = environment["DISTILLWATCH_HOME"], !home.isEmpty {
            return home + "/content.key"
        }
        let user = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return user + "/.distillwatch/content.key"
    }

    /// Reads the key at `path`.
    /// - Throws: ``IngestError`` when the file exists but does not hold a key.
    public static func load(path: String) throws -> ContentKey? {
        // Only a regular file (or a link to one) is opened: opening a FIFO would wait for a
        // writer. What the reader tells itself (missing, a directory, the system's reason) it
        // tells again after the open, so a file swapped in between is still named right.
        var status = stat()
        if stat(path, &status) == 0, status.st_mode & S_IFMT != S_IFREG, status.st_mode & S_IFMT != S_IFDIR {
            throw IngestError(source: path, "is not a regular file (a content key file holds 32 hexadecimal digits)")
        }
        let bytes: Data
        do {
            // A key file is 32 hex digits and a newline: 4 KiB is far past any real one.
            bytes = try WholeFileReader.read(path, maximumBytes: 4096)
        } catch {
            switch error {
            case .missing: return nil
            case .directory: throw IngestError(source: path, "is a directory, not a content key file")
            case .tooLarge: throw IngestError(source: path, "does not hold a content key (32 hexadecimal digits): larger than 4096 bytes")
            case .unreadable(let reason): throw IngestError(source: path, "cannot read the content key (\(reason))")
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self), let key = ContentKey(hex: text) else {
            throw IngestError(source: path, "does not hold a content key (32 hexadecimal digits)")
        }
        return key
    }

    /// Reads the key at `path`, or makes a random one and stores it there.
    /// - Returns: the key, and whether it was created now.
    public static func loadOrCreate(path: String) throws -> (key: ContentKey, created: Bool) {
        if let key = try load(path: path) { return (key, false) }
        var generator = SystemRandomNumberGenerator()
        let key = ContentKey.random(using: &generator)
        let directory = (path as NSString).deletingLastPathComponent
        do {
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            }
            guard FileManager.default.createFile(atPath: path, contents: Data((key.hex + "\n").utf8),
                                                 attributes: [.posixPermissions: 0o600]) else {
                throw IngestError(source: path, "cannot create the content key file")
            }
        } catch let error as IngestError {
            throw error
        } catch {
            throw IngestError(source: path, "cannot create the content key file (\(error.localizedDescription))")
        }
        return (key, true)
    }
}
