import Foundation
import SynTensor
import Testing
@testable import SynDiffusion

private let sdCaptions: [CaptionRecord] = [
    CaptionRecord(id: .number(1), caption: "a red sneaker on grass", concept: "sneaker"),
    CaptionRecord(id: .text("b-2"), caption: "a leather bag", concept: "bag"),
    CaptionRecord(id: .number(3), caption: "trousers folded on a chair", concept: "trouser"),
]

/// Largest absolute difference of two tensors of the same shape.
private func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
    zip(a.contiguous().scalars, b.contiguous().scalars).map { abs($0 - $1) }.max() ?? 0
}

/// `synclr images --model` on Stable Diffusion: the one `ImageJob` renders the tiny SD folders of
/// Scripts/fixtures/fixtures_sd.py through the parity-tested `StableDiffusion` parts.
@Suite struct StableDiffusionJobTests {
    /// The job's image k of caption c is what the diffusers-parity path (`StableDiffusion.denoise`,
    /// pipelineMatchesDiffusers) gives for the initial latents of the image's seed, post-processed as
    /// diffusers does ((x / 2 + 0.5) clamped): the job adds seeds, batching and files, nothing else.
    @Test(arguments: [("sd1", SamplerKind.ddim), ("sd1", .euler), ("sd2", .ddim), ("sd2", .dpmpp)])
    func jobImagesAreTheDenoisedLatentsOfTheirSeeds(_ name: String, _ sampler: SamplerKind) throws {
        let folder = try sdFixtureFolder(name)
        let loaded = try ModelSelection(model: folder.path).loadForImages(size: nil)
        #expect(loaded.size == 16 && loaded.model.space.imageShape == [3, 16, 16] && loaded.model.space.shape == [4, 8, 8])
        let options = ImageJobOptions(perCaption: 2, guidance: 2.5, steps: 4, sampler: sampler, seed: 5, model: loaded.name,
                                      unitCaptions: 2, size: loaded.size)
        let job = ImageJob(model: loaded.model, captions: sdCaptions, options: options, directory: URL(fileURLWithPath: "/nonexistent"))
        let images = try job.render(unit: 0)
        #expect(images.shape == [4, 3, 16, 16])
        let sd = try StableDiffusion(directory: folder)
        var scheduler = try sd.scheduler.scheduler(sampler)
        scheduler.setTimesteps(4)
        for p in 0..<2 {
            for k in 0..<2 {
                var g = [RandomGenerator(seed: imageSeed(jobSeed: 5, captionID: sdCaptions[p].id, index: k))]
                let latents = randnPerItem([1, 4, 8, 8], generators: &g) * scheduler.initNoiseSigma
                let decoded = try sd.denoise(prompt: sdCaptions[p].caption, latents: latents, steps: 4, guidance: 2.5, sampler: sampler)
                let expected = (decoded * 0.5 + 0.5).clamp(min: 0, max: 1)
                let got = images.narrow(0, start: p * 2 + k, length: 1)
                let d = maxAbsDifference(got, expected)
                #expect(d < 1e-4, "\(name) \(sampler.rawValue) caption \(p) image \(k): max difference \(d)")
            }
        }
        // Most pixels are inside (0, 1), so the comparison is not between two clamped, saturated images.
        let inside = images.scalars.filter { $0 > 0 && $0 < 1 }.count
        #expect(inside * 2 > images.count, "\(name): only \(inside) of \(images.count) pixels are unsaturated")
        // Different seeds give different images.
        #expect(maxAbsDifference(images.narrow(0, start: 0, length: 1), images.narrow(0, start: 1, length: 1)) > 1e-3)
    }

    /// Slicing the guided batch (Stable Diffusion's 64x64 latents go through the UNet a guided image
    /// at a time) changes nothing but the batch the kernels see.
    @Test func slicedBatchesEqualOneCall() throws {
        let sd = try StableDiffusion(directory: sdFixtureFolder("sd1"))
        var g = RandomGenerator(seed: 3)
        let x = Tensor.randn([5, 4, 8, 8], generator: &g)
        let t = Tensor(shape: [5], data: [999, 500, 500, 20, 1])
        let cond = try sd.textEncoder.encode(["a", "b", "c", "", "a dog"])
        let whole = AnyNoisePredictor(sd.unet).predict(x, timesteps: t, conditioning: cond)
        let sliced = AnyNoisePredictor(sd.unet, maxBatch: 2).predict(x, timesteps: t, conditioning: cond)
        #expect(maxAbsDifference(whole, sliced) < 1e-5)
    }

    /// The single-file checkpoint of the same weights renders the folder's images.
    @Test func singleFileRendersTheFolderImages() throws {
        let folder = try sdFixtureFolder("sd1")
        let fromFolder = try ModelSelection(model: folder.path).loadForImages(size: nil)
        let fromFile = try ModelSelection(model: fixtureURL("sd1_ldm", "safetensors").path, modelConfig: folder.path).loadForImages(size: nil)
        let options = ImageJobOptions(perCaption: 2, steps: 3, seed: 1, model: "sd", unitCaptions: 1, size: 16)
        let a = try ImageJob(model: fromFolder.model, captions: sdCaptions, options: options, directory: URL(fileURLWithPath: "/x")).render(unit: 1)
        let b = try ImageJob(model: fromFile.model, captions: sdCaptions, options: options, directory: URL(fileURLWithPath: "/x")).render(unit: 1)
        #expect(maxAbsDifference(a, b) < 1e-4)
    }

