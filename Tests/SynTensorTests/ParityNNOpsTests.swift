import Testing
@testable import SynTensor
import SynTestSupport

/// Norms, convolution, pooling, resizing, joining, indexing, losses and attention against PyTorch 2.13 (nn.safetensors).
@Suite struct NNOpsParityTests {
    let file = Fixtures.nn

    @Test func layerAndRMSNorm() {
        checkParity(file, "layer_norm_affine") { $0[0].layerNorm(weight: $0[1], bias: $0[2], eps: 1e-5) }
        checkParity(file, "layer_norm_plain") { $0[0].layerNorm(weight: nil, bias: nil, eps: 1e-5) }
        checkParity(file, "layer_norm_2d_shape") { $0[0].layerNorm(weight: $0[1], bias: $0[2], eps: 1e-5) }
        checkParity(file, "layer_norm_weight_only") { $0[0].layerNorm(weight: $0[1], bias: nil, eps: 1e-5) }
        checkParity(file, "layer_norm_transposed") { $0[0].permuted([2, 1, 0]).layerNorm(weight: $0[1], bias: $0[2], eps: 1e-6) }
        checkParity(file, "rms_norm") { $0[0].rmsNorm(weight: $0[1], eps: 1e-6) }
        checkParity(file, "rms_norm_plain") { $0[0].rmsNorm(weight: nil, eps: 1e-6) }
    }

    @Test func groupNormAndL2Normalize() {
        checkParity(file, "group_norm") { $0[0].groupNorm(groups: 3, weight: $0[1], bias: $0[2], eps: 1e-5) }
        checkParity(file, "group_norm_plain_3d") { $0[0].groupNorm(groups: 2, weight: nil, bias: nil, eps: 1e-5) }
        checkParity(file, "normalize_neg1") { $0[0].l2Normalized(axis: -1) }
        checkParity(file, "normalize_axis0") { $0[0].l2Normalized(axis: 0) }
        checkParity(file, "normalize_axis1") { $0[0].l2Normalized(axis: 1) }
        checkParity(file, "normalize_eps") { $0[0].l2Normalized(axis: -1, eps: 0.5) }
    }

    /// The fused GroupNorm + SiLU kernel (`groupNormSiLU`, CSynKernels' norm.c) against PyTorch's
    /// `F.silu(F.group_norm(...))`, forward and gradients of x, weight and bias.
    @Test func groupNormSiLU() {
        checkParity(file, "group_norm_silu") { $0[0].groupNormSiLU(groups: 4, weight: $0[1], bias: $0[2], eps: 1e-5) }
        checkParity(file, "group_norm_silu_wide") { $0[0].groupNormSiLU(groups: 8, weight: $0[1], bias: $0[2], eps: 1e-5) }
        checkParity(file, "group_norm_silu_plain") { $0[0].groupNormSiLU(groups: 2, weight: nil, bias: nil, eps: 1e-5) }
    }

    /// At a UNet shape (planes of 256 floats, all in the vector path) the fused kernel matches
    /// `groupNorm(...).silu()` in value and in the gradients of x, weight and bias.
    @Test func groupNormSiLUMatchesUnfused() {
        var g = RandomGenerator(seed: 91)
        let x = (Tensor.randn([4, 32, 16, 16], generator: &g) * 2).requiringGrad()
        let w = (Tensor.randn([32], generator: &g) + 1).requiringGrad(), b = Tensor.randn([32], generator: &g).requiringGrad()
        let probe = Tensor.randn([4, 32, 16, 16], generator: &g)
        let fused = x.groupNormSiLU(groups: 8, weight: w, bias: b)
        let plain = x.groupNorm(groups: 8, weight: w, bias: b).silu()
        _ = expectClose(fused, plain, .standard, "fused forward")
        let gf = (fused * probe).sum().backward(), gp = (plain * probe).sum().backward()
        for (name, t) in [("x", x), ("weight", w), ("bias", b)] {
            _ = expectClose(gf[t]!, gp[t]!, Tolerance(atol: 1e-4, rtol: 1e-4), "fused grad of \(name)")
        }
    }

