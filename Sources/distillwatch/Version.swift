/// The version `--version` prints.
enum DistillWatchVersion {
    static let current = "0.12.0"
}
