import Testing
@testable import SynTensor

@Suite struct CoreTests {
    @Test func broadcastAddAndBackward() {
        let a = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6]).requiringGrad()
        let b = Tensor([10, 20, 30]).requiringGrad()
        let y = (a * b + a).sum()
        #expect(y.item() == 481)
        let g = y.backward()
        #expect(g[a]!.scalars == [11, 21, 31, 11, 21, 31])
        #expect(g[b]!.scalars == [5, 7, 9])
    }

    @Test func matmulTransposedViews() {
        let a = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [2, 3], data: [1, 0, 1, 0, 1, 0])
        let c = a.matmul(b.T)
        #expect(c.shape == [2, 2])
        #expect(c.scalars == [4, 2, 10, 5])
    }
}
