#ifndef CSYNPOOL_H
#define CSYNPOOL_H

#include <stdint.h>

/// One unit of pool work: called with the context given to `csyn_pool_run` and an index.
typedef void (*csyn_pool_fn)(void *ctx, int64_t index);

/// Calls fn(ctx, i) once for every i in [0, n), spread over the calling thread and up to
/// threads - 1 persistent workers that claim indices one at a time, and returns when all are done.
///
/// Workers spin briefly after each job (waking a parked thread costs tens of microseconds, longer
/// than many kernels' whole parallel section), then park on a condition variable. A call made while
/// the pool is busy (from inside a job, or from a second thread) runs serially on its caller.
/// Returns 1 when the workers took part, 0 when the call ran serially.
int csyn_pool_run(int64_t n, int64_t threads, csyn_pool_fn fn, void *ctx);

/// Sets how long idle workers spin before parking, in microseconds (default 200, or the environment's
/// SYNCLR_SPIN_US when the first worker starts; 0 parks at once).
void csyn_pool_set_spin(int64_t microseconds);

#endif