    /// The fused residual add + LayerNorm of the transformer blocks equals `x + branch` followed by
    /// `layerNorm` bit for bit, in both results and in every gradient (both results feed the loss,
    /// as in a pre-norm block); broadcasting falls back to the two ops.
    @Test func addingLayerNormMatchesTheTwoOps() {
        var g = RandomGenerator(seed: 93)
        let x = (Tensor.randn([4, 65, 128], generator: &g) * 3).requiringGrad()
        let branch = Tensor.randn([4, 65, 128], generator: &g).requiringGrad()
        let w = (Tensor.randn([128], generator: &g) + 1).requiringGrad(), b = Tensor.randn([128], generator: &g).requiringGrad()
        let p1 = Tensor.randn([4, 65, 128], generator: &g), p2 = Tensor.randn([4, 65, 128], generator: &g)
        let (sum, normed) = x.addingLayerNorm(branch, weight: w, bias: b, eps: 1e-6)
        let plainSum = x + branch
        let plainNormed = plainSum.layerNorm(weight: w, bias: b, eps: 1e-6)
        #expect(sum.scalars == plainSum.scalars)
        #expect(normed.scalars == plainNormed.scalars)
        let gf = ((sum * p1).sum() + (normed * p2).sum()).backward()
        let gp = ((plainSum * p1).sum() + (plainNormed * p2).sum()).backward()
        for (name, t) in [("x", x), ("branch", branch), ("weight", w), ("bias", b)] {
            #expect(gf[t]!.scalars == gp[t]!.scalars, "gradient of \(name)")
        }
        let row = Tensor.randn([128], generator: &g)
        let (bsum, bnormed) = x.addingLayerNorm(row, weight: w, bias: b)
        #expect(bsum.scalars == (x + row).scalars)
        #expect(bnormed.scalars == (x + row).layerNorm(weight: w, bias: b).scalars)
        // Without gradients (sampling, feature extraction) the results are the same values.
        let (nsum, nnormed) = withNoGrad { x.addingLayerNorm(branch, weight: w, bias: b, eps: 1e-6) }
        #expect(nsum.scalars == plainSum.scalars && nnormed.scalars == plainNormed.scalars)
        #expect(!nsum.requiresGrad && !nnormed.requiresGrad)
    }

    /// The MLP's GELU + second projection with the activation recomputed in the backward pass
    /// equals `gelu().linear(...)` bit for bit in the output and every gradient; without a bias it
    /// is the two ops.
    @Test func geluLinearMatchesTheTwoOps() {
        var g = RandomGenerator(seed: 94)
        let z = (Tensor.randn([3, 65, 512], generator: &g) * 2).requiringGrad()
        let w = (Tensor.randn([128, 512], generator: &g) * 0.05).requiringGrad(), b = Tensor.randn([128], generator: &g).requiringGrad()
        let probe = Tensor.randn([3, 65, 128], generator: &g)
        let fused = z.geluLinear(weight: w, bias: b)
        let plain = z.gelu().linear(weight: w, bias: b)
        #expect(fused.gradientOperation == "gelu_linear")
        #expect(fused.scalars == plain.scalars)
        let gf = (fused * probe).sum().backward(), gp = (plain * probe).sum().backward()
        for (name, t) in [("input", z), ("weight", w), ("bias", b)] {
            #expect(gf[t]!.scalars == gp[t]!.scalars, "gradient of \(name)")
        }
        let noBias = z.geluLinear(weight: w, bias: nil)
        #expect(noBias.scalars == z.gelu().linear(weight: w, bias: nil).scalars)
        let inference = withNoGrad { z.geluLinear(weight: w, bias: b) }
        #expect(inference.scalars == plain.scalars && !inference.requiresGrad)
    }

