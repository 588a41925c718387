import SynTensor

/// The trainable student: backbone plus the heads its objective needs.
public final class StudentNetwork: Module {
    /// ViT backbone.
    public let backbone: VisionTransformer
    /// Projector (contrastive objectives).
    public let projector: MLPHead?
    /// Predictor (SynCLR; nil when `predictorDims` is empty).
    public let predictor: MLPHead?
    /// iBOT prototype head (SynCLR with masking).
    public let ibotHead: PrototypeHead?
    /// Linear classifier (supervised).
    public let classifier: Linear?

    /// Builds the student for `config`.
    public init(_ config: TrainConfig, generator: inout RandomGenerator) {
        backbone = VisionTransformer(config.model, generator: &generator)
        let D = config.model.width
        switch config.objective {
        case .synclr:
            projector = MLPHead(dims: [D] + config.projectorDims, generator: &generator)
            predictor = config.predictorDims.isEmpty ? nil
                : MLPHead(dims: [config.projectorDims.last!] + config.predictorDims, generator: &generator)
            ibotHead = config.usesIBOT ? PrototypeHead(dims: [D] + config.ibotDims, prototypes: config.ibotPrototypes, generator: &generator) : nil
            classifier = nil
        case .stablerep, .simclr:
            projector = MLPHead(dims: [D] + config.projectorDims, generator: &generator)
            predictor = nil
            ibotHead = nil
            classifier = nil
        case .supervised:
            precondition(config.classes > 0, "supervised training needs labeled data")
            projector = nil
            predictor = nil
            ibotHead = nil
            classifier = Linear(D, config.classes, weightInit: .vit, generator: &generator)
        }
        super.init()
    }

    override public var children: [(String, Module)] {
        var c: [(String, Module)] = [("backbone", backbone)]
        if let projector { c.append(("projector", projector)) }
        if let predictor { c.append(("predictor", predictor)) }
        if let ibotHead { c.append(("ibot_head", ibotHead)) }
        if let classifier { c.append(("classifier", classifier)) }
        return c
    }
}

/// The EMA teacher: backbone, projector and iBOT head, never trained by gradients.
public final class TeacherNetwork: Module {
    /// ViT backbone (no drop path).
    public let backbone: VisionTransformer
    /// Projector.
    public let projector: MLPHead
    /// iBOT head.
    public let ibotHead: PrototypeHead?

    /// A teacher initialized as a copy of `student`.
    public init(copying student: StudentNetwork, config: TrainConfig) {
        var g = RandomGenerator(seed: 0)
        var teacherModel = config.model
        teacherModel.dropPath = 0
        backbone = VisionTransformer(teacherModel, generator: &g)
        projector = MLPHead(dims: [config.model.width] + config.projectorDims, generator: &g)
        ibotHead = config.usesIBOT ? PrototypeHead(dims: [config.model.width] + config.ibotDims, prototypes: config.ibotPrototypes, generator: &g) : nil
        super.init()
        for (_, p) in namedParameters() { p.isTrainable = false }
        copyWeights(from: student)
        eval()
    }

    override public var children: [(String, Module)] {
        var c: [(String, Module)] = [("backbone", backbone), ("projector", projector)]
        if let ibotHead { c.append(("ibot_head", ibotHead)) }
        return c
    }

    /// Pairs of (teacher, student) parameters with the same name.
    func pairs(with student: StudentNetwork) -> [(Parameter, Parameter)] {
        let s = Dictionary(uniqueKeysWithValues: student.namedParameters())
        return namedParameters().map { (name, p) in
            guard let sp = s[name] else { preconditionFailure("teacher parameter \(name) has no student counterpart") }
            return (p, sp)
        }
    }

    /// Sets every teacher parameter to the student's value.
    public func copyWeights(from student: StudentNetwork) {
        for (t, s) in pairs(with: student) {
            let src = s.value.scalars
            t.value.withUnsafeMutableBufferPointer { dst in for i in 0..<src.count { dst[i] = src[i] } }
        }
    }

    /// teacher <- m * teacher + (1 - m) * student, in place.
    public func emaUpdate(from student: StudentNetwork, momentum m: Float) {
        let pairs = pairs(with: student)
        Threading.concurrentPerform(pairs.count) { i in
            let (t, s) = pairs[i]
            s.value.withUnsafeBufferPointer { src in
                t.value.withUnsafeMutableBufferPointer { dst in
                    for j in 0..<dst.count { dst[j] = m * dst[j] + (1 - m) * src[j] }
                }
            }
        }
    }
}
