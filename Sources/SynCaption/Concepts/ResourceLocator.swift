import Foundation

/// Finds SynCaption's resource folder (concept lists, NOTICE) without `Bundle.module`, which
/// would abort the process when the bundle is missing; a missing folder is a thrown error.
public enum ResourceLocator {
    /// Name of the bundle SwiftPM copies next to the built products.
    static let bundleName = "SynCLR-Swift_SynCaption.resources"

    /// The first folder holding `Concepts/manifest.json`, searching the environment override
    /// `SYNCLR_RESOURCES`, the SwiftPM bundle beside the executable or test bundle, and the source tree.
    public static func resourceDirectory() throws -> URL {
        let candidates = searchPaths()
        for dir in candidates where FileManager.default.fileExists(atPath: dir.appendingPathComponent("Concepts/manifest.json").path) {
            return dir
        }
        throw CaptionError.resourcesMissing(searched: candidates.map(\.path))
    }

    static func searchPaths() -> [URL] {
        var dirs: [URL] = []
        if let env = ProcessInfo.processInfo.environment["SYNCLR_RESOURCES"], !env.isEmpty {
            dirs.append(URL(fileURLWithPath: env))
        }
        var roots: [URL] = [Bundle.main.bundleURL]
        if let exe = Bundle.main.executableURL { roots.append(exe.resolvingSymlinksInPath().deletingLastPathComponent()) }
        for bundle in Bundle.allBundles { roots.append(bundle.bundleURL.deletingLastPathComponent()) }
        for root in roots {
            let url = root.appendingPathComponent(bundleName)
            if !dirs.contains(url) { dirs.append(url) }
        }
        // Source checkout (this file lives in Sources/SynCaption/Concepts).
        dirs.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Resources"))
        return dirs
    }
}