    @Test func conv2d() {
        checkParity(file, "conv2d_basic") { $0[0].conv2d(weight: $0[1], bias: $0[2], padding: (1, 1)) }
        checkParity(file, "conv2d_stride") { $0[0].conv2d(weight: $0[1], stride: (2, 2), padding: (1, 0)) }
        checkParity(file, "conv2d_dilation") { $0[0].conv2d(weight: $0[1], bias: $0[2], padding: (2, 2), dilation: (2, 2)) }
        checkParity(file, "conv2d_groups") {
            $0[0].conv2d(weight: $0[1], bias: $0[2], stride: (1, 2), padding: (0, 1), groups: 2)
        }
        checkParity(file, "conv2d_depthwise") { $0[0].conv2d(weight: $0[1], padding: (1, 1), groups: 3) }
        checkParity(file, "conv2d_nhwc") { $0[0].permuted([0, 3, 1, 2]).conv2d(weight: $0[1], bias: $0[2]) }
        checkParity(file, "conv2d_patch") { $0[0].conv2d(weight: $0[1], bias: $0[2], stride: (4, 4)) }
    }

    /// The direct stride-1 path (`PlaneConv`): forward, input gradient and weight gradient.
    @Test func conv2dDirect() {
        checkParity(file, "conv2d_direct_3x3") { $0[0].conv2d(weight: $0[1], bias: $0[2], padding: (1, 1)) }
        checkParity(file, "conv2d_direct_1x1") { $0[0].conv2d(weight: $0[1], bias: $0[2]) }
        checkParity(file, "conv2d_direct_valid") { $0[0].conv2d(weight: $0[1]) }
        checkParity(file, "conv2d_direct_uneven_pad") { $0[0].conv2d(weight: $0[1], bias: $0[2], padding: (2, 0)) }
    }

    /// Convolution with the shift and residual adds fused into its output pass, against PyTorch
    /// (direct 3x3 and 1x1 paths, and the strided path that adds them separately), forward and all gradients.
    @Test func conv2dShiftResidual() {
        checkParity(file, "conv2d_shift_residual") {
            $0[0].conv2d(weight: $0[1], bias: $0[2], padding: (1, 1), channelShift: $0[3], residual: $0[4])
        }
        checkParity(file, "conv2d_shift_residual_1x1") { $0[0].conv2d(weight: $0[1], channelShift: $0[2], residual: $0[3]) }
        checkParity(file, "conv2d_shift_residual_strided") {
            $0[0].conv2d(weight: $0[1], bias: $0[2], stride: (2, 2), padding: (1, 1), channelShift: $0[3], residual: $0[4])
        }
    }

    /// At a UNet shape (batch 8, 32x32, 16 -> 24 channels) the fused epilogue and the channel-major
    /// weight gradient match the separate adds on the im2col path, in value and in every gradient.
    @Test func conv2dFusedMatchesUnfused() {
        var g = RandomGenerator(seed: 92)
        let x = Tensor.randn([8, 16, 32, 32], generator: &g).requiringGrad()
        let w = (Tensor.randn([24, 16, 3, 3], generator: &g) * 0.1).requiringGrad(), b = Tensor.randn([24], generator: &g).requiringGrad()
        let shift = Tensor.randn([8, 24], generator: &g).requiringGrad(), res = Tensor.randn([8, 24, 32, 32], generator: &g).requiringGrad()
        let probe = Tensor.randn([8, 24, 32, 32], generator: &g)
        let fused = x.conv2d(weight: w, bias: b, padding: (1, 1), channelShift: shift, residual: res)
        Convolution.direct = false
        let plain = x.conv2d(weight: w, bias: b, padding: (1, 1)) + shift.reshaped([8, 24, 1, 1]) + res
        Convolution.direct = true
        _ = expectClose(fused, plain, Tolerance(atol: 1e-4, rtol: 1e-4), "fused forward")
        let gf = (fused * probe).sum().backward(), gp = (plain * probe).sum().backward()
        for (name, t) in [("x", x), ("weight", w), ("bias", b), ("shift", shift), ("residual", res)] {
            _ = expectClose(gf[t]!, gp[t]!, Tolerance(atol: 1e-3, rtol: 1e-4), "fused grad of \(name)")
        }
    }

