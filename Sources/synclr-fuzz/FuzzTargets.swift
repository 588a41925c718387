import Foundation
import SynCaption
import SynDiffusion
import SynPipeline
import SynRep
import SynTensor

/// One parser under test: `run` feeds it one input; a thrown error is a correct answer, a trap,
/// a crash, a hang or an unbounded allocation is a finding.
struct FuzzTarget: Sendable {
    /// Name on the command line (`synclr-fuzz run NAME`).
    let name: String
    /// File extensions (lowercased) of seed files for this target.
    let extensions: Set<String>
    /// Makes a mutant well-formed where a checksum would reject it before the parser's interesting
    /// parts run (PNG chunk CRCs); identity for the other formats.
    var repair: @Sendable ([UInt8]) -> [UInt8] = { $0 }
    /// Seeds built in code (for formats without small files in the repository).
    var builtinSeeds: @Sendable () throws -> [[UInt8]] = { [] }
    /// Parses one input.
    let run: @Sendable (_ input: [UInt8], _ scratch: URL) throws -> Void
}

/// A small GGUF file with metadata of several types and tensors in F32, F16, Q8_0 and Q4_K,
/// written by the project's own writer (the format's fields in every position a parser visits).
func ggufSeed(alignment: Int) throws -> [UInt8] {
    var w = GGUFWriter(alignment: alignment)
    w.set("general.architecture", .string("llama"))
    w.set("llama.context_length", .uint32(64))
    w.set("llama.embedding_length", .uint64(32))
    w.set("general.file_type", .int32(7))
    w.set("tokenizer.ggml.tokens", .array(elementType: .string, values: [.string("<s>"), .string("a"), .string("Ġb")]))
    w.set("tokenizer.ggml.scores", .array(elementType: .float32, values: [.float32(0), .float32(-1), .float32(-2)]))
    w.set("flag", .bool(true))
    try w.addTensor("f32", dims: [4, 2], floats: [1, 2, 3, 4, 5, 6, 7, 8])
    try w.addTensor("f16", type: .f16, dims: [2], bytes: [0x00, 0x38, 0x00, 0xBC])
    try w.addTensor("q8", type: .q8_0, dims: [32], bytes: [0x00, 0x3C] + (0..<32).map { UInt8($0) })
    try w.addTensor("q4k", type: .q4_K, dims: [256], bytes: (0..<GGMLType.q4_K.blockBytes).map { UInt8(($0 * 37) & 0xFF) })
    try w.addTensor("empty", dims: [0], floats: [])
    return try w.serialized()
}

/// The input written to `scratch` (file-based parsers map files, as in real use).
private func file(_ input: [UInt8], _ scratch: URL, _ ext: String) throws -> URL {
    let url = scratch.appendingPathExtension(ext)
    try Data(input).write(to: url)
    return url
}

/// CRC-32 (IEEE) as PNG chunks use it.
func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        c ^= UInt32(b)
        for _ in 0..<8 { c = c & 1 == 1 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
    }
    return ~c
}

/// Recomputes the CRC of every complete chunk after the 8-byte signature, so mutations reach
/// libpng's header, palette, filter and inflate code instead of stopping at the checksum.
func repairPNGChecksums(_ input: [UInt8]) -> [UInt8] {
    var out = input
    var at = 8
    while at + 12 <= out.count {
        let length = Int(out[at]) << 24 | Int(out[at + 1]) << 16 | Int(out[at + 2]) << 8 | Int(out[at + 3])
        guard length <= out.count - at - 12 else { break }
        let crc = crc32(out[(at + 4)..<(at + 8 + length)])
        for k in 0..<4 { out[at + 8 + length + k] = UInt8(truncatingIfNeeded: crc >> UInt32(24 - 8 * k)) }
        at += 12 + length
    }
    return out
}

/// Decoding limits used while fuzzing: small enough that a header claiming a huge image or
/// output is refused quickly, large enough for every seed.
enum FuzzLimits {
    static let maxPixels = 1 << 22
    static let maxGunzipBytes = 64 << 20
}

/// A request-independent generator used to parse response bodies.
private let openAI = OpenAIGenerator(OpenAIConfiguration(baseURL: URL(string: "http://127.0.0.1:9")!, model: "fuzz"))

