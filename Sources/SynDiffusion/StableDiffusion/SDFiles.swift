import Foundation
import SynTensor

/// Hint appended to a missing Stable Diffusion file.
let sdMissingHint = "Point `model` at a diffusers Stable Diffusion folder (model_index.json, scheduler/, tokenizer/, text_encoder/, unet/, vae/) or a single-file .safetensors checkpoint."

/// A JSON object read from `url`; a missing file or another JSON value is an error naming the file.
func readJSONObject(_ url: URL) throws -> [String: Any] {
    guard FileManager.default.fileExists(atPath: url.path) else { throw DiffusionError.missingFile(path: url.path, hint: sdMissingHint) }
    let obj: Any
    do {
        obj = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
    } catch {
        throw DiffusionError.badCheckpoint(path: url.path, reason: "not valid JSON (\(error.localizedDescription))")
    }
    guard let dict = obj as? [String: Any] else { throw DiffusionError.badCheckpoint(path: url.path, reason: "the top level is not a JSON object") }
    return dict
}

/// Opens a safetensors file, naming it in any error.
func openSafetensors(_ url: URL) throws -> SafetensorsFile {
    guard FileManager.default.fileExists(atPath: url.path) else { throw DiffusionError.missingFile(path: url.path, hint: sdMissingHint) }
    do {
        return try SafetensorsFile(url: url)
    } catch {
        throw DiffusionError.badCheckpoint(path: url.path, reason: "cannot read safetensors: \(error)")
    }
}

/// Loads `dict` into `module` strictly (float32 values; float16 / bfloat16 files are widened on
/// read); every missing, unexpected or mis-shaped tensor is listed with the file's path.
func loadChecked(_ module: Module, _ dict: [String: Tensor], path: String) throws {
    let expected = Dictionary(uniqueKeysWithValues: (module.namedParameters() + module.namedBuffers()).map { ($0.0, $0.1.value.shape) })
    var problems: [String] = []
    for name in expected.keys.sorted() where dict[name] == nil { problems.append("missing tensor \(name) \(expected[name]!)") }
    for name in dict.keys.sorted() {
        guard let shape = expected[name] else { problems.append("unknown tensor \(name)"); continue }
        if dict[name]!.shape != shape { problems.append("tensor \(name) has shape \(dict[name]!.shape), expected \(shape)") }
    }
    if !problems.isEmpty {
        let shown = problems.prefix(20).joined(separator: "; ")
        let more = problems.count > 20 ? " (and \(problems.count - 20) more)" : ""
        throw DiffusionError.badCheckpoint(path: path, reason: shown + more)
    }
    try module.loadStateDict(dict, strict: true, source: path)
}

/// A `[String: Tensor]` of every tensor in a file, keys optionally renamed (nil drops a key).
func readTensors(_ url: URL, rename: (String) -> String? = { $0 }) throws -> [String: Tensor] {
    let file = try openSafetensors(url)
    var dict: [String: Tensor] = [:]
    for name in file.names {
        guard let key = rename(name) else { continue }
        do {
            dict[key] = try file.tensor(name)
        } catch {
            throw DiffusionError.badCheckpoint(path: url.path, reason: "tensor \(name): \(error)")
        }
    }
    return dict
}