    /// "Same" convolutions share zero padding between rows and images (stacked planes), several images
    /// per kernel task: odd batches (a partly filled last group), planes smaller than a vector block,
    /// channel counts off every block size, and 5x5 / 1x1 kernels (the GEMM weight gradient with negative
    /// tap offsets) match the im2col path in value and in every gradient.
    @Test func conv2dStackedMatchesIm2col() {
        var g = RandomGenerator(seed: 93)
        for (n, c, o, h, w, k) in [(5, 12, 20, 4, 4, 3), (3, 7, 13, 8, 8, 3), (2, 5, 9, 6, 10, 5), (4, 6, 10, 8, 8, 1), (1, 3, 4, 1, 1, 3)] {
            let x = Tensor.randn([n, c, h, w], generator: &g).requiringGrad()
            let wt = (Tensor.randn([o, c, k, k], generator: &g) * 0.1).requiringGrad(), b = Tensor.randn([o], generator: &g).requiringGrad()
            let probe = Tensor.randn([n, o, h, w], generator: &g)
            let pad = (k - 1) / 2
            let direct = x.conv2d(weight: wt, bias: b, padding: (pad, pad))
            Convolution.direct = false
            let plain = x.conv2d(weight: wt, bias: b, padding: (pad, pad))
            Convolution.direct = true
            let label = "\(n)x\(c)x\(h)x\(w) -> \(o), \(k)x\(k)"
            _ = expectClose(direct, plain, Tolerance(atol: 1e-4, rtol: 1e-4), "stacked forward \(label)")
            let gd = (direct * probe).sum().backward(), gp = (plain * probe).sum().backward()
            for (name, t) in [("x", x), ("weight", wt), ("bias", b)] {
                _ = expectClose(gd[t]!, gp[t]!, Tolerance(atol: 1e-3, rtol: 1e-4), "stacked grad of \(name) \(label)")
            }
        }
    }

    /// Convolutions on the dense layout (planes of a multiple of 16 positions) mask the taps past each
    /// plane's edge instead of padding: vectors spanning several rows (4x8, 8x2), a vector count that
    /// leaves the last block of three partly empty, output channels off the 8-channel block, a 5x5 kernel,
    /// 256 input channels, kernel tasks spanning several whole 32x32 images (run three images at a time,
    /// position by position) plus partial ones, every epilogue add (the weight gradient from stacked
    /// copies of x and dy), and the Winograd kernels' widths 8, 16 and 32 with at least 8 channels each way
    /// (the weight gradient by Winograd too), in value and in every gradient against the im2col path.
    @Test func conv2dDenseMatchesIm2col() {
        var g = RandomGenerator(seed: 94)
        for (n, c, o, h, w, k) in [(3, 5, 11, 4, 8, 3), (2, 3, 9, 8, 2, 3), (5, 7, 3, 4, 4, 5), (1, 17, 6, 16, 1, 3), (2, 4, 17, 4, 4, 1),
                                         (2, 256, 9, 4, 4, 3), (13, 4, 17, 32, 32, 3), (3, 12, 10, 16, 16, 3), (2, 9, 40, 8, 8, 3),
                                         (2, 10, 8, 2, 32, 3)] {
            let x = Tensor.randn([n, c, h, w], generator: &g).requiringGrad()
            let wt = (Tensor.randn([o, c, k, k], generator: &g) * 0.1).requiringGrad(), b = Tensor.randn([o], generator: &g).requiringGrad()
            let shift = Tensor.randn([n, o], generator: &g).requiringGrad(), res = Tensor.randn([n, o, h, w], generator: &g).requiringGrad()
            let probe = Tensor.randn([n, o, h, w], generator: &g)
            let pad = (k - 1) / 2
            let direct = x.conv2d(weight: wt, bias: b, padding: (pad, pad), channelShift: shift, residual: res)
            Convolution.direct = false
            let plain = x.conv2d(weight: wt, bias: b, padding: (pad, pad)) + shift.reshaped([n, o, 1, 1]) + res
            Convolution.direct = true
            let label = "\(n)x\(c)x\(h)x\(w) -> \(o), \(k)x\(k)"
            _ = expectClose(direct, plain, Tolerance(atol: 1e-4, rtol: 1e-4), "dense forward \(label)")
            let gd = (direct * probe).sum().backward(), gp = (plain * probe).sum().backward()
            for (name, t) in [("x", x), ("weight", wt), ("bias", b), ("shift", shift), ("residual", res)] {
                _ = expectClose(gd[t]!, gp[t]!, Tolerance(atol: 1e-3, rtol: 1e-4), "dense grad of \(name) \(label)")
            }
        }
    }

