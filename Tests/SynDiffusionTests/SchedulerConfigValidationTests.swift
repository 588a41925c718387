import Foundation
import SynTensor
import Testing
@testable import SynDiffusion

/// `scheduler/scheduler_config.json` of a Stable Diffusion folder and `--steps` reach the
/// schedulers' preconditions only through these checks (issue 17: errors, never traps).
@Suite struct SchedulerConfigValidationTests {
    /// Writes `json` as scheduler_config.json in a fresh folder and reads it.
    static func load(_ json: String, _ label: String = #function) throws -> (SDSchedulerConfiguration, String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("synclr-schedcfg-\(getpid())-\(label.filter(\.isLetter))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent("scheduler_config.json")
        try Data(json.utf8).write(to: url)
        return (try SDSchedulerConfiguration(contentsOf: url), url.path)
    }

    static func failure(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    @Test func integerKeysMustBeWholeNumbersInRange() throws {
        // Int(1e30) and Int(2.5e300) trap; 2.5 truncated silently. Each is refused naming file and key.
        for (json, key) in [(#"{"num_train_timesteps": 1e30}"#, "num_train_timesteps"), (#"{"num_train_timesteps": 1}"#, "num_train_timesteps"),
                            (#"{"num_train_timesteps": 999.5}"#, "num_train_timesteps"), (#"{"steps_offset": -1}"#, "steps_offset"),
                            (#"{"steps_offset": 2.5e300}"#, "steps_offset"), (#"{"steps_offset": "1"}"#, "steps_offset")] {
            let e = Self.failure { _ = try Self.load(json, "int\(json.hashValue)") }
            #expect(e.contains("scheduler_config.json") && e.contains(key) && e.contains("must be an integer in"), "\(json): \(e)")
        }
        let (plain, _) = try Self.load(#"{"num_train_timesteps": 1000, "steps_offset": 1, "trained_betas": null}"#)
        #expect(plain.trainSteps == 1000 && plain.stepsOffset == 1)
    }

    @Test func solverOrderOutsideOneToThreeIsAnErrorNotATrap() throws {
        // DPMSolverMultistepScheduler.init has a precondition on solverOrder; the config's value
        // reaches it only through this check (and Int(1e20) used to trap before the check).
        for order in ["0", "4", "2.5", "1e20", "-3"] {
            let (config, path) = try Self.load(#"{"solver_order": \#(order)}"#, "order\(order.filter(\.isNumber))")
            let e = Self.failure { _ = try config.scheduler(.dpmpp) }
            #expect(e.contains(path) && e.contains("solver_order") && e.contains("must be 1, 2 or 3"), "\(order): \(e)")
            _ = try config.scheduler(.ddim)  // the key belongs to DPM-Solver++ only
        }
        let (three, _) = try Self.load(#"{"solver_order": 3}"#, "orderthree")
        #expect((try three.scheduler(.dpmpp) as? DPMSolverMultistepScheduler)?.solverOrder == 3)
    }

    @Test func leadingTimestepsPastTheTrainedRangeAreRefusedForDDIMAndDDPM() throws {
        // Stable Diffusion 1.5's file: "leading" by default for DDIM, steps_offset 1.
        let (sd, path) = try Self.load(#"{"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "num_train_timesteps": 1000, "steps_offset": 1}"#)
        for kind in [SamplerKind.ddim, .ddpm] {
            let p = try #require(sd.stepsProblem(1000, sampler: kind))
            #expect(p.contains("`steps` 1000") && p.contains(path) && p.contains("timestep 1000") && p.contains("use at most 999 steps"), "\(p)")
            #expect(sd.stepsProblem(999, sampler: kind) == nil && sd.stepsProblem(50, sampler: kind) == nil)
            var s = try sd.scheduler(kind)
            s.setTimesteps(999)
            #expect(s.timesteps.first == 999)
        }
        #expect(sd.stepsProblem(0, sampler: .ddim)?.contains("must be in 1...1000") == true)
        #expect(sd.stepsProblem(1001, sampler: .euler)?.contains("must be in 1...1000") == true)
        // Trailing spacing never leaves the range.
        let (trailing, _) = try Self.load(#"{"timestep_spacing": "trailing", "steps_offset": 1}"#, "trailing")
        #expect(trailing.stepsProblem(1000, sampler: .ddim) == nil)
    }

    @Test func dpmSolverClampsLeadingTimestepsPastTheRangeAsDiffusers() throws {
        // diffusers reads the sigmas with np.interp (clamped), so DPM-Solver++ runs where DDIM cannot;
        // 999 leading steps with offset 1 put the first timestep at 1000 (it used to index past the table).
        let (sd, _) = try Self.load(#"{"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "timestep_spacing": "leading", "steps_offset": 1}"#)
        #expect(sd.stepsProblem(999, sampler: .dpmpp) == nil)
        var dpm = try #require(try sd.scheduler(.dpmpp) as? DPMSolverMultistepScheduler)
        dpm.setTimesteps(999)
        #expect(dpm.timesteps.first == 1000 && dpm.timesteps.count == 999)
        let ac = dpm.schedule.alphasCumprod
        let sigmaMax = ((1 - ac[999]) / ac[999]).squareRoot()
        #expect(dpm.sigmas.first == sigmaMax, "\(String(describing: dpm.sigmas.first)) vs \(sigmaMax)")
    }

    @Test func imageJobRefusesTheStepCountBeforeCreatingAnything() throws {
        // `synclr images --model SD1-FOLDER --sampler ddim --steps 1000`: the tiny SD 1.x fixture
        // has the real file's leading spacing and steps_offset 1.
        let loaded = try ModelSelection(model: try sdFixtureFolder("sd1").path).loadForImages(size: nil)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("synclr-schedcfg-job-\(getpid())")
        try? FileManager.default.removeItem(at: out)
        let captions = [CaptionRecord(id: .number(1), caption: "a red sneaker", concept: "sneaker")]
        let options = ImageJobOptions(perCaption: 1, guidance: 2.5, steps: 1000, sampler: .ddim, seed: 5, model: loaded.name,
                                      unitCaptions: 1, size: loaded.size)
        let e = Self.failure { _ = try ImageJob(model: loaded.model, captions: captions, options: options, directory: out).run() }
        #expect(e.contains("`steps` 1000") && e.contains("scheduler_config.json") && e.contains("use at most 999 steps"), "\(e)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
}

/// A damaged single-file Stable Diffusion checkpoint is an error naming the tensor, not a trap on `shape[i]`.
@Suite struct DamagedSingleFileCheckpointTests {
    @Test func wrongRankTensorsAreRefusedNamingThem() throws {
        let source = try SafetensorsFile(url: fixtureURL("sd1_ldm", "safetensors"))
        var tensors: [String: Tensor] = [:]
        for name in source.names { tensors[name] = try source.tensor(name) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("synclr-damaged-sd-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let token = try #require(source.names.first { $0.hasSuffix("token_embedding.weight") })
        for (victim, expected) in [(token, "expected [vocabulary, width]"),
                                   ("model.diffusion_model.input_blocks.0.0.weight", "expected 4 dimensions"),
                                   ("model.diffusion_model.time_embed.0.weight", "expected 2 dimensions")] {
            #expect(tensors[victim] != nil, "\(victim) not in the fixture")
            var damaged = tensors
            damaged[victim] = Tensor(shape: [3], data: [1, 2, 3])
            let url = dir.appendingPathComponent("damaged.safetensors")
            try Safetensors.save(damaged, to: url)
            let e: String
            do { _ = try StableDiffusion(singleFile: url); e = "no error" } catch { e = "\(error)" }
            #expect(e.contains(url.path) && e.contains(expected), "\(victim): \(e)")
        }
    }
}
