#ifndef CSYNCPU_H
#define CSYNCPU_H

/// The widest vector instruction set this CPU and OS support, for choosing a BLAS kernel:
/// 3 = AVX-512 F/CD/BW/DQ/VL with BF16 (OpenBLAS's Cooperlake kernel), 2 = AVX-512 F/CD/BW/DQ/VL
/// (SkylakeX), 1 = AVX2 + FMA (Haswell), 0 = none of these (or not x86-64).
int csyn_cpu_simd_level(void);

#endif
