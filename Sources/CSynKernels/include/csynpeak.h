#ifndef CSYNPEAK_H
#define CSYNPEAK_H

#include <stdint.h>

/// Runs `iterations` rounds of a register-only FP32 fused multiply-add loop on the calling thread
/// (AVX-512 when the CPU has it, else AVX2+FMA, else scalar) and returns the floating-point
/// operations done (2 per lane per FMA). Timing is the caller's; the loop touches no memory.
double csyn_fma_peak_flops(int64_t iterations);

/// The vector width (in floats) of the loop `csyn_fma_peak_flops` runs on this CPU: 16, 8 or 1.
int csyn_fma_peak_lanes(void);

/// The same register-only loop with AVX-512 BF16 dot products (VDPBF16PS: bfloat16 pairs summed into
/// FP32 lanes) when the CPU has them; returns the operations done (4 per FP32 lane per instruction), or
/// 0 without running anything when it does not.
double csyn_bf16_dot_peak_flops(int64_t iterations);

/// The same loop with AVX-512 FP16 fused multiply-adds (32 half-precision lanes, half-precision sums)
/// when the CPU has them; returns the operations done, or 0 when it does not.
double csyn_fp16_fma_peak_flops(int64_t iterations);

#endif
