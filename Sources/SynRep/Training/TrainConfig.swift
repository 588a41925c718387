import SynTensor

/// Every option of a representation-learning run (saved with checkpoints and the model).
public struct TrainConfig: Codable, Sendable, Hashable {
    /// Backbone shape.
    public var model: ViTConfig
    /// Objective.
    public var objective: Objective
    /// Optimizer steps.
    public var steps: Int
    /// Captions (groups) per batch, B.
    public var groupsPerBatch: Int = 16
    /// Images per caption in a batch (SynCLR: 4). SimCLR uses 2 views of one image instead.
    public var imagesPerGroup: Int = 4
    /// Local crops per image (SynCLR: 4).
    public var localCrops: Int = 4
    /// Local crop side in pixels (SynCLR: 96 for 224 globals).
    public var localSize: Int = 16
    /// Peak learning rate (after warm-up).
    public var learningRate: Float = 1e-3
    /// Learning rate at the end of the cosine.
    public var minLearningRate: Float = 1e-6
    /// Linear warm-up steps.
    public var warmupSteps: Int = 50
    /// Weight decay at the start of the cosine (SynCLR: 0.04).
    public var weightDecay: Float = 0.04
    /// Weight decay at the end (SynCLR: 0.2).
    public var finalWeightDecay: Float = 0.2
    /// EMA teacher momentum at the start (cosine to 1; SynCLR: 0.994).
    public var emaMomentum: Float = 0.994
    /// Contrastive temperature (SynCLR: 0.08).
    public var temperature: Float = 0.08
    /// Projector dims after the backbone width: hidden..., out (paper: 4096, 4096, 256).
    public var projectorDims: [Int] = [1024, 1024, 256]
    /// Predictor dims after the projector output: hidden..., out (paper: 4096, 256); empty: no
    /// predictor, the student's projector outputs are the queries (an ablation of the paper's recipe).
    public var predictorDims: [Int] = [1024, 256]
    /// iBOT head dims after the backbone width: hidden..., bottleneck (paper: 2048, 2048, 256).
    public var ibotDims: [Int] = [512, 512, 128]
    /// iBOT prototypes K (paper: 65536).
    public var ibotPrototypes: Int = 1024
    /// Weight of the iBOT loss (0 disables masking).
    public var ibotWeight: Float = 1
    /// iBOT teacher temperature at step 0 and after warm-up (0.04 -> 0.07).
    public var teacherTemperature: Float = 0.04
    /// Final iBOT teacher temperature.
    public var finalTeacherTemperature: Float = 0.07
    /// Steps of the teacher-temperature ramp (paper: 4000 of 500k).
    public var teacherTemperatureWarmup: Int = 100
    /// iBOT student temperature (0.1).
    public var studentTemperature: Float = 0.1
    /// Fraction of images masked for iBOT (0.5).
    public var maskedImageFraction: Float = 0.5
    /// Fraction of patch tokens masked in a masked image (0.5).
    public var maskedPatchFraction: Float = 0.5
    /// Photometric augmentation (nil: the paper's BYOL set).
    public var augmentation: AugmentationStrength?
    /// Smallest area fraction of a global crop (nil: the paper's 0.32).
    public var globalCropScale: Float?
    /// Exclude a local crop's own image's global crop from its positives.
    public var excludeOwnGlobalForLocal: Bool = false
    /// Global gradient-norm clip (nil disables).
    public var gradientClip: Float? = 3.0
    /// Input normalization mean per channel (inputs are first scaled to [0, 1]).
    public var mean: [Float] = [0.5]
    /// Input normalization std per channel.
    public var std: [Float] = [0.5]
    /// Seed of every random choice (init, batches, augmentation, masks, drop path).
    public var seed: UInt64 = 0
    /// Checkpoint interval in steps (0: only at the end).
    public var checkpointEvery: Int = 100
    /// Metrics logging interval in steps.
    public var logEvery: Int = 10
    /// Number of classes for the supervised objective (from the data).
    public var classes: Int = 0

    /// A configuration with defaults scaled for this machine.
    public init(model: ViTConfig, objective: Objective, steps: Int) {
        self.model = model
        self.objective = objective
        self.steps = steps
    }

