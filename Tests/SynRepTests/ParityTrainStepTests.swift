import Testing
@testable import SynRep
@testable import SynTensor
import SynTestSupport

/// One full SynCLR training step on fixed crops and a fixed mask against PyTorch doing the same:
/// loss terms, every gradient before clipping, clipping, AdamW with the decay / no-decay groups,
/// the EMA teacher (Scripts/fixtures/fixtures_synrep.py, `trainstep_fixture`).
@Suite struct TrainStepParityTests {
    let file = RepFixtures.trainStep
    /// The step whose schedule values are used (inside the LR warm-up and teacher-temperature ramp).
    let step = 2

    /// The configuration of `STEP` in the fixture script.
    func config(excludeOwnGlobalForLocal: Bool = true) -> TrainConfig {
        var c = TrainConfig(model: ViTConfig(imageSize: 16, patchSize: 4, channels: 1, width: 16, depth: 1, heads: 2),
                            objective: .synclr, steps: 10)
        c.groupsPerBatch = 3
        c.imagesPerGroup = 2
        c.localCrops = 2
        c.localSize = 8
        c.projectorDims = [32, 16]
        c.predictorDims = [32, 16]
        c.ibotDims = [32, 16]
        c.ibotPrototypes = 24
        c.learningRate = 4e-3
        c.minLearningRate = 1e-5
        c.warmupSteps = 4
        c.weightDecay = 0.04
        c.finalWeightDecay = 0.2
        c.emaMomentum = 0.994
        c.temperature = 0.08
        c.studentTemperature = 0.1
        c.teacherTemperature = 0.04
        c.finalTeacherTemperature = 0.07
        c.teacherTemperatureWarmup = 3
        c.excludeOwnGlobalForLocal = excludeOwnGlobalForLocal
        c.gradientClip = file.scalar("clip")
        return c
    }

    /// A trainer whose student (and so teacher) holds the fixture's initial weights, at `step`.
    func trainer(_ config: TrainConfig) throws -> (Trainer, [String: Tensor]) {
        let t = try Trainer(config: config, data: tinySet(groups: 3, perGroup: 2))
        let initial = try file.initialize(t.student)
        t.teacher!.copyWeights(from: t.student)
        t.step = step
        return (t, initial)
    }

    /// The fixture's crops as Trainer orders them: `locals[l]` is crop l of every image (the
    /// fixture stores them image-major, [n, L, C, s, s]).
    func batch() -> BatchCrops {
        let locals = file.hashed("locals")
        let masks = file["masks"]
        let n = masks.shape[0], N = masks.shape[1]
        let m = masks.scalars
        return BatchCrops(globals: file.hashed("globals"),
                          locals: (0..<locals.shape[1]).map { locals.select(1, $0).contiguous() },
                          groups: file.ints("groups"), labels: Array(repeating: 0, count: n), masks: masks,
                          maskedImages: (0..<n).filter { i in (0..<N).contains { m[i * N + $0] != 0 } })
    }

