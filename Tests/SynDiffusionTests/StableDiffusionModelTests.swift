import Foundation
import SynTensor
import Testing
@testable import SynDiffusion

/// The Stable Diffusion UNet, VAE and pipeline against diffusers 0.42.1 on the tiny SD 1.x-style and
/// SD 2.x-style folders of Scripts/fixtures/fixtures_sd.py (float16 / bfloat16 / float32 weights).
@Suite struct StableDiffusionModelTests {
    @Test(arguments: ["sd1", "sd2"])
    func unetMatchesDiffusers(_ name: String) throws {
        let dir = try sdFixtureFolder(name).appendingPathComponent("unet")
        let unet = SDUNet(config: try SDUNetConfiguration(contentsOf: dir.appendingPathComponent("config.json")))
        try unet.load(dir.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        let ref = try sdParity(name)
        let out = unet.forward(try ref.tensor("unet.sample"), timesteps: try ref.tensor("unet.timesteps"), context: try ref.tensor("unet.context"))
        let err = relativeError(out, try ref.tensor("unet.output"))
        #expect(err < 1e-5, "\(name) UNet relative error \(err)")
    }

    @Test func headsFollowDiffusersReading() throws {
        let sd1 = try SDUNetConfiguration(contentsOf: sdFixtureFolder("sd1").appendingPathComponent("unet/config.json"))
        let sd2 = try SDUNetConfiguration(contentsOf: sdFixtureFolder("sd2").appendingPathComponent("unet/config.json"))
        // SD 1.x: attention_head_dim 2 is the number of heads; SD 2.x: [1, 1] heads of 64 channels.
        #expect(sd1.heads == [2, 2] && !sd1.linearProjection)
        #expect(sd2.heads == [1, 1] && sd2.blockOutChannels[0] / sd2.heads[0] == 64 && sd2.linearProjection && sd2.timeEmbedDim == 32)
    }

    @Test(arguments: ["sd1", "sd2"])
    func vaeMatchesDiffusers(_ name: String) throws {
        let dir = try sdFixtureFolder(name).appendingPathComponent("vae")
        let vae = SDAutoencoder(config: try SDVAEConfiguration(contentsOf: dir.appendingPathComponent("config.json")))
        try vae.load(dir.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        #expect(vae.config.scalingFactor == (name == "sd1" ? 0.18215 : 0.13025))
        let ref = try sdParity(name)
        let decoded = vae.decode(try ref.tensor("vae.latents"))
        let (mean, logvar) = vae.encode(try ref.tensor("vae.image"))
        let e1 = relativeError(decoded, try ref.tensor("vae.decoded"))
        let e2 = relativeError(mean, try ref.tensor("vae.mean"))
        let e3 = relativeError(logvar, try ref.tensor("vae.logvar"))
        #expect(e1 < 1e-5 && e2 < 1e-5 && e3 < 1e-5, "\(name) VAE decode \(e1), mean \(e2), logvar \(e3)")
    }

    @Test(arguments: ["sd1", "sd2"])
    func pipelineMatchesDiffusers(_ name: String) throws {
        let sd = try StableDiffusion(directory: sdFixtureFolder(name))
        let ref = try sdParity(name)
        let prompt = try #require(ref.metadata?["prompt"])
        for (kind, key, latents) in [(SamplerKind.ddim, "pipe.ddim", "pipe.latents"), (.dpmpp, "pipe.dpmpp", "pipe.latents"),
                                     (.euler, "pipe.euler", "pipe.latents_euler")] {
            let image = try sd.denoise(prompt: prompt, latents: try ref.tensor(latents), steps: 4, guidance: 2.5, sampler: kind)
            let err = relativeError(image, try ref.tensor(key))
            #expect(err < 1e-3, "\(name) \(kind.rawValue) image relative error \(err)")
        }
    }

    @Test func folderErrorsNameFileAndTensor() throws {
        let src = try sdFixtureFolder("sd1")
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("sd-broken-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: src, to: tmp)
        defer { try? FileManager.default.removeItem(at: tmp) }
        // A UNet file with one tensor dropped and one extra.
        let unetFile = tmp.appendingPathComponent("unet/diffusion_pytorch_model.safetensors")
        var tensors = try SafetensorsFile(url: unetFile).loadAll()
        tensors["conv_in.weight"] = nil
        tensors["bogus.weight"] = Tensor.zeros([1])
        try Safetensors.save(tensors, to: unetFile)
        do {
            _ = try StableDiffusion(directory: tmp)
            Issue.record("a broken UNet loaded")
        } catch {
            let m = "\(error)"
            #expect(m.contains("diffusion_pytorch_model.safetensors") && m.contains("missing tensor conv_in.weight") && m.contains("unknown tensor bogus.weight"), "\(m)")
        }
        let tmp2 = FileManager.default.temporaryDirectory.appendingPathComponent("sd-novae-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: src, to: tmp2)
        defer { try? FileManager.default.removeItem(at: tmp2) }
        try FileManager.default.removeItem(at: tmp2.appendingPathComponent("vae"))
        do {
            _ = try StableDiffusion(directory: tmp2)
            Issue.record("a folder without vae loaded")
        } catch {
            #expect("\(error)".contains("vae"), "\(error)")
        }
    }

    @Test(arguments: ["sd1", "sd2"])
    func singleFileCheckpointMatchesDiffusers(_ name: String) throws {
        // The original-layout file of the same weights (diffusers' from_single_file gives the folder's image on it).
        let file = try fixtureURL(name + "_ldm", "safetensors")
        let sd = try StableDiffusion.load(file, config: sdFixtureFolder(name))
        let ref = try sdParity(name)
        let image = try sd.denoise(prompt: try #require(ref.metadata?["prompt"]), latents: try ref.tensor("pipe.latents"), steps: 4,
                                   guidance: 2.5, sampler: .ddim)
        let err = relativeError(image, try ref.tensor("pipe.ddim"))
        #expect(err < 1e-3, "\(name) single-file image relative error \(err)")
    }

    @Test(arguments: ["sd1", "sd2"])
    func singleFileStructureIsInferred(_ name: String) throws {
        let file = try SafetensorsFile(url: fixtureURL(name + "_ldm", "safetensors"))
        let keys = file.names.filter { $0.hasPrefix("model.diffusion_model.") }
        let weights = try StableDiffusion.convertLDMUNet(keys, tensor: { try file.tensor($0) },
                                                         fail: { DiffusionError.badCheckpoint(path: file.path, reason: $0) })
        let inferred = try StableDiffusion.inferredUNetConfig(weights, openCLIP: name == "sd2", fail: { DiffusionError.badCheckpoint(path: file.path, reason: $0) })
        let folder = try SDUNetConfiguration(contentsOf: sdFixtureFolder(name).appendingPathComponent("unet/config.json"))
        #expect(inferred.blockOutChannels == folder.blockOutChannels && inferred.layersPerBlock == folder.layersPerBlock
                && inferred.downAttention == folder.downAttention && inferred.upAttention == folder.upAttention
                && inferred.linearProjection == folder.linearProjection && inferred.crossAttentionDim == folder.crossAttentionDim
                && inferred.timeEmbedDim == folder.timeEmbedDim && inferred.transformerLayers == folder.transformerLayers)
        // Without the folder the SD defaults apply: GroupNorm 32 does not fit these 16-channel levels, and the error says so.
        do {
            _ = try StableDiffusion.load(fixtureURL(name + "_ldm", "safetensors"))
            Issue.record("the tiny checkpoint loaded with Stable Diffusion's default GroupNorm")
        } catch {
            #expect("\(error)".contains("norm_num_groups 32") || "\(error)".contains("clip-bpe"), "\(error)")
        }
    }
}