    /// Strided convolutions with overlapping taps run over phase planes (`PhaseConv`): the UNet's 3x3
    /// stride-2 downsampling at even and odd sizes, strides 3 and (1, 2), a 4x4 kernel with stride 2,
    /// padding as large as the kernel, a 3x1 kernel over stride (2, 1), and a plane too small for a
    /// full phase, in value and in every gradient (with the fused adds) against the im2col path.
    @Test func conv2dPhasedMatchesIm2col() {
        var g = RandomGenerator(seed: 95)
        let cases: [(n: Int, c: Int, o: Int, h: Int, w: Int, kh: Int, kw: Int, sh: Int, sw: Int, ph: Int, pw: Int)] = [
            (4, 16, 24, 16, 16, 3, 3, 2, 2, 1, 1), (3, 5, 9, 7, 9, 3, 3, 2, 2, 1, 1), (2, 3, 7, 11, 10, 5, 5, 3, 3, 2, 1),
            (2, 4, 6, 8, 9, 3, 3, 1, 2, 1, 1), (3, 6, 5, 10, 10, 4, 4, 2, 2, 1, 1), (2, 3, 4, 6, 6, 3, 3, 2, 2, 3, 3),
            (2, 5, 3, 9, 5, 3, 1, 2, 1, 1, 0), (1, 2, 3, 2, 2, 3, 3, 2, 2, 1, 1), (2, 7, 17, 8, 8, 3, 3, 2, 2, 0, 0),
        ]
        for k in cases {
            let x = Tensor.randn([k.n, k.c, k.h, k.w], generator: &g).requiringGrad()
            let wt = (Tensor.randn([k.o, k.c, k.kh, k.kw], generator: &g) * 0.1).requiringGrad()
            let b = Tensor.randn([k.o], generator: &g).requiringGrad()
            let ho = (k.h + 2 * k.ph - k.kh) / k.sh + 1, wo = (k.w + 2 * k.pw - k.kw) / k.sw + 1
            let shift = Tensor.randn([k.n, k.o], generator: &g).requiringGrad()
            let res = Tensor.randn([k.n, k.o, ho, wo], generator: &g).requiringGrad()
            let probe = Tensor.randn([k.n, k.o, ho, wo], generator: &g)
            let label = "\(k.n)x\(k.c)x\(k.h)x\(k.w) -> \(k.o), \(k.kh)x\(k.kw) stride (\(k.sh), \(k.sw)) padding (\(k.ph), \(k.pw))"
            #expect(PhaseConv.applies(stride: (k.sh, k.sw), dilation: (1, 1), groups: 1, kh: k.kh, kw: k.kw, padding: (k.ph, k.pw)), "\(label)")
            let phased = x.conv2d(weight: wt, bias: b, stride: (k.sh, k.sw), padding: (k.ph, k.pw), channelShift: shift, residual: res)
            Convolution.direct = false
            let plain = x.conv2d(weight: wt, bias: b, stride: (k.sh, k.sw), padding: (k.ph, k.pw)) + shift.reshaped([k.n, k.o, 1, 1]) + res
            Convolution.direct = true
            #expect(phased.shape == plain.shape, "\(label)")
            _ = expectClose(phased, plain, Tolerance(atol: 1e-4, rtol: 1e-4), "phased forward \(label)")
            let gd = (phased * probe).sum().backward(), gp = (plain * probe).sum().backward()
            for (name, t) in [("x", x), ("weight", wt), ("bias", b), ("shift", shift), ("residual", res)] {
                _ = expectClose(gd[t]!, gp[t]!, Tolerance(atol: 1e-3, rtol: 1e-4), "phased grad of \(name) \(label)")
            }
        }
        // A patch embedding (kernel = stride) keeps the im2col path, where unfolding only rearranges.
        #expect(!PhaseConv.applies(stride: (4, 4), dilation: (1, 1), groups: 1, kh: 4, kw: 4, padding: (0, 0)))
    }

