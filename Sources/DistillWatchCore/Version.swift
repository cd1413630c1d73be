/// DistillWatch's version: what `--version` prints and what reports state as the engine
/// version (screening reports, HTML reports).
public enum DistillWatchVersion {
    public static let current = "0.12.0"
}
