import CSynKernels
import Foundation
import SynTensor

/// A weight matrix as the matrix kernel reads it: `rows` output features of `cols` inputs each.
struct WeightMatrix: @unchecked Sendable {
    /// First row.
    let base: UnsafeRawPointer
    /// Storage format (`CSYN_W_*`, a ggml type number).
    let type: Int32
    /// Bytes from one row to the next.
    let rowBytes: Int
    /// Output features.
    let rows: Int
    /// Input features.
    let cols: Int
}

/// How weights are held in memory.
public enum LlamaWeightFormat: String, Sendable, Hashable, CaseIterable {
    /// As stored in the file (Q4_0/Q4_1/Q8_0/F16/F32 read in place; the quantized formats multiply
    /// 8-bit quantized activations with integer block products, F16 is dequantized panel by panel
    /// inside the matrix kernel; other formats are converted to Float32 once).
    case native
    /// Everything converted to Float32 at load (about 4 bytes per parameter).
    case float32
}

/// The per-sequence key/value cache of every layer: `[layer][kvHead][position][headDim]`.
public final class LlamaKVCache: @unchecked Sendable {
    /// Positions this cache can hold.
    public let capacity: Int
    /// Positions filled so far.
    public var count: Int = 0
    let layers: Int, kvHeads: Int, headDim: Int
    let keys: UnsafeMutablePointer<Float>
    let values: UnsafeMutablePointer<Float>

    /// An empty cache for `capacity` positions of a model with `config`.
    public init(config: LlamaConfig, capacity: Int) {
        self.capacity = capacity
        layers = config.layers
        kvHeads = config.kvHeads
        headDim = config.headDim
        let n = layers * kvHeads * capacity * headDim
        keys = .allocate(capacity: Swift.max(n, 1))
        values = .allocate(capacity: Swift.max(n, 1))
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }

    @inline(__always)
    func keyRow(layer: Int, head: Int, position: Int) -> UnsafeMutablePointer<Float> {
        keys + ((layer * kvHeads + head) * capacity + position) * headDim
    }

    @inline(__always)
    func valueRow(layer: Int, head: Int, position: Int) -> UnsafeMutablePointer<Float> {
        values + ((layer * kvHeads + head) * capacity + position) * headDim
    }
}

/// A llama-architecture transformer loaded from GGUF: token embedding, RMSNorm, rotary position
/// embedding (adjacent pairs, llama.cpp's "normal" mode, which matches GGUF's permuted Q/K rows),
/// grouped-query attention over per-sequence KV caches, SwiGLU MLP, tied or separate output head.
///
/// `forward` runs any mix of sequences and positions in one pass (batched prefill and batched
/// decoding). Every row's arithmetic is independent of the other rows, so a sequence's logits do
/// not depend on what it is batched with.
public final class LlamaModel: @unchecked Sendable {
    /// Hyper-parameters.
    public let config: LlamaConfig
    /// The file (kept open: native weights are read from the mapping).
    public let file: GGUFFile
    /// How the weights are held.
    public let weightFormat: LlamaWeightFormat

    struct Layer {
        let attnNorm: UnsafeMutablePointer<Float>
        let ffnNorm: UnsafeMutablePointer<Float>
        /// Q, K and V rows stacked: [dim + 2 kvDim, dim].
        let qkv: WeightMatrix
        let wo: WeightMatrix
        /// Gate and up rows stacked: [2 ffn, dim].
        let gateUp: WeightMatrix
        let down: WeightMatrix
    }

    let layers: [Layer]
    let embedding: WeightMatrix
    let output: WeightMatrix
    let outputNorm: UnsafeMutablePointer<Float>
    private var owned: [UnsafeMutableRawPointer] = []
    /// Rotary inverse frequencies 1 / theta^(2i / ropeDim), one per rotated pair.
    private let ropeInvFreq: [Float]

    /// Loads the model at `path`.
    public convenience init(path: String, weightFormat: LlamaWeightFormat = .native) throws {
        if !FileManager.default.fileExists(atPath: path) { throw LlamaError.modelMissing(path: path) }
        try self.init(file: GGUFFile(path: path), weightFormat: weightFormat)
    }

