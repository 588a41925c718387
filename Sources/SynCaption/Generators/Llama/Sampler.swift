import Foundation
import SynTensor

/// Picks the next token from logits: repetition penalty, temperature, top-k, top-p, then one
/// uniform draw from the request's own counter-based generator (greedy at temperature 0).
/// The steps and their order follow `transformers`' logits processors.
public struct Sampler: Sendable {
    /// Softmax temperature; 0 (or less) is greedy.
    public var temperature: Float
    /// Nucleus mass: keep the fewest most likely tokens whose probabilities sum to at least this (1 disables).
    public var topP: Float
    /// Keep only tokens whose logit is at least the k-th largest (0 disables).
    public var topK: Int
    /// Logits of tokens already in the context are divided (positive) or multiplied (negative) by this (1 disables).
    public var repetitionPenalty: Float

    /// A sampler with the given settings.
    public init(temperature: Float, topP: Float = 1, topK: Int = 0, repetitionPenalty: Float = 1) {
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.repetitionPenalty = repetitionPenalty
    }

    /// The sampler for `options`.
    public init(_ options: GenerationOptions) {
        self.init(temperature: options.temperature, topP: options.topP, topK: options.topK, repetitionPenalty: options.repetitionPenalty)
    }

    /// The index of the largest value (the first one on ties).
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        for i in 0..<logits.count where logits[i] > bestValue {
            bestValue = logits[i]
            best = i
        }
        return best
    }

    /// Samples a token from `logits` (modified in place), given the tokens already in the context.
    public func sample(_ logits: UnsafeMutableBufferPointer<Float>, context: Set<Int32>, generator: inout RandomGenerator) -> Int32 {
        let n = logits.count
        if repetitionPenalty != 1 {
            for t in context where t >= 0 && Int(t) < n {
                let v = logits[Int(t)]
                logits[Int(t)] = v > 0 ? v / repetitionPenalty : v * repetitionPenalty
            }
        }
        if temperature <= 0 { return Int32(Sampler.argmax(UnsafeBufferPointer(logits))) }
        let invT = 1 / temperature
        var mx = -Float.infinity
        for i in 0..<n {
            logits[i] = logits[i] * invT
            if logits[i] > mx { mx = logits[i] }
        }
        // Top-k threshold: the k-th largest logit (ties at the threshold are kept).
        var floor = -Float.infinity
        if topK > 0 && topK < n {
            floor = Sampler.kthLargest(UnsafeBufferPointer(logits), topK)
        }
        // Unnormalized probabilities of the kept tokens.
        var total: Double = 0
        for i in 0..<n {
            let v = logits[i]
            if v >= floor {
                let e = expf(v - mx)
                logits[i] = e
                total += Double(e)
            } else {
                logits[i] = 0
            }
        }
        var candidates: [(p: Float, id: Int32)]
        if topP < 1 {
            // A token below (1 - p) / n of the mass can never be in the nucleus: everything below
            // that bound sums to less than 1 - p. Only the rest needs sorting.
            let bound = Float(total * Double(1 - topP) / Double(n))
            candidates = []
            for i in 0..<n where logits[i] >= bound && logits[i] > 0 { candidates.append((logits[i], Int32(i))) }
            candidates.sort { $0.p != $1.p ? $0.p > $1.p : $0.id < $1.id }
            let target = Double(topP) * total
            var cum: Double = 0
            var keep = 0
            while keep < candidates.count {
                if cum >= target && keep > 0 { break }
                cum += Double(candidates[keep].p)
                keep += 1
            }
            candidates.removeSubrange(keep...)
            total = cum
        } else {
            candidates = []
            for i in 0..<n where logits[i] > 0 { candidates.append((logits[i], Int32(i))) }
        }
        if candidates.isEmpty { return Int32(Sampler.argmax(UnsafeBufferPointer(logits))) }
        let u = generator.uniformDouble() * total
        var cum: Double = 0
        for c in candidates {
            cum += Double(c.p)
            if u < cum { return c.id }
        }
        return candidates[candidates.count - 1].id
    }

    /// The k-th largest value of `values` (1-based k).
    static func kthLargest(_ values: UnsafeBufferPointer<Float>, _ k: Int) -> Float {
        // A bounded min-heap would be faster; k is small and this runs once per token.
        var top = Array(values.prefix(k)).sorted()
        for i in k..<values.count where values[i] > top[0] {
            // Insert keeping ascending order, dropping the smallest.
            var lo = 0, hi = top.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if top[mid] < values[i] { lo = mid + 1 } else { hi = mid }
            }
            top.insert(values[i], at: lo)
            top.removeFirst()
        }
        return top[0]
    }
}
