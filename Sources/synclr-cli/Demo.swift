import ArgumentParser
import SynTensor

/// Interim end-to-end smoke job: trains a small MLP on a generated task and prints the loss.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train a small MLP on generated data (smoke run of SynTensor).")

    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Training steps.") var steps: Int = 200

    func run() async throws {
        print("demo: not wired yet")
    }
}
