import Foundation

/// Where SynCLR keeps installed models and caches.
public enum SynCLRPaths {
    /// `$SYNCLR_HOME`, else `~/.cache/synclr`.
    public static var home: URL {
        if let h = ProcessInfo.processInfo.environment["SYNCLR_HOME"], !h.isEmpty { return URL(fileURLWithPath: h) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/synclr")
    }

    /// Installed models (`Scripts/setup/install_models.sh` puts the PyPI-shipped files here).
    public static var models: URL { home.appendingPathComponent("models") }
}
