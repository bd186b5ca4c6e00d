/*===- thread_pool.c - A fixed pool of pthreads for parallel_for ---------===*
 *
 * Each kernel is one parallel_for over its outer axis. Workers sleep on a condition variable
 * between kernels; the caller works alongside them, so 1 thread never spawns or locks.
 * Threads take chunks from a shared counter (guided: each takes a 1/(2 threads) share of what
 * is left), not fixed equal shares: on a shared machine one core is often slower for a while,
 * and fixed shares make every kernel wait for it. Chunks are contiguous, so neighbouring rows
 * still run on one thread.
 * With profiling on, each parallel_for is timed as a whole (the wall time of its slowest
 * chunk); off, it costs one well-predicted branch.
 *===----------------------------------------------------------------------===*/
#include "bisc_runtime.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

struct bisc_pool {
  int threads;
  pthread_t *workers;
  pthread_mutex_t lock;
  pthread_cond_t work_ready;
  pthread_cond_t work_done;
  uint64_t generation; /* bumped for every job; workers run each generation once */
  int pending;         /* workers that have not finished the current job */
  int stop;
  bisc_kernel_fn kernel;
  void **frame;
  int64_t count;
  _Atomic int64_t next; /* the first iteration no thread has taken yet */
  double *profile_seconds; /* NULL: not profiling */
};

enum { BISC_WORKER_STACK_BYTES = 8 << 20 };

/* Runs chunks of the current job until none is left. */
static void run_chunks(bisc_pool *pool) {
  int64_t count = pool->count, share = 2 * (int64_t)pool->threads;
  for (;;) {
    int64_t begin = atomic_load_explicit(&pool->next, memory_order_relaxed), chunk;
    do {
      if (begin >= count) return;
      chunk = (count - begin) / share;
      if (chunk < 1) chunk = 1;
    } while (!atomic_compare_exchange_weak_explicit(&pool->next, &begin, begin + chunk, memory_order_relaxed,
                                                    memory_order_relaxed));
    pool->kernel(pool->frame, begin, begin + chunk);
  }
}

static void *worker_main(void *raw) {
  bisc_pool *pool = raw;
  uint64_t seen = 0;
  pthread_mutex_lock(&pool->lock);
  for (;;) {
    while (!pool->stop && pool->generation == seen) pthread_cond_wait(&pool->work_ready, &pool->lock);
    if (pool->stop) break;
    seen = pool->generation;
    pthread_mutex_unlock(&pool->lock);
    run_chunks(pool);
    pthread_mutex_lock(&pool->lock);
    if (--pool->pending == 0) pthread_cond_signal(&pool->work_done);
  }
  pthread_mutex_unlock(&pool->lock);
  return NULL;
}

int BISC_SYM(rt_pool_create)(bisc_pool **out, int threads) {
  bisc_pool *pool = calloc(1, sizeof *pool);
  if (!pool) return 0;
  pool->threads = threads < 1 ? 1 : threads;
  pthread_mutex_init(&pool->lock, NULL);
  pthread_cond_init(&pool->work_ready, NULL);
  pthread_cond_init(&pool->work_done, NULL);
  pool->workers = calloc((size_t)pool->threads, sizeof(pthread_t));
  if (!pool->workers) {
    BISC_SYM(rt_pool_destroy)(pool);
    return 0;
  }
  /* Kernels keep tiles on the stack (up to about 1 MiB, Winograd); give workers room whatever
   * the process's default thread stack is. */
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, BISC_WORKER_STACK_BYTES);
  for (int i = 1; i < pool->threads; ++i) {
    if (pthread_create(&pool->workers[i], &attr, worker_main, pool) != 0) {
      pthread_attr_destroy(&attr);
      pool->threads = i; /* destroy joins the ones that started */
      BISC_SYM(rt_pool_destroy)(pool);
      return 0;
    }
  }
  pthread_attr_destroy(&attr);
  *out = pool;
  return 1;
}

void BISC_SYM(rt_pool_destroy)(bisc_pool *pool) {
  if (!pool) return;
  pthread_mutex_lock(&pool->lock);
  pool->stop = 1;
  pthread_cond_broadcast(&pool->work_ready);
  pthread_mutex_unlock(&pool->lock);
  for (int i = 1; i < pool->threads && pool->workers; ++i) pthread_join(pool->workers[i], NULL);
  pthread_cond_destroy(&pool->work_ready);
  pthread_cond_destroy(&pool->work_done);
  pthread_mutex_destroy(&pool->lock);
  free(pool->workers);
  free(pool);
}

static void parallel_for(bisc_pool *pool, bisc_kernel_fn kernel, void **frame, int64_t count) {
  if (pool->threads == 1 || count < 2) {
    kernel(frame, 0, count);
    return;
  }
  pthread_mutex_lock(&pool->lock);
  pool->kernel = kernel;
  pool->frame = frame;
  pool->count = count;
  atomic_store_explicit(&pool->next, 0, memory_order_relaxed);
  pool->pending = pool->threads - 1;
  pool->generation++;
  pthread_cond_broadcast(&pool->work_ready);
  pthread_mutex_unlock(&pool->lock);
  run_chunks(pool);
  pthread_mutex_lock(&pool->lock);
  while (pool->pending > 0) pthread_cond_wait(&pool->work_done, &pool->lock);
  pthread_mutex_unlock(&pool->lock);
}

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void BISC_SYM(rt_pool_profile)(bisc_pool *pool, double *seconds) { pool->profile_seconds = seconds; }

void BISC_SYM(rt_parallel_for)(bisc_pool *pool, bisc_kernel_fn kernel, void **frame, int64_t count,
                               int64_t kernel_index) {
  if (pool->profile_seconds) {
    double start = now_seconds();
    parallel_for(pool, kernel, frame, count);
    pool->profile_seconds[kernel_index] += now_seconds() - start;
    return;
  }
  parallel_for(pool, kernel, frame, count);
}
