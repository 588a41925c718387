import Foundation
import Testing
@testable import SynRep

/// `fashion-mnist:val`: recipes are chosen on training images held out from the probe, never on the test set.
@Suite struct ValidationSplitTests {
    @Test func heldOutTrainingImagesAreFixedDisjointAndBalanced() throws {
        let a = try loadEvaluationSplits("fashion-mnist:val", channels: 1, size: 28)
        let b = try loadEvaluationSplits("fashion-mnist:val", channels: 1, size: 28, seed: 7)
        #expect(a.train.count == 50_000 && a.test.count == 10_000)
        // The held-out part is the same whatever the run's seed, so every variant is scored alike.
        #expect(a.test.sources == b.test.sources)
        #expect(Set(a.train.sources).isDisjoint(with: Set(a.test.sources)))
        let perClass = Dictionary(grouping: a.test.labels, by: { $0 }).mapValues(\.count)
        #expect(perClass.count == 10 && perClass.values.allSatisfy { $0 == 1000 })
        // None of the held-out images is a test-set image.
        let test = try loadEvaluationSplits("fashion-mnist", channels: 1, size: 28).test
        #expect(Set(test.sources).isDisjoint(with: Set(a.test.sources)))
        // A training cap still draws only from the non-held-out images.
        let capped = try loadEvaluationSplits("fashion-mnist:val", channels: 1, size: 28, trainLimit: 5000)
        #expect(capped.train.count == 5000 && Set(capped.train.sources).isSubset(of: Set(a.train.sources)))
    }
}
