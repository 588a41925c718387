import ArgumentParser
import Foundation
import SynRep
import SynTensor

/// `synclr embed`: final-norm CLS features of a set of images.
struct Embed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the CLS features of images as safetensors (`features` [N, D], `labels` [N] where known).")

    @Option(help: "model.safetensors written by `synclr train`, or a PyTorch .pth of a timm-style ViT.") var checkpoint: String
    @Option(help: "For a .pth: the model preset whose heads to use (its sizes must match the file).") var model: String?
    @OptionGroup var torch: TorchCheckpointOptions
    @Option(help: "Images: a folder (manifest or ImageFolder), fashion-mnist:train or fashion-mnist:test.") var images: String
    @Option(help: "Output .safetensors file.") var out: String
    @Option(help: "Batch size.") var batchSize: Int = 256

    func run() async throws {
        let backbone = try loadBackbone(URL(fileURLWithPath: checkpoint), torchOptions: try torch.options(model: model), note: TorchCheckpointOptions.log)
        let set = try DataSource(images, defaultSplit: .test).load(channels: backbone.card.channels, size: backbone.card.imageSize)
        let start = Date()
        let features = extractFeatures(backbone, images: set, batchSize: batchSize)
        var tensors = ["features": features]
        if set.labels.allSatisfy({ $0 >= 0 }) {
            tensors["labels"] = Tensor(shape: [set.count], data: set.labels.map(Float.init))
        }
        let paths = String(decoding: try JSONEncoder().encode(set.sources), as: UTF8.self)
        let classes = String(decoding: try JSONEncoder().encode(set.classNames), as: UTF8.self)
        try Safetensors.save(tensors, to: URL(fileURLWithPath: out), metadata: ["paths": paths, "classes": classes])
        print(String(format: "embed: %d images -> %@ [%d, %d] in %.1f s", set.count, out, features.shape[0], features.shape[1],
                     Date().timeIntervalSince(start)))
    }
}