    /// Throws a `ParameterError` naming the first option outside its allowed range (the trainer
    /// calls it before building anything, so a bad value is an answer, not a crash mid-run).
    public func validate() throws {
        func need(_ ok: Bool, _ name: String, _ value: Any, _ allowed: String) throws {
            try ParameterError.require(ok, name, value, allowed: allowed)
        }
        func fraction(_ v: Float) -> Bool { v >= 0 && v <= 1 }
        func positive(_ v: Float) -> Bool { v > 0 && v.isFinite }
        try model.validate(prefix: "model.")
        try need(steps >= 1, "steps", steps, ">= 1")
        try need(groupsPerBatch >= 1, "groupsPerBatch", groupsPerBatch, ">= 1")
        // Multi-positive objectives need a second image of the caption as the positive; SimCLR
        // replaces this value by its two views, the supervised loss needs no positives.
        let minImages = (objective == .synclr || objective == .stablerep) ? 2 : 1
        try need(imagesPerGroup >= minImages, "imagesPerGroup", imagesPerGroup,
                 minImages == 2 ? ">= 2 for the \(objective.rawValue) objective (each image needs another image of its caption as a positive)" : ">= 1")
        try need(localCrops >= 0, "localCrops", localCrops, ">= 0")
        // A local crop is a smaller view than the image; a larger one would only upsample it at quadratic attention cost.
        try need(localSize >= model.patchSize && localSize % model.patchSize == 0 && localSize <= model.imageSize, "localSize", localSize,
                 "a positive multiple of model.patchSize \(model.patchSize), at most model.imageSize \(model.imageSize)")
        try need(positive(learningRate), "learningRate", learningRate, "finite and > 0")
        try need(minLearningRate >= 0 && minLearningRate.isFinite, "minLearningRate", minLearningRate, "finite and >= 0")
        try need(warmupSteps >= 0, "warmupSteps", warmupSteps, ">= 0")
        try need(weightDecay >= 0 && weightDecay.isFinite, "weightDecay", weightDecay, "finite and >= 0")
        try need(finalWeightDecay >= 0 && finalWeightDecay.isFinite, "finalWeightDecay", finalWeightDecay, "finite and >= 0")
        try need(fraction(emaMomentum), "emaMomentum", emaMomentum, "in [0, 1]")
        try need(positive(temperature), "temperature", temperature, "finite and > 0")
        try need(!projectorDims.isEmpty && projectorDims.allSatisfy { $0 >= 1 }, "projectorDims", projectorDims, "non-empty, every value >= 1")
        try need(predictorDims.allSatisfy { $0 >= 1 } && (predictorDims.isEmpty || predictorDims.last == projectorDims.last),
                 "predictorDims", predictorDims,
                 "every value >= 1 and the last equal to projectorDims' last, \(projectorDims.last ?? 0) (empty: no predictor)")
        try need(!ibotDims.isEmpty && ibotDims.allSatisfy { $0 >= 1 }, "ibotDims", ibotDims, "non-empty, every value >= 1")
        try need(ibotPrototypes >= 1, "ibotPrototypes", ibotPrototypes, ">= 1")
        try need(ibotWeight >= 0 && ibotWeight.isFinite, "ibotWeight", ibotWeight, "finite and >= 0")
        try need(positive(teacherTemperature), "teacherTemperature", teacherTemperature, "finite and > 0")
        try need(positive(finalTeacherTemperature), "finalTeacherTemperature", finalTeacherTemperature, "finite and > 0")
        try need(teacherTemperatureWarmup >= 0, "teacherTemperatureWarmup", teacherTemperatureWarmup, ">= 0")
        try need(positive(studentTemperature), "studentTemperature", studentTemperature, "finite and > 0")
        try need(fraction(maskedImageFraction), "maskedImageFraction", maskedImageFraction, "in [0, 1]")
        try need(fraction(maskedPatchFraction), "maskedPatchFraction", maskedPatchFraction, "in [0, 1]")
        if let gradientClip { try need(positive(gradientClip), "gradientClip", gradientClip, "finite and > 0 (or nil)") }
        try need(mean.count == model.channels && mean.allSatisfy(\.isFinite), "mean", mean,
                 "\(model.channels) finite values (one per channel)")
        try need(std.count == model.channels && std.allSatisfy(positive), "std", std,
                 "\(model.channels) finite values > 0 (one per channel)")
        if let globalCropScale {
            try need(globalCropScale > 0 && globalCropScale <= 1, "globalCropScale", globalCropScale, "in (0, 1]")
        }
        try need(checkpointEvery >= 0, "checkpointEvery", checkpointEvery, ">= 0")
        try need(logEvery >= 1, "logEvery", logEvery, ">= 1")
        try need(classes >= 0, "classes", classes, ">= 0")
    }

    /// Sets `augmentation` and `globalCropScale` from their names and values, leaving the paper's
    /// defaults as nil so configurations written before these options existed hash the same.
    public mutating func setAugmentation(named name: String, globalScale: Float) throws {
        guard let strength = AugmentationStrength(rawValue: name) else {
            throw ParameterError("augmentation", name,
                                 allowed: "one of " + AugmentationStrength.allCases.map(\.rawValue).joined(separator: ", "))
        }
        augmentation = strength == .byol ? nil : strength
        globalCropScale = globalScale == CropAugmentation.global(size: 1).scale.lowerBound ? nil : globalScale
    }

    /// Sets the backbone's weight initialization from its name (timm stays nil, as before the option existed).
    public mutating func setInitialization(named name: String) throws {
        guard let i = ViTInitialization(rawValue: name) else {
            throw ParameterError("initialization", name, allowed: "one of " + ViTInitialization.allCases.map(\.rawValue).joined(separator: ", "))
        }
        model.initialization = i == .timm ? nil : i
    }

    /// Global crop augmentation.
    public var globalAugmentation: CropAugmentation {
        var a = CropAugmentation.global(size: model.imageSize).reduced(to: augmentation ?? .byol)
        if let globalCropScale { a.scale = globalCropScale...1 }
        return a
    }
    /// Local crop augmentation.
    public var localAugmentation: CropAugmentation { CropAugmentation.local(size: localSize).reduced(to: augmentation ?? .byol) }
    /// Whether the run uses the EMA teacher (SynCLR only).
    public var usesTeacher: Bool { objective == .synclr }
    /// Whether the run uses iBOT masking.
    public var usesIBOT: Bool { objective == .synclr && ibotWeight > 0 }
    /// Local crops actually used.
    public var effectiveLocalCrops: Int { objective == .synclr ? localCrops : 0 }
}
