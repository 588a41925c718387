#ifndef CSYNPEAK_H
#define CSYNPEAK_H

#include <stdint.h>

/// Runs `iterations` rounds of a register-only FP32 fused multiply-add loop on the calling thread
/// (AVX-512 when the CPU has it, else AVX2+FMA, else scalar) and returns the floating-point
/// operations done (2 per lane per FMA). Timing is the caller's; the loop touches no memory.
double csyn_fma_peak_flops(int64_t iterations);

/// The vector width (in floats) of the loop `csyn_fma_peak_flops` runs on this CPU: 16, 8 or 1.
int csyn_fma_peak_lanes(void);

#endif
