/// Running top-k selection for one row: a bounded min-heap on (similarity, -index).
///
/// Candidates must be offered in ascending index order; then a candidate is kept only when its
/// similarity is strictly above the current k-th best, so among equal similarities the lower
/// index wins. NaN similarities are never kept. O(n log k) per row instead of a full sort.
struct TopKSelection {
    let k: Int
    private(set) var similarities: [Float]
    private(set) var indices: [Int32]
    private(set) var filled = 0

    init(k: Int) {
        precondition(k > 0, "k must be positive")
        self.k = k
        similarities = [Float](repeating: 0, count: k)
        indices = [Int32](repeating: 0, count: k)
    }

    /// Forgets the current selection.
    mutating func reset() { filled = 0 }

    /// True when heap entry `a` ranks below entry `b` (lower similarity, or equal and later index).
    @inline(__always)
    private func worse(_ a: Int, _ b: Int) -> Bool {
        similarities[a] < similarities[b] || (similarities[a] == similarities[b] && indices[a] > indices[b])
    }

    /// Offers the similarities `row[0..<count]` of candidates `base..<base+count`.
    mutating func offer(_ row: UnsafePointer<Float>, count: Int, base: Int) {
        var j = 0
        // Fill phase.
        while filled < k && j < count {
            let s = row[j]
            if !s.isNaN {
                similarities[filled] = s
                indices[filled] = Int32(base + j)
                siftUp(filled)
                filled += 1
            }
            j += 1
        }
        if j == count { return }
        var threshold = similarities[0]
        while j < count {
            let s = row[j]
            if s > threshold {
                similarities[0] = s
                indices[0] = Int32(base + j)
                siftDown(0)
                threshold = similarities[0]
            }
            j += 1
        }
    }

    private mutating func siftUp(_ start: Int) {
        var c = start
        while c > 0 {
            let p = (c - 1) / 2
            if worse(c, p) {
                similarities.swapAt(c, p)
                indices.swapAt(c, p)
                c = p
            } else {
                return
            }
        }
    }

    private mutating func siftDown(_ start: Int) {
        var p = start
        while true {
            let l = 2 * p + 1
            if l >= filled { return }
            var m = l
            if l + 1 < filled && worse(l + 1, l) { m = l + 1 }
            if worse(m, p) {
                similarities.swapAt(m, p)
                indices.swapAt(m, p)
                p = m
            } else {
                return
            }
        }
    }

    /// The selection, best first (similarity descending, then index ascending).
    func sorted() -> [(index: Int, similarity: Float)] {
        var items = (0..<filled).map { (index: Int(indices[$0]), similarity: similarities[$0]) }
        items.sort { $0.similarity > $1.similarity || ($0.similarity == $1.similarity && $0.index < $1.index) }
        return items
    }
}