    /// Loads the model in `file`.
    public init(file: GGUFFile, weightFormat: LlamaWeightFormat = .native) throws {
        self.file = file
        self.weightFormat = weightFormat
        let c = try LlamaConfig.from(file)
        config = c
        var owned: [UnsafeMutableRawPointer] = []
        let path = file.path

        func info(_ name: String, _ dims: [Int]) throws -> GGUFTensorInfo {
            guard let i = file.info(name) else { throw LlamaError.invalidModel(path: path, reason: "tensor \(name) is missing") }
            if i.dims != dims { throw LlamaError.invalidModel(path: path, reason: "tensor \(name) has dims \(i.dims), expected \(dims)") }
            return i
        }
        func vector(_ name: String, _ n: Int) throws -> UnsafeMutablePointer<Float> {
            let i = try info(name, [n])
            guard i.type.isDequantizable else { throw GGUFError.unsupportedTensorType(path: path, tensor: name, type: i.type) }
            let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
            owned.append(UnsafeMutableRawPointer(p))
            try file.dequantize(name, into: p)
            return p
        }
        func readsInPlace(_ t: GGMLType) -> Bool {
            weightFormat == .native && [.f32, .f16, .q4_0, .q4_1, .q8_0].contains(t)
        }
        /// The named matrices stacked by rows into one (copied; converted to Float32 when needed).
        func matrix(_ names: [String], cols: Int, rows: [Int]) throws -> WeightMatrix {
            let infos = try zip(names, rows).map { try info($0, [cols, $1]) }
            let total = rows.reduce(0, +)
            if infos.allSatisfy({ $0.type == infos[0].type }) && readsInPlace(infos[0].type) {
                let t = infos[0].type
                let rowBytes = t.byteCount(forValues: cols)
                if names.count == 1 {
                    let raw = try file.unsafeRawBytes(of: names[0])
                    return WeightMatrix(base: raw.baseAddress!, type: Int32(t.rawValue), rowBytes: rowBytes, rows: total, cols: cols)
                }
                let buf = UnsafeMutableRawPointer.allocate(byteCount: rowBytes * total, alignment: 64)
                owned.append(buf)
                var at = 0
                for n in names {
                    let raw = try file.unsafeRawBytes(of: n)
                    buf.advanced(by: at).copyMemory(from: raw.baseAddress!, byteCount: raw.count)
                    at += raw.count
                }
                return WeightMatrix(base: UnsafeRawPointer(buf), type: Int32(t.rawValue), rowBytes: rowBytes, rows: total, cols: cols)
            }
            let buf = UnsafeMutablePointer<Float>.allocate(capacity: total * cols)
            owned.append(UnsafeMutableRawPointer(buf))
            var at = 0
            for (n, i) in zip(names, infos) {
                guard i.type.isDequantizable else { throw GGUFError.unsupportedTensorType(path: path, tensor: n, type: i.type) }
                try file.dequantize(n, into: buf + at)
                at += i.count
            }
            return WeightMatrix(base: UnsafeRawPointer(buf), type: Int32(CSYN_W_F32), rowBytes: cols * 4, rows: total, cols: cols)
        }

        embedding = try matrix(["token_embd.weight"], cols: c.dim, rows: [c.vocabSize])
        output = file.contains("output.weight") ? try matrix(["output.weight"], cols: c.dim, rows: [c.vocabSize]) : embedding
        outputNorm = try vector("output_norm.weight", c.dim)
        var layers: [Layer] = []
        for l in 0..<c.layers {
            let p = "blk.\(l)."
            layers.append(Layer(
                attnNorm: try vector(p + "attn_norm.weight", c.dim),
                ffnNorm: try vector(p + "ffn_norm.weight", c.dim),
                qkv: try matrix([p + "attn_q.weight", p + "attn_k.weight", p + "attn_v.weight"], cols: c.dim, rows: [c.dim, c.kvDim, c.kvDim]),
                wo: try matrix([p + "attn_output.weight"], cols: c.dim, rows: [c.dim]),
                gateUp: try matrix([p + "ffn_gate.weight", p + "ffn_up.weight"], cols: c.dim, rows: [c.ffnDim, c.ffnDim]),
                down: try matrix([p + "ffn_down.weight"], cols: c.ffnDim, rows: [c.dim])))
        }
        self.layers = layers
        self.owned = owned
        // As transformers: inv_freq = 1 / base^(2i/d) in Float32.
        let d = c.ropeDim
        ropeInvFreq = (0..<(d / 2)).map { i in 1 / powf(c.ropeTheta, Float(2 * i) / Float(d)) }
    }

    deinit {
        for p in owned { p.deallocate() }
    }

    /// A name for records: the file name without `.gguf`.
    public var name: String { URL(fileURLWithPath: file.path).deletingPathExtension().lastPathComponent }

    /// Bytes of weights this model reads per token (for bandwidth estimates).
    public var weightBytes: Int {
        var n = output.rowBytes * output.rows
        for l in layers { n += [l.qkv, l.wo, l.gateUp, l.down].reduce(0) { $0 + $1.rowBytes * $1.rows } }
        return n
    }

    // MARK: forward