    /// Other sizes: latents of size / 2 (the tiny VAE's factor), any multiple of 4 (VAE 2 x UNet 2).
    @Test func sizeChoosesTheLatentSide() throws {
        let loaded = try ModelSelection(model: sdFixtureFolder("sd2").path).loadForImages(size: 24)
        #expect(loaded.size == 24 && loaded.model.space.shape == [4, 12, 12] && loaded.model.space.imageShape == [3, 24, 24])
        let options = ImageJobOptions(perCaption: 1, steps: 2, seed: 1, model: loaded.name, unitCaptions: 1, size: 24)
        let image = try ImageJob(model: loaded.model, captions: sdCaptions, options: options, directory: URL(fileURLWithPath: "/x")).render(unit: 0)
        #expect(image.shape == [1, 3, 24, 24])
        #expect(image.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    @Test func shardsAndResumeWriteTheSameBytes() throws {
        let loaded = try ModelSelection(model: sdFixtureFolder("sd1").path).loadForImages(size: nil)
        let options = ImageJobOptions(perCaption: 2, steps: 3, seed: 2, model: loaded.name, unitCaptions: 1, size: loaded.size)
        let whole = try temporaryDirectory("sd-whole"), split = try temporaryDirectory("sd-split")
        defer { for d in [whole, split] { try? FileManager.default.removeItem(at: d) } }
        _ = try ImageJob(model: loaded.model, captions: sdCaptions, options: options, directory: whole).run()
        _ = try ImageJob(model: loaded.model, captions: sdCaptions, options: options, directory: split, shard: Shard("1/2")!).run()
        // Interrupted: one image of shard 0's first unit lost; the rerun renders its unit again.
        _ = try ImageJob(model: loaded.model, captions: sdCaptions, options: options, directory: split, shard: Shard("0/2")!).run()
        try FileManager.default.removeItem(at: split.appendingPathComponent(ImageJob<AnyNoisePredictor>.relativePath(position: 2, index: 1)))
        let s = try ImageJob(model: loaded.model, captions: sdCaptions, options: options, directory: split, shard: Shard("0/2")!).run()
        #expect(s.written == 1 && s.manifestLines == 6)
        for rel in ["manifest.jsonl", "job.json"] + (0..<3).flatMap({ p in (0..<2).map { ImageJob<AnyNoisePredictor>.relativePath(position: p, index: $0) } }) {
            #expect(try Data(contentsOf: whole.appendingPathComponent(rel)) == Data(contentsOf: split.appendingPathComponent(rel)), "\(rel) differs")
        }
        // RGB PNGs of the model's size.
        let png = try ImageIO.read(whole.appendingPathComponent(ImageJob<AnyNoisePredictor>.relativePath(position: 0, index: 0)))
        #expect(png.channels == 3 && png.width == 16 && png.height == 16)
        // A resumed run at another size is another job.
        let other = try ModelSelection(model: sdFixtureFolder("sd1").path).loadForImages(size: 32)
        var otherOptions = options
        otherOptions.size = 32
        #expect { try ImageJob(model: other.model, captions: sdCaptions, options: otherOptions, directory: whole).run() } throws: {
            "\($0)".contains("another job") && "\($0)".contains("\"size\":32")
        }
    }

    @Test func badModelsAndSizesAreNamed() throws {
        let sd1 = try sdFixtureFolder("sd1")
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "no error" } catch { return "\(error)" }
        }
        // A folder that is not a Stable Diffusion model.
        let notSD = message { _ = try ModelSelection(model: sd1.appendingPathComponent("unet").path).loadForImages(size: nil) }
        #expect(notSD.contains("sd1/unet") && notSD.contains("model_index.json") && notSD.contains("`model`"), "\(notSD)")
        // A safetensors file that is neither a SynDiffusion UNet nor a single-file checkpoint.
        let neither = message { _ = try ModelSelection(model: fixtureURL("unet_resnet", "safetensors").path).loadForImages(size: nil) }
        #expect(neither.contains("unet_resnet.safetensors") && neither.contains("neither"), "\(neither)")
        // Not safetensors at all.
        let json = message { _ = try ModelSelection(model: sd1.appendingPathComponent("model_index.json").path).loadForImages(size: nil) }
        #expect(json.contains("model_index.json") && json.contains("safetensors"), "\(json)")
        // Missing.
        let missing = message { _ = try ModelSelection(model: "/nonexistent/sd").loadForImages(size: nil) }
        #expect(missing.contains("/nonexistent/sd") && missing.contains("no such file"), "\(missing)")
        // Sizes: the tiny model needs multiples of 4 (VAE factor 2 x UNet factor 2).
        for bad in [18, 2, 0, -8] {
            let m = message { _ = try ModelSelection(model: sd1.path).loadForImages(size: bad) }
            #expect(m.contains("`size` \(bad)") && m.contains("multiple of 4") && m.contains("native size is 16"), "\(m)")
        }
        // Options of the other kind of model.
        let encoder = message { _ = try ModelSelection(model: sd1.path, textEncoder: "/tmp").loadForImages(size: nil) }
        #expect(encoder.contains("`textEncoder`") && encoder.contains("CLIP"), "\(encoder)")
        let config = message { _ = try ModelSelection(model: sd1.path, modelConfig: sd1.path).loadForImages(size: nil) }
        #expect(config.contains("`modelConfig`") && config.contains("single-file"), "\(config)")
        // The Fashion-MNIST evaluation needs a UNet model.
        let evaluate = message { _ = try ModelSelection(model: sd1.path).load() }
        #expect(evaluate.contains("is a Stable Diffusion model"), "\(evaluate)")
    }

    @Test func sizeOfAUNetModelIsItsOwn() throws {
        let m: String
        do { _ = try ModelSelection().loadForImages(size: 64); m = "no error" } catch { m = "\(error)" }
        #expect(m.contains("`size` 64") && m.contains("32x32"), "\(m)")
    }
}