    /// Loss terms and the gradient of every student parameter before clipping; the teacher gets none.
    @Test func lossTermsAndGradients() throws {
        let (t, _) = try trainer(config())
        t.student.train()
        let (total, terms) = t.loss(batch(), step: step)
        let tol = Tolerance(atol: 1e-5, rtol: 1e-4)
        var fwd = expectClose(terms.total, file.scalar("loss/total"), tol, "total loss")
        fwd = fwd.merged(expectClose(terms.global, file.scalar("loss/global"), tol, "global contrastive"))
        fwd = fwd.merged(expectClose(terms.local, file.scalar("loss/local"), tol, "local contrastive"))
        fwd = fwd.merged(expectClose(terms.ibot, file.scalar("loss/ibot"), tol, "iBOT"))
        var grads = total.backward()

        let trainable = t.student.trainableParameters()
        let named = t.student.namedParameters().filter { $0.1.isTrainable }
        let expected = Set(file.tensors.keys.filter { $0.hasPrefix("grad/") }.map { String($0.dropFirst(5)) })
        #expect(Set(named.map(\.0)) == expected, "trainable student parameters differ from PyTorch's")
        var bwd = ParityError()
        for (name, p) in named {
            #expect(grads[p] != nil, "no gradient reached \(name)")
            bwd = bwd.merged(expectClose(grads[p] ?? .zeros(p.shape), file["grad/\(name)"], Tolerance(atol: 2e-5, rtol: 2e-4), "grad of \(name)"))
        }
        for (name, p) in t.teacher!.namedParameters() { #expect(grads[p] == nil, "teacher \(name) received a gradient") }

        // Clipping: the norm before, and the clip actually bites (the fixture sets it to half the norm).
        let norm = clipGradientNorm(&grads, parameters: trainable, maxNorm: file.scalar("clip"))
        let normErr = expectClose(norm, file.scalar("grad_norm"), tol, "gradient norm")
        #expect(norm > file.scalar("clip"))
        report("trainstep losses", fwd)
        report("trainstep grads", bwd)
        report("trainstep grad norm", normErr)
    }

    /// Without the exclusion the local term keeps every same-caption global key as a positive.
    @Test func localTermWithoutExclusion() throws {
        let (t, _) = try trainer(config(excludeOwnGlobalForLocal: false))
        t.student.train()
        let (_, terms) = t.loss(batch(), step: step)
        report("trainstep local (no exclusion)",
               expectClose(terms.local, file.scalar("loss/local_keep"), Tolerance(atol: 1e-5, rtol: 1e-4), "local contrastive without exclusion"))
    }

    /// The whole step: schedules at `step`, clipped AdamW update of the student, EMA of the teacher.
    @Test func optimizerAndTeacherUpdate() throws {
        let (t, initial) = try trainer(config())
        let losses = try t.trainStep(on: batch())
        #expect(t.step == step + 1)
        expectClose(losses.total, file.scalar("loss/total"), Tolerance(atol: 1e-5, rtol: 1e-4), "total loss")

        let sched = Tolerance(atol: 0, rtol: 1e-6)
        var schedErr = expectClose(t.optimizer.learningRate, file.scalar("schedule/lr"), sched, "learning rate")
        schedErr = schedErr.merged(expectClose(t.optimizer.weightDecay, file.scalar("schedule/wd"), sched, "weight decay"))
        schedErr = schedErr.merged(expectClose(t.momentumSchedule.value(at: step), file.scalar("schedule/momentum"), sched, "EMA momentum"))
        let temp = LinearSchedule(start: t.config.teacherTemperature, end: t.config.finalTeacherTemperature,
                                  steps: t.config.teacherTemperatureWarmup).value(at: step)
        schedErr = schedErr.merged(expectClose(temp, file.scalar("schedule/teacher_temperature"), sched, "teacher temperature"))

        // Updates as changes from the shared initial weights (float32 keeps the step's precision).
        // AdamW's first step is lr * g / (|g| + 1e-8) per element. The attention key bias (the middle
        // third of qkv.bias) has a zero gradient (softmax ignores a shift shared by all keys), so
        // there the step only amplifies rounding noise (float32 here, float64 in PyTorch): those
        // elements are held to |step| <= 1.01 lr, every other element to the tight tolerance.
        let lr = file.scalar("schedule/lr"), oneMinusM = 1 - file.scalar("schedule/momentum")
        let width = t.config.model.width
        var studentErr = ParityError(), teacherErr = ParityError()
        var noisy = 0
        var failures: [String] = []
        let teacherParams = Dictionary(uniqueKeysWithValues: t.teacher!.namedParameters())
        for (name, p) in t.student.namedParameters() where p.isTrainable {
            let g = file["grad/\(name)"].scalars
            let ds = (p.value - initial[name]!).scalars, es = file["student_delta/\(name)"].scalars
            let tp = teacherParams[name]
            let dt = tp.map { ($0.value - initial[name]!).scalars }, et = tp.map { _ in file["teacher_delta/\(name)"].scalars }
            for i in 0..<ds.count {
                let tight = !(name.hasSuffix("attn.qkv.bias") && (width..<2 * width).contains(i))
                if !tight {
                    noisy += 1
                    if !(abs(g[i]) < 1e-12) { failures.append("PyTorch's gradient of key bias \(name)[\(i)] is \(g[i]), not 0") }
                }
                let sErr = abs(ds[i] - es[i])
                let sTol: Float = tight ? 1e-6 + 1e-3 * abs(es[i]) : 1.01 * lr
                if !(sErr <= sTol) { failures.append("student update of \(name)[\(i)]: \(ds[i]), PyTorch \(es[i]) (gradient \(g[i]))") }
                if tight { studentErr = studentErr.merged(ParityError(maxAbs: sErr, maxRel: abs(es[i]) >= 1e-3 ? sErr / abs(es[i]) : 0)) }
                if let dt, let et {
                    let tErr = abs(dt[i] - et[i])
                    let tTol: Float = tight ? 1e-7 + 1e-2 * abs(et[i]) : 1.01 * lr * oneMinusM + 1e-7
                    if !(tErr <= tTol) { failures.append("teacher update of \(name)[\(i)]: \(dt[i]), PyTorch \(et[i])") }
                    if tight { teacherErr = teacherErr.merged(ParityError(maxAbs: tErr, maxRel: abs(et[i]) >= 1e-6 ? tErr / abs(et[i]) : 0)) }
                }
            }
        }
        // The frozen prototype norms stay 1 in both.
        expectClose(t.teacher!.ibotHead!.weightG.value - initial["ibot_head.last_layer.weight_g"]!,
                    file["teacher_delta/ibot_head.last_layer.weight_g"], Tolerance(atol: 1e-7, rtol: 0), "teacher weight_g")
        #expect(noisy == width * t.config.model.depth)
        #expect(failures.isEmpty, "\(failures.count) update elements differ, first: \(failures.prefix(5).joined(separator: "; "))")
        report("trainstep schedules", schedErr)
        report("trainstep student update", studentErr)
        report("trainstep teacher update", teacherErr)
    }
}
