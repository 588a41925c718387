// SynTensor's worker pool: persistent threads with a short spin, so a parallel section of a few
// tens of microseconds costs about a microsecond to start instead of a futex wake-up per worker.
//
// A job is published as a 64-bit ticket, generation << 32 | indices left. Threads claim index
// n - left with a compare-exchange on the ticket, which fails once the ticket moved on, so a late
// worker can never run an index of a job that already finished or run one under the wrong
// generation's function: while any index of generation g is unclaimed, the caller has not published
// g + 1. The ticket alone says whether an index is left: a worker holding generation g's exhausted
// ticket must not compare it against the next job's n, which the caller writes before it publishes
// the next ticket (an index of the next job would run twice).
#define _GNU_SOURCE
#include "csynpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ volatile("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

#define MAX_WORKERS 255

static pthread_mutex_t create_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t park_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cond = PTHREAD_COND_INITIALIZER;

static atomic_int busy;                  // 1 while a caller owns the pool
static atomic_int workers;               // persistent workers started
static atomic_int sleepers;              // workers parked on park_cond
static atomic_uint_fast64_t ticket;      // generation << 32 | indices left
static atomic_int_fast64_t done_count;   // indices finished in the current job
static _Atomic(csyn_pool_fn) job_fn;
static _Atomic(void *) job_ctx;
static atomic_int_fast64_t job_n;
static atomic_int job_participants;      // workers with id < this take part
static atomic_int_fast64_t spin_ns = 200000;

void csyn_pool_set_spin(int64_t microseconds) {
    atomic_store(&spin_ns, microseconds < 0 ? 0 : microseconds * 1000);
}

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

// Claims and runs indices of generation `gen` until none is left or the job changed.
static void claim(uint64_t gen) {
    for (;;) {
        uint64_t t = atomic_load(&ticket);
        if ((t >> 32) != gen) return;
        const int64_t left = (int64_t)(t & 0xffffffffu);
        if (left == 0) return;
        // Generation g's fields: g + 1 is published only after every index of g was claimed, when
        // this ticket's compare-exchange can no longer succeed.
        csyn_pool_fn fn = atomic_load_explicit(&job_fn, memory_order_relaxed);
        void *ctx = atomic_load_explicit(&job_ctx, memory_order_relaxed);
        const int64_t n = atomic_load_explicit(&job_n, memory_order_relaxed);
        if (atomic_compare_exchange_weak(&ticket, &t, t - 1)) {
            fn(ctx, n - left);
            atomic_fetch_add_explicit(&done_count, 1, memory_order_release);
        }
    }
}

static void *worker_main(void *arg) {
    const int id = (int)(intptr_t)arg;
    uint64_t seen = atomic_load(&ticket) >> 32;
    for (;;) {
        uint64_t gen = atomic_load(&ticket) >> 32;
        if (gen == seen) {
            const int64_t limit = atomic_load_explicit(&spin_ns, memory_order_relaxed);
            const int64_t start = limit > 0 ? now_ns() : 0;
            int64_t spins = 0;
            while ((gen = atomic_load(&ticket) >> 32) == seen) {
                if (limit <= 0) break;
                CPU_RELAX();
                if ((++spins & 255) == 0) {
                    const int64_t elapsed = now_ns() - start;
                    if (elapsed > limit) break;
                    // Past the first few microseconds, give the core back to a thread that shares it
                    // (the caller, when the host lends this process only one core).
                    if (elapsed > 5000) sched_yield();
                }
            }
            if (gen == seen) {
                pthread_mutex_lock(&park_lock);
                atomic_fetch_add(&sleepers, 1);
                while ((gen = atomic_load(&ticket) >> 32) == seen) pthread_cond_wait(&park_cond, &park_lock);
                atomic_fetch_sub(&sleepers, 1);
                pthread_mutex_unlock(&park_lock);
            }
        }
        seen = gen;
        if (id < atomic_load(&job_participants)) claim(gen);
    }
    return NULL;
}

// Starts workers up to `wanted`; returns how many exist.
static int ensure_workers(int wanted) {
    if (wanted > MAX_WORKERS) wanted = MAX_WORKERS;
    int have = atomic_load(&workers);
    if (have >= wanted) return have;
    pthread_mutex_lock(&create_lock);
    have = atomic_load(&workers);
    if (have == 0) {
        const char *spin = getenv("SYNCLR_SPIN_US");
        if (spin && *spin) csyn_pool_set_spin(strtoll(spin, NULL, 10));
    }
    while (have < wanted) {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 8u << 20);
        const int failed = pthread_create(&thread, &attr, worker_main, (void *)(intptr_t)have);
        pthread_attr_destroy(&attr);
        if (failed) break;
        have++;
        atomic_store(&workers, have);
    }
    pthread_mutex_unlock(&create_lock);
    return have;
}

int csyn_pool_run(int64_t n, int64_t threads, csyn_pool_fn fn, void *ctx) {
    if (n <= 0) return 0;
    int expected = 0;
    if (threads <= 1 || n == 1 || n > 0xffffffffLL || !atomic_compare_exchange_strong(&busy, &expected, 1)) {
        for (int64_t i = 0; i < n; i++) fn(ctx, i);
        return 0;
    }
    int64_t helpers = threads - 1 < n - 1 ? threads - 1 : n - 1;
    const int started = ensure_workers((int)helpers);  // fewer when thread creation failed
    if (started < helpers) helpers = started;
    if (helpers <= 0) {
        atomic_store(&busy, 0);
        for (int64_t i = 0; i < n; i++) fn(ctx, i);
        return 0;
    }
    atomic_store_explicit(&job_fn, fn, memory_order_relaxed);
    atomic_store_explicit(&job_ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&job_n, n, memory_order_relaxed);
    atomic_store_explicit(&job_participants, (int)helpers, memory_order_relaxed);
    atomic_store_explicit(&done_count, 0, memory_order_relaxed);
    const uint64_t gen = (atomic_load(&ticket) >> 32) + 1;
    atomic_store(&ticket, gen << 32 | (uint64_t)n);  // publishes the job (sequentially consistent, after the fields)
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&park_lock);
        pthread_cond_broadcast(&park_cond);
        pthread_mutex_unlock(&park_lock);
    }
    claim(gen);
    int64_t waits = 0;
    while (atomic_load_explicit(&done_count, memory_order_acquire) < n) {
        CPU_RELAX();
        // A worker still running its last index may share this core: let it finish.
        if ((++waits & 1023) == 0) sched_yield();
    }
    atomic_store(&busy, 0);
    return 1;
}
