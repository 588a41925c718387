import Foundation
import SynTensor

// A minimal, test-private safetensors reader for the F32 parity fixtures.
// TODO: switch to SynTensor's own safetensors reader (branch `io`) once it is on main.

/// Errors reading a fixture file.
enum FixtureError: Error, CustomStringConvertible {
    /// The resource is not in the test bundle.
    case missing(String)
    /// The file does not follow the safetensors layout.
    case malformed(file: String, reason: String)

    /// Message naming the file and the problem.
    var description: String {
        switch self {
        case .missing(let f): return "fixture \(f) not found in the test bundle (run Scripts/fixtures_ops.py)"
        case let .malformed(f, why): return "fixture \(f) is malformed: \(why)"
        }
    }
}

/// All tensors of one safetensors file in Tests/SynTensorTests/Fixtures, keyed by name.
struct FixtureFile: Sendable {
    /// File name without extension.
    let name: String
    /// Tensors by safetensors key.
    let tensors: [String: Tensor]

    /// Reads `Fixtures/<name>.safetensors` from the test bundle (F32 only).
    static func load(_ name: String) throws -> FixtureFile {
        guard let url = Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures") else {
            throw FixtureError.missing(name + ".safetensors")
        }
        return try FixtureFile(name: name, data: Data(contentsOf: url))
    }

    /// Parses safetensors bytes: u64 LE header length, JSON header {key: {dtype, shape, data_offsets}}, raw data.
    init(name: String, data: Data) throws {
        let file = name + ".safetensors"
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw FixtureError.malformed(file: file, reason: "shorter than 8 bytes") }
        var headerLength = 0
        for i in 0..<8 { headerLength |= Int(bytes[i]) << (8 * i) }
        guard headerLength > 0, 8 + headerLength <= bytes.count else {
            throw FixtureError.malformed(file: file, reason: "header length \(headerLength) exceeds file size \(bytes.count)")
        }
        let json = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)]))
        guard let header = json as? [String: Any] else { throw FixtureError.malformed(file: file, reason: "header is not a JSON object") }
        let base = 8 + headerLength
        var tensors: [String: Tensor] = [:]
        for (key, entry) in header where key != "__metadata__" {
            guard let e = entry as? [String: Any], let dtype = e["dtype"] as? String,
                  let shape = e["shape"] as? [Int], let offsets = e["data_offsets"] as? [Int], offsets.count == 2 else {
                throw FixtureError.malformed(file: file, reason: "bad header entry for \(key)")
            }
            guard dtype == "F32" else { throw FixtureError.malformed(file: file, reason: "\(key) has dtype \(dtype), expected F32") }
            let count = shape.reduce(1, *)
            guard offsets[1] - offsets[0] == 4 * count, base + offsets[1] <= bytes.count else {
                throw FixtureError.malformed(file: file, reason: "\(key) offsets \(offsets) do not fit shape \(shape)")
            }
            var values = [Float](repeating: 0, count: count)
            bytes.withUnsafeBytes { raw in
                for i in 0..<count {
                    let bits = raw.loadUnaligned(fromByteOffset: base + offsets[0] + 4 * i, as: UInt32.self)
                    values[i] = Float(bitPattern: UInt32(littleEndian: bits))
                }
            }
            tensors[key] = Tensor(shape: shape, data: values)
        }
        self.name = name
        self.tensors = tensors
    }

    /// The tensor stored under `key` (stops the test run with the key when absent).
    subscript(_ key: String) -> Tensor {
        guard let t = tensors[key] else { preconditionFailure("fixture \(name) has no tensor \(key)") }
        return t
    }

    /// Loads `name` or stops with the reason (fixtures are committed, so failure is a setup error).
    static func named(_ name: String) -> FixtureFile {
        do { return try load(name) } catch { preconditionFailure("\(error)") }
    }
}

/// The committed fixture files, each read once.
enum Fixtures {
    /// Elementwise ops.
    static let elementwise = FixtureFile.named("elementwise")
    /// Reductions, softmax family and matmul.
    static let reductions = FixtureFile.named("reductions")
    /// Norms, conv, pooling, resize, joining, indexing, losses, attention.
    static let nn = FixtureFile.named("nn")
    /// The 2-block transformer.
    static let transformer = FixtureFile.named("transformer")
    /// Optimizer trajectories.
    static let optim = FixtureFile.named("optim")
}