    /// y[r][j] = x[r] . W[j] for all rows, with the output features split over the worker threads.
    func matmul(_ x: UnsafePointer<Float>, rows: Int, _ w: WeightMatrix, _ y: UnsafeMutablePointer<Float>, ldy: Int) {
        let n = w.rows
        // The pool's spinning workers start within a few microseconds, so a product is split once
        // each part holds 2^18 multiply-adds: at batch 1 that is every projection of SmolLM2-135M.
        let chunks = Swift.min(Threading.count, Swift.max(1, n / 48), Swift.max(1, rows * n * w.cols / LlamaModel.minWorkPerThread))
        let xs = UncheckedSendable(x), ys = UncheckedSendable(y)
        if csyn_q8_supports(w.type) != 0 {
            // Quantized weights: x is quantized to 8-bit blocks once, then every chunk takes integer
            // block products (the same arithmetic for every row count, so batching changes nothing).
            let bytes = Int(csyn_q8_bytes(Int64(rows), Int64(w.cols)))
            let xq = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(bytes, 1), alignment: 64)
            defer { xq.deallocate() }
            csyn_quantize_q8(x, Int64(rows), Int64(w.cols), Int64(w.cols), xq)
            let xqs = UncheckedSendable(UnsafeRawPointer(xq))
            Threading.concurrentPerform(chunks) { t in
                let n0 = n * t / chunks, n1 = n * (t + 1) / chunks
                _ = csyn_matmul_q8(xqs.value, Int64(rows), Int64(w.cols), w.base, w.type, Int64(w.rowBytes),
                                   Int64(n0), Int64(n1), ys.value, Int64(ldy))
            }
            return
        }
        Threading.concurrentPerform(chunks) { t in
            let n0 = n * t / chunks, n1 = n * (t + 1) / chunks
            csyn_matmul_nt(xs.value, Int64(rows), Int64(w.cols), Int64(w.cols), w.base, w.type, Int64(w.rowBytes),
                           Int64(n0), Int64(n1), ys.value, Int64(ldy))
        }
    }

    /// Multiply-adds below which a thread's share of a product or of the attention is not worth a wake-up
    /// (measured with the worker pool: batch-1 decoding 143 tok/s at 2^20, 188-211 at 2^18, the same at 2^16).
    static let minWorkPerThread = 1 << 18

    /// out[r] = x[r] / rms(x[r]) * weight, for `rows` rows of `dim`.
    func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int) {
        let dim = config.dim, eps = config.rmsEps
        for r in 0..<rows {
            let xr = x + r * dim, o = out + r * dim
            var ss: Double = 0
            for i in 0..<dim { ss += Double(xr[i]) * Double(xr[i]) }
            let mean = Float(ss / Double(dim))
            let inv = 1 / (mean + eps).squareRoot()
            for i in 0..<dim { o[i] = weight[i] * (xr[i] * inv) }
        }
    }

    /// Rotates the first `ropeDim` dims of each of `heads` heads in `v` (pairs 2i, 2i+1) for `position`.
    @inline(__always)
    func rope(_ v: UnsafeMutablePointer<Float>, heads: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
        let hd = config.headDim, pairs = config.ropeDim / 2
        for h in 0..<heads {
            let p = v + h * hd
            for i in 0..<pairs {
                let x0 = p[2 * i], x1 = p[2 * i + 1]
                p[2 * i] = x0 * cos[i] - x1 * sin[i]
                p[2 * i + 1] = x0 * sin[i] + x1 * cos[i]
            }
        }
    }

    /// Runs rows of tokens through the model: row r is token `tokens[r]` of the sequence whose cache is
    /// `caches[cacheIndex[r]]`, at `positions[r]`. Each row's keys and values are stored in its cache
    /// (all rows first, so rows of one sequence may be batched together, in position order), then
    /// each row attends to its cache up to its own position. Returns the logits of the rows listed in
    /// `logitRows`, `logitRows.count x vocabSize` values.
    public func forward(tokens: [Int32], positions: [Int], caches: [LlamaKVCache], cacheIndex: [Int], logitRows: [Int]) -> [Float] {
        let c = config
        let rows = tokens.count
        precondition(positions.count == rows && cacheIndex.count == rows, "forward: tokens, positions and cacheIndex differ in length")
        for r in 0..<rows {
            precondition(positions[r] < caches[cacheIndex[r]].capacity, "forward: position \(positions[r]) beyond the cache")
            precondition(tokens[r] >= 0 && Int(tokens[r]) < c.vocabSize, "forward: token \(tokens[r]) out of range")
        }
        let dim = c.dim, kvDim = c.kvDim, qkvDim = dim + 2 * kvDim, ffn = c.ffnDim, hd = c.headDim
        let x = UnsafeMutablePointer<Float>.allocate(capacity: rows * dim)
        let xn = UnsafeMutablePointer<Float>.allocate(capacity: rows * dim)
        let qkv = UnsafeMutablePointer<Float>.allocate(capacity: rows * qkvDim)
        let att = UnsafeMutablePointer<Float>.allocate(capacity: rows * dim)
        let gu = UnsafeMutablePointer<Float>.allocate(capacity: rows * 2 * ffn)
        let act = UnsafeMutablePointer<Float>.allocate(capacity: rows * ffn)
        let pairs = c.ropeDim / 2
        let cosT = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(rows * pairs, 1))
        let sinT = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(rows * pairs, 1))
        defer {
            x.deallocate(); xn.deallocate(); qkv.deallocate(); att.deallocate(); gu.deallocate(); act.deallocate()
            cosT.deallocate(); sinT.deallocate()
        }
        for r in 0..<rows {
            csyn_dequantize_row(embedding.base + Int(tokens[r]) * embedding.rowBytes, embedding.type, Int64(dim), x + r * dim)
            let pos = Float(positions[r]) / c.ropeScale
            for i in 0..<pairs {
                let angle = pos * ropeInvFreq[i]
                cosT[r * pairs + i] = cosf(angle)
                sinT[r * pairs + i] = sinf(angle)
            }
        }
        let scale = 1 / Float(hd).squareRoot()
        let group = c.heads / c.kvHeads
        let maxLen = (positions.max() ?? 0) + 1
        for (l, layer) in layers.enumerated() {
            rmsNorm(x, layer.attnNorm, xn, rows: rows)
            matmul(xn, rows: rows, layer.qkv, qkv, ldy: qkvDim)
            for r in 0..<rows {
                let row = qkv + r * qkvDim
                rope(row, heads: c.heads, cos: cosT + r * pairs, sin: sinT + r * pairs)
                rope(row + dim, heads: c.kvHeads, cos: cosT + r * pairs, sin: sinT + r * pairs)
                let cache = caches[cacheIndex[r]], p = positions[r]
                for h in 0..<c.kvHeads {
                    cache.keyRow(layer: l, head: h, position: p).update(from: row + dim + h * hd, count: hd)
                    cache.valueRow(layer: l, head: h, position: p).update(from: row + dim + kvDim + h * hd, count: hd)
                }
            }
            // Attention, one (row, head) pair per work item.
            let work = rows * c.heads
            let qkvS = UncheckedSendable(qkv), attS = UncheckedSendable(att)
            let chunks = Swift.min(Threading.count, work, Swift.max(1, work * maxLen * hd / LlamaModel.minWorkPerThread))
            Threading.concurrentPerform(chunks) { t in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: maxLen) { scores in
                    let s = scores.baseAddress!
                    for item in (work * t / chunks)..<(work * (t + 1) / chunks) {
                        let r = item / c.heads, h = item % c.heads
                        let cache = caches[cacheIndex[r]], p = positions[r], kvh = h / group
                        let q = qkvS.value + r * qkvDim + h * hd
                        let out = attS.value + r * dim + h * hd
                        csyn_attend(q, cache.keyRow(layer: l, head: kvh, position: 0), cache.valueRow(layer: l, head: kvh, position: 0),
                                    Int64(p + 1), Int64(hd), scale, out, s)
                    }
                }
            }
            matmul(att, rows: rows, layer.wo, xn, ldy: dim)
            for i in 0..<(rows * dim) { x[i] += xn[i] }
            rmsNorm(x, layer.ffnNorm, xn, rows: rows)
            matmul(xn, rows: rows, layer.gateUp, gu, ldy: 2 * ffn)
            for r in 0..<rows {
                let g = gu + r * 2 * ffn, u = g + ffn, a = act + r * ffn
                for i in 0..<ffn {
                    let gi = g[i]
                    a[i] = gi / (1 + expf(-gi)) * u[i]
                }
            }
            matmul(act, rows: rows, layer.down, xn, ldy: dim)
            for i in 0..<(rows * dim) { x[i] += xn[i] }
        }
        for r in 0..<rows {
            let cache = caches[cacheIndex[r]]
            cache.count = Swift.max(cache.count, positions[r] + 1)
        }
        let n = logitRows.count
        if n == 0 { return [] }
        for (i, r) in logitRows.enumerated() { (att + i * dim).update(from: x + r * dim, count: dim) }
        rmsNorm(att, outputNorm, xn, rows: n)
        return [Float](unsafeUninitializedCapacity: n * c.vocabSize) { buf, count in
            matmul(xn, rows: n, output, buf.baseAddress!, ldy: c.vocabSize)
            count = n * c.vocabSize
        }
    }
}

/// Carries a pointer into worker closures that touch disjoint memory.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