/// Every target, one per parser of issue 17's list.
let fuzzTargets: [FuzzTarget] = [
    FuzzTarget(name: "safetensors", extensions: ["safetensors"]) { input, scratch in
        let f = try SafetensorsFile(url: try file(input, scratch, "safetensors"))
        _ = f.metadata
        for t in f.tensors where t.count <= 1 << 20 && t.dtype.isConvertibleToFloat { _ = try f.tensor(t.name) }
    },
    FuzzTarget(name: "gguf", extensions: ["gguf"], builtinSeeds: { [try ggufSeed(alignment: 32), try ggufSeed(alignment: 8)] }) { input, scratch in
        let f = try GGUFFile(path: try file(input, scratch, "gguf").path)
        for key in f.metadataKeys { _ = f[key] }
        for t in f.tensors where t.byteCount <= 1 << 22 {
            do { _ = try f.floats(t.name) } catch is GGUFError { continue }
        }
    },
    FuzzTarget(name: "pth", extensions: ["pth", "zip", "pt"]) { input, scratch in
        let checkpoint = try TorchCheckpoint(contentsOf: try file(input, scratch, "pth"))
        _ = try checkpoint.stateDict()
    },
    FuzzTarget(name: "png", extensions: ["png"], repair: repairPNGChecksums) { input, _ in
        _ = try ImageIO.decode(input, path: "fuzz.png", maxPixels: FuzzLimits.maxPixels)
    },
    FuzzTarget(name: "jpeg", extensions: ["jpg", "jpeg"]) { input, _ in
        _ = try ImageIO.decode(input, path: "fuzz.jpg", maxPixels: FuzzLimits.maxPixels)
    },
    FuzzTarget(name: "idx", extensions: ["idx", "gz", "ubyte"]) { input, _ in
        var bytes = input
        if input.count >= 2 && input[0] == 0x1F && input[1] == 0x8B {
            bytes = try Gzip.decompress(input, path: "fuzz.gz", maxOutputBytes: FuzzLimits.maxGunzipBytes)
        }
        let array = try IDX.parse(bytes, path: "fuzz.idx")
        if array.count <= 1 << 22 { _ = array.tensor(); _ = array.integers() }
    },
    FuzzTarget(name: "captions", extensions: ["jsonl"]) { input, scratch in
        // The one captions.jsonl schema: each line alone, then the whole-file reader every stage uses.
        for line in input.split(separator: 0x0A) { _ = try? CaptionRecord.parse(Data(line)) }
        _ = try CaptionsFile.read(try file(input, scratch, "jsonl"))
    },
    FuzzTarget(name: "manifest", extensions: ["jsonl"]) { input, scratch in
        let dir = scratch.deletingPathExtension().appendingPathExtension("dir")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(input).write(to: dir.appendingPathComponent("manifest.jsonl"))
        _ = try ManifestFile.read(dir)
    },
    FuzzTarget(name: "json", extensions: ["json"]) { input, _ in
        // Configuration JSON as the libraries decode it: training and evaluation configurations,
        // image-job options (job.json) and model cards.
        let decoder = JSONDecoder()
        let data = Data(input)
        if let c = try? decoder.decode(TrainConfig.self, from: data) { _ = try? c.validate() }
        if let c = try? decoder.decode(LinearProbeConfig.self, from: data) { _ = try? c.validate() }
        if let o = try? decoder.decode(ImageJobOptions.self, from: data) { _ = o.problems }
        if let card = try? decoder.decode(ModelCard.self, from: data) {
            _ = try? ViTConfig(imageSize: card.imageSize, patchSize: card.patchSize, channels: card.channels, width: card.width,
                               depth: card.depth, heads: card.heads, mlpRatio: card.mlpRatio).validate()
        }
        _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    },
    FuzzTarget(name: "pipeline", extensions: ["json"], builtinSeeds: { [PipelineConfig.demo.json(), PipelineConfig.paperSmall.json()].map { Array($0.utf8) } }) { input, scratch in
        // `synclr pipeline --config FILE` (merge over each preset, decode, validate), the same bytes
        // as `--set` lines, and the records a resumed run reads back (stages/NAME.json, eval/KEY.json).
        let url = try file(input, scratch, "json")
        for preset in PipelineConfig.presetNames { _ = try? PipelineConfig.resolve(preset: preset, file: url.path, overrides: []) }
        let lines = String(decoding: input, as: UTF8.self).split(separator: "\n").prefix(16).map(String.init)
        _ = try? PipelineConfig.resolve(preset: "demo", file: nil, overrides: lines)
        _ = StageRecord.read(Data(input))
        _ = try? JSONDecoder().decode(EvaluationReport.self, from: Data(input))
        _ = try PipelineConfig.resolve(preset: "demo", file: url.path, overrides: [])
    },
    FuzzTarget(name: "openai", extensions: ["json"]) { input, _ in
        _ = try openAI.parse(Data(input), url: URL(string: "http://127.0.0.1:9/v1/completions")!)
    },
]
