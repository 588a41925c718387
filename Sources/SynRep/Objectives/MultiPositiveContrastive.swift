import SynTensor

/// StableRep's multi-positive contrastive loss (Tian et al. 2023, eq. 2), in SynCLR's form.
///
/// For each query row a (l2-normalized) and key rows b_j (l2-normalized):
///   q_j = softmax_j(a . b_j / tau),  p_j = 1[group(a) == group(b_j)] / #positives,  loss = H(p, q)
/// averaged over query rows. A key listed as the query's own copy is removed from its candidates.
/// The target mask is rebuilt from the group ids on every call, so repeated captions in one batch
/// are positives of each other (the reference code cached it across batches).
public struct MultiPositiveContrastive: Sendable {
    /// Temperature tau (SynCLR: 0.08).
    public var temperature: Float

    /// A loss with temperature `temperature`.
    public init(temperature: Float = 0.08) {
        self.temperature = temperature
    }

    /// Mean H(p, q) over query rows.
    /// - queries: [M, c]; keys: [G, c] (both l2-normalized by the caller).
    /// - queryGroups / keyGroups: caption (or image) id of each row.
    /// - ownKey: for each query, the index of its own key to exclude (nil = none).
    public func callAsFunction(queries: Tensor, keys: Tensor, queryGroups: [Int], keyGroups: [Int], ownKey: [Int?]) -> Tensor {
        let M = queries.shape[0], G = keys.shape[0]
        precondition(queryGroups.count == M && ownKey.count == M && keyGroups.count == G,
                     "contrastive: \(M) queries / \(G) keys but \(queryGroups.count) query groups, \(keyGroups.count) key groups, \(ownKey.count) own-key entries")
        var target = [Float](repeating: 0, count: M * G)
        var exclude = [Float](repeating: 0, count: M * G)
        for i in 0..<M {
            var positives = 0
            for j in 0..<G where ownKey[i] != j && keyGroups[j] == queryGroups[i] { positives += 1 }
            precondition(positives > 0, "contrastive: query \(i) (group \(queryGroups[i])) has no positive key")
            for j in 0..<G {
                if ownKey[i] == j { exclude[i * G + j] = 1; continue }
                if keyGroups[j] == queryGroups[i] { target[i * G + j] = 1 / Float(positives) }
            }
        }
        let logits = queries.matmul(keys.transposed(0, 1)) * (1 / temperature)
        let masked = logits.maskedFill(Tensor(shape: [M, G], data: exclude), -1e9)
        return masked.crossEntropy(targets: Tensor(shape: [M, G], data: target))
    }
}
