import ArgumentParser

/// `synclr diffusion`: the built-in text-to-image model (training and evaluation).
struct Diffusion: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train and evaluate the built-in text-to-image model (a small UNet on Fashion-MNIST, MiniLM captions).",
        subcommands: [DiffusionTrain.self, DiffusionExport.self, DiffusionEvaluate.self, DiffusionDenoise.self])
}
