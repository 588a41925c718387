import Foundation
import SynTensor

/// Finds the shipped text-to-image model (Sources/SynDiffusion/Resources/synclr-fashion-unet.safetensors)
/// without `Bundle.module`, which would abort the process when the bundle is missing.
public enum DefaultModel {
    /// File name of the shipped model.
    public static let fileName = "synclr-fashion-unet.safetensors"
    /// Name of the resource bundle SwiftPM copies next to the built products.
    static let bundleName = "SynCLR-Swift_SynDiffusion.resources"

    /// Places searched, in order: `$SYNCLR_DIFFUSION_MODEL`, the SwiftPM resource bundle beside the
    /// executable (or test bundle), the model cache (`SynCLRPaths.models`), the source checkout.
    public static func searchPaths() -> [URL] {
        var urls: [URL] = []
        if let env = ProcessInfo.processInfo.environment["SYNCLR_DIFFUSION_MODEL"], !env.isEmpty {
            urls.append(URL(fileURLWithPath: env))
        }
        var roots: [URL] = [Bundle.main.bundleURL]
        if let exe = Bundle.main.executableURL { roots.append(exe.resolvingSymlinksInPath().deletingLastPathComponent()) }
        for bundle in Bundle.allBundles { roots.append(bundle.bundleURL.deletingLastPathComponent()) }
        for root in roots {
            let url = root.appendingPathComponent(bundleName).appendingPathComponent("Resources").appendingPathComponent(fileName)
            if !urls.contains(url) { urls.append(url) }
        }
        urls.append(SynCLRPaths.models.appendingPathComponent(fileName))
        // Source checkout (this file lives in Sources/SynDiffusion/Models).
        urls.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Resources").appendingPathComponent(fileName))
        return urls
    }

    /// The first existing candidate; throws `DiffusionError.missingFile` listing where it looked.
    public static func url() throws -> URL {
        let candidates = searchPaths()
        if let hit = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) { return hit }
        throw DiffusionError.missingFile(path: fileName, hint: "Looked in: " + candidates.map(\.path).joined(separator: ", ")
                                         + ". Set `model` or SYNCLR_DIFFUSION_MODEL to a model file.")
    }
}