    @Test func pooling() {
        checkParity(file, "max_pool_k2") { $0[0].maxPool2d(kernel: (2, 2)) }
        checkParity(file, "max_pool_k3s12p1") { $0[0].maxPool2d(kernel: (3, 3), stride: (1, 2), padding: (1, 1)) }
        checkParity(file, "max_pool_ties") { $0[0].maxPool2d(kernel: (2, 2), stride: (1, 1)) }
        checkParity(file, "avg_pool_k2") { $0[0].avgPool2d(kernel: (2, 2)) }
        checkParity(file, "avg_pool_k3s2p1_incl") { $0[0].avgPool2d(kernel: (3, 3), stride: (2, 2), padding: (1, 1)) }
        checkParity(file, "avg_pool_k3s2p1_excl") {
            $0[0].avgPool2d(kernel: (3, 3), stride: (2, 2), padding: (1, 1), countIncludePad: false)
        }
        checkParity(file, "avg_pool_k23s1p1_incl") { $0[0].avgPool2d(kernel: (2, 3), stride: (1, 1), padding: (1, 1)) }
        checkParity(file, "avg_pool_k23s1p1_excl") {
            $0[0].avgPool2d(kernel: (2, 3), stride: (1, 1), padding: (1, 1), countIncludePad: false)
        }
    }

    @Test(arguments: [ResizeMode.nearest, .bilinear, .bicubic])
    func resize(mode: ResizeMode) {
        let corners: [Bool?] = mode == .nearest ? [nil] : [false, true]
        for ac in corners {
            let tag = ac.map { "\(mode.rawValue)_\($0 ? "ac" : "noac")" } ?? mode.rawValue
            let align = ac ?? false
            checkParity(file, "resize_\(tag)_up") { $0[0].resized(height: 7, width: 8, mode: mode, alignCorners: align) }
            checkParity(file, "resize_\(tag)_down") { $0[0].resized(height: 3, width: 2, mode: mode, alignCorners: align) }
            checkParity(file, "resize_\(tag)_mixed") { $0[0].resized(height: 8, width: 4, mode: mode, alignCorners: align) }
        }
        if mode == .bicubic {
            checkParity(file, "resize_bicubic_same") { $0[0].resized(height: 3, width: 4, mode: .bicubic) }
        }
    }

    @Test func joining() {
        checkParity(file, "cat_axis1") { Tensor.concatenate([$0[0], $0[1], $0[2].permuted([2, 1, 0])], axis: 1) }
        checkParity(file, "cat_neg1") { Tensor.concatenate([$0[0], $0[1]], axis: -1) }
        checkParity(file, "stack_axis0") { Tensor.stack([$0[0], $0[1], $0[2].T], axis: 0) }
        checkParity(file, "stack_neg1") { Tensor.stack([$0[0], $0[1]], axis: -1) }
        checkParityMulti(file, "split_axis1") { $0[0].split(sizes: [2, 3], axis: 1) }
        checkParityMulti(file, "chunk_neg1") { $0[0].chunked(3, axis: -1) }
        checkParityMulti(file, "chunk_even") { $0[0].chunked(4, axis: 0) }
        checkParity(file, "pad") { $0[0].padded2d(top: 1, bottom: 0, left: 2, right: 1) }
        checkParity(file, "pad_value") { $0[0].padded2d(top: 1, bottom: 1, left: 0, right: 2, value: 0.5) }
    }

