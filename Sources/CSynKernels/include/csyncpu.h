#ifndef CSYNCPU_H
#define CSYNCPU_H

/// The widest vector instruction set this CPU and OS support, for choosing a BLAS kernel:
/// 3 = AVX-512 F/CD/BW/DQ/VL with BF16 (OpenBLAS's Cooperlake kernel), 2 = AVX-512 F/CD/BW/DQ/VL
/// (SkylakeX), 1 = AVX2 + FMA (Haswell), 0 = none of these (or not x86-64).
int csyn_cpu_simd_level(void);

/// Code paths of the kernels' `_on` entry points, which run one path whatever the CPU would choose so
/// tests can hold every path to the same reference: portable C, AVX2 + FMA, AVX-512. A kernel without
/// an AVX2 path runs portable C on CSYN_PATH_AVX2; an `_on` call returns -1 for a path this CPU lacks.
#define CSYN_PATH_PORTABLE 0
#define CSYN_PATH_AVX2 1
#define CSYN_PATH_AVX512 2

#endif
