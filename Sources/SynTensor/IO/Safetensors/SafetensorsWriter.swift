import Foundation

/// Writes safetensors files byte-identical to Python's `safetensors.torch.save_file`.
///
/// The reference writer (Rust `safetensors::serialize`) orders tensors by dtype, widest
/// alignment first (F64 before F32 before BF16 before F16), then by name (UTF-8 bytes);
/// lays out their data back to back in that order; writes the header as compact JSON
/// (`__metadata__` first, then the tensors in data order, fields `dtype`, `shape`,
/// `data_offsets`) and pads it with spaces to a multiple of 8 bytes. Python passes metadata
/// as a Rust `HashMap`, so with two or more metadata keys its key order is random per
/// process; this writer sorts metadata keys, which is one of the orders Python produces.
/// Byte identity therefore holds for files with at most one metadata key.
public enum Safetensors {
    /// Elements converted per chunk when writing (bounded scratch memory for huge tensors).
    static let chunkElements = 1 << 16

    private struct Entry {
        let name: String
        let tensor: Tensor
        let dtype: SafetensorsDType
        var byteCount: Int { tensor.count * dtype.bitSize / 8 }
    }

    /// Writes `tensors` to `url` atomically (temporary file + rename), each stored as
    /// `dtypes[name]` or else `dtype` (F64, F32, F16 or BF16; halves rounded to nearest even).
    public static func save(_ tensors: [String: Tensor], to url: URL, metadata: [String: String]? = nil,
                            dtype: SafetensorsDType = .f32, dtypes: [String: SafetensorsDType] = [:]) throws {
        let path = url.path
        let entries = try prepare(tensors, dtype: dtype, dtypes: dtypes, path: path)
        let header = try headerBytes(entries, metadata: metadata, path: path)
        try writeAtomically(to: path) { temporary in
            let sink = try FileSink(path: temporary, displayPath: path)
            try sink.write(header)
            var scratch = [UInt8](repeating: 0, count: chunkElements * 8)
            for e in entries { try writeData(e, scratch: &scratch) { try sink.write($0) } }
            try sink.close()
        }
    }

    /// The bytes of the safetensors file `save` would write, in memory.
    public static func serialize(_ tensors: [String: Tensor], metadata: [String: String]? = nil,
                                 dtype: SafetensorsDType = .f32, dtypes: [String: SafetensorsDType] = [:]) throws -> [UInt8] {
        let path = "<memory>"
        let entries = try prepare(tensors, dtype: dtype, dtypes: dtypes, path: path)
        var out = try headerBytes(entries, metadata: metadata, path: path)
        out.reserveCapacity(out.count + entries.reduce(0) { $0 + $1.byteCount })
        var scratch = [UInt8](repeating: 0, count: chunkElements * 8)
        for e in entries { writeData(e, scratch: &scratch) { out.append(contentsOf: $0) } }
        return out
    }

    private static func prepare(_ tensors: [String: Tensor], dtype: SafetensorsDType,
                                dtypes: [String: SafetensorsDType], path: String) throws -> [Entry] {
        var entries: [Entry] = []
        entries.reserveCapacity(tensors.count)
        for (name, tensor) in tensors {
            if name == "__metadata__" {
                throw SafetensorsError.invalidEntry(path: path, reason: "\"__metadata__\" is reserved and cannot name a tensor")
            }
            let d = dtypes[name] ?? dtype
            guard d.isWritable else { throw SafetensorsError.unsupportedDType(path: path, tensor: name, dtype: d.rawValue) }
            entries.append(Entry(name: name, tensor: tensor, dtype: d))
        }
        for name in dtypes.keys where tensors[name] == nil {
            throw SafetensorsError.invalidEntry(path: path, reason: "dtypes names \"\(name)\", which is not among the tensors")
        }
        entries.sort { a, b in
            if a.dtype != b.dtype { return a.dtype > b.dtype }
            return a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
        return entries
    }

    private static func headerBytes(_ entries: [Entry], metadata: [String: String]?, path: String) throws -> [UInt8] {
        var json: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        if let metadata {
            json.append(contentsOf: Array("\"__metadata__\":{".utf8))
            let keys = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, k) in keys.enumerated() {
                if i > 0 { json.append(UInt8(ascii: ",")) }
                JSONText.append(k, to: &json)
                json.append(UInt8(ascii: ":"))
                JSONText.append(metadata[k]!, to: &json)
            }
            json.append(UInt8(ascii: "}"))
            first = false
        }
        var offset = 0
        for e in entries {
            if !first { json.append(UInt8(ascii: ",")) }
            first = false
            JSONText.append(e.name, to: &json)
            json.append(contentsOf: Array(":{\"dtype\":\"".utf8))
            json.append(contentsOf: Array(e.dtype.rawValue.utf8))
            json.append(contentsOf: Array("\",\"shape\":[".utf8))
            for (i, d) in e.tensor.shape.enumerated() {
                if i > 0 { json.append(UInt8(ascii: ",")) }
                appendJSONInt(d, to: &json)
            }
            json.append(contentsOf: Array("],\"data_offsets\":[".utf8))
            appendJSONInt(offset, to: &json)
            json.append(UInt8(ascii: ","))
            offset += e.byteCount
            appendJSONInt(offset, to: &json)
            json.append(contentsOf: Array("]}".utf8))
        }
        json.append(UInt8(ascii: "}"))
        let padded = (json.count + 7) / 8 * 8
        json.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padded - json.count))
        if UInt64(json.count) > SafetensorsFile.maxHeaderLength {
            throw SafetensorsError.invalidEntry(path: path, reason: "header of \(json.count) bytes exceeds the 100000000-byte limit")
        }
        var length = UInt64(json.count).littleEndian
        let prefix = withUnsafeBytes(of: &length) { Array($0) }
        return prefix + json
    }

    /// Emits the little-endian bytes of one tensor in chunks of at most `chunkElements`.
    private static func writeData(_ e: Entry, scratch: inout [UInt8],
                                  _ emit: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        let n = e.tensor.count
        if n == 0 { return }
        try e.tensor.withUnsafeBufferPointer { src in
            let base = src.baseAddress!
            if e.dtype == .f32 {
                try emit(UnsafeRawBufferPointer(src))
                return
            }
            try scratch.withUnsafeMutableBytes { buffer in
                let out = buffer.baseAddress!
                var start = 0
                while start < n {
                    let m = min(chunkElements, n - start)
                    let p = base + start
                    switch e.dtype {
                    case .f16: convertFloatToHalf(p, count: m, into: out)
                    case .bf16: convertFloatToBFloat16(p, count: m, into: out)
                    case .f64:
                        for i in 0..<m {
                            out.storeBytes(of: Double(p[i]).bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self)
                        }
                    default: preconditionFailure("unwritable dtype \(e.dtype)")
                    }
                    try emit(UnsafeRawBufferPointer(start: out, count: m * e.dtype.bitSize / 8))
                    start += m
                }
            }
        }
    }
}
