#include "csyncpu.h"

int csyn_cpu_simd_level(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    // The builtins also check that the OS saves the vector state (XCR0), not only CPUID.
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    int avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx512vl");
    if (avx512 && __builtin_cpu_supports("avx512bf16")) return 3;
    if (avx512) return 2;
    if (avx2) return 1;
#endif
    return 0;
}