    @Test func indexing() {
        checkParity(file, "index_select_axis1") { $0[0].indexSelect(axis: 1, indices: ints($0[1])) }
        checkParity(file, "index_select_axis0") { $0[0].indexSelect(axis: 0, indices: ints($0[1])) }
        checkParity(file, "index_select_neg1") { $0[0].indexSelect(axis: -1, indices: ints($0[1])) }
        checkParity(file, "embedding") { $0[0].embedding(ints($0[1])).reshaped([2, 3, 4]) }
        checkParity(file, "gather_axis1") { $0[0].gather(axis: 1, index: $0[1]) }
        checkParity(file, "gather_axis0") { $0[0].gather(axis: 0, index: $0[1]) }
        checkParity(file, "gather_neg1_smaller") { $0[0].gather(axis: -1, index: $0[1]) }
        checkParity(file, "gather_transposed") { $0[0].T.gather(axis: 1, index: $0[1]) }
    }

    @Test func losses() {
        checkParity(file, "cross_entropy") { $0[0].crossEntropy(labels: ints($0[1])) }
        checkParity(file, "cross_entropy_smooth") { $0[0].crossEntropy(labels: ints($0[1]), labelSmoothing: 0.1) }
        checkParity(file, "cross_entropy_soft") { $0[0].crossEntropy(targets: $0[1]) }
        checkParity(file, "mse") { $0[0].mseLoss($0[1]) }
    }

    @Test func scaledDotProductAttention() {
        checkParity(file, "sdpa") { Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2]) }
        checkParity(file, "sdpa_scale") { Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], scale: 0.3) }
        checkParity(file, "sdpa_mask_additive") {
            Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: $0[3])
        }
        checkParity(file, "sdpa_mask_bool") {
            Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: Tensor.attentionMask(keep: $0[3]))
        }
        checkParity(file, "sdpa_fully_masked_row") {
            Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: Tensor.attentionMask(keep: $0[3]))
        }
    }

    /// The tiled kernel (Sources/CSynKernels/attention.c) forward and gradients on token counts that
    /// are not multiples of its blocks, cross-attention with different query/key lengths, and both
    /// multi-head layouts (heads interleaved in the features; packed qkv).
    @Test func tiledAttention() {
        checkParity(file, "sdpa_tiled") { Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2]) }
        checkParity(file, "sdpa_cross_tiled") { Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2]) }
        checkParity(file, "multi_head_attention_tiled") { Tensor.multiHeadAttention(query: $0[0], key: $0[1], value: $0[2], heads: 2) }
        checkParity(file, "packed_self_attention_tiled") { $0[0].packedSelfAttention(heads: 2) }
    }

    @Test func fusedAttentionAndLinear() {
        checkParity(file, "packed_self_attention") { $0[0].packedSelfAttention(heads: 2) }
        checkParity(file, "linear") { $0[0].linear(weight: $0[1], bias: $0[2]) }
        checkParity(file, "linear_transposed_input") { $0[0].T.linear(weight: $0[1], bias: $0[2]) }
        checkParity(file, "linear_no_bias") { $0[0].linear(weight: $0[1], bias: nil) }
    }

    @Test func multiHeadAttentionLayer() {
        var g = RandomGenerator(seed: 3)
        let selfAttention = MultiHeadAttention(embedDim: 4, heads: 2, generator: &g)
        checkParity(file, "mha_self_mask") { x in
            selfAttention.inProjWeight!.value = x[1]
            selfAttention.inProjBias!.value = x[2]
            selfAttention.outProj.weight.value = x[3]
            selfAttention.outProj.bias!.value = x[4]
            return selfAttention(x[0], mask: x[5])
        }
        let cross = MultiHeadAttention(embedDim: 4, heads: 2, kdim: 3, vdim: 5, generator: &g)
        checkParity(file, "mha_cross") { x in
            cross.qProjWeight!.value = x[3]
            cross.kProjWeight!.value = x[4]
            cross.vProjWeight!.value = x[5]
            cross.inProjBias!.value = x[6]
            cross.outProj.weight.value = x[7]
            cross.outProj.bias!.value = x[8]
            return cross(query: x[0], key: x[1], value: x[2])
        }
    }
}
