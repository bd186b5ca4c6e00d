/*===- thread_pool.c - A fixed pool of pthreads for parallel_for ---------===*
 *
 * Each kernel is one parallel_for over its outer axis. Workers sleep on a condition variable
 * between kernels; the caller takes chunk 0 itself, so 1 thread never spawns or locks.
 * With profiling on, each parallel_for is timed as a whole (the wall time of its slowest
 * chunk); off, it costs one well-predicted branch.
 *===----------------------------------------------------------------------===*/
#include "bisc_runtime.h"

#include <pthread.h>
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
  double *profile_seconds; /* NULL: not profiling */
};

enum { BISC_WORKER_STACK_BYTES = 8 << 20 };

typedef struct {
  bisc_pool *pool;
  int index;
} worker_arg;

static void run_chunk(bisc_pool *pool, int index) {
  int64_t count = pool->count, threads = pool->threads;
  int64_t begin = count * index / threads, end = count * (index + 1) / threads;
  if (begin < end) pool->kernel(pool->frame, begin, end);
}

static void *worker_main(void *raw) {
  worker_arg arg = *(worker_arg *)raw;
  free(raw);
  bisc_pool *pool = arg.pool;
  uint64_t seen = 0;
  pthread_mutex_lock(&pool->lock);
  for (;;) {
    while (!pool->stop && pool->generation == seen) pthread_cond_wait(&pool->work_ready, &pool->lock);
    if (pool->stop) break;
    seen = pool->generation;
    pthread_mutex_unlock(&pool->lock);
    run_chunk(pool, arg.index);
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
    worker_arg *arg = malloc(sizeof *arg);
    if (arg) {
      arg->pool = pool;
      arg->index = i;
    }
    if (!arg || pthread_create(&pool->workers[i], &attr, worker_main, arg) != 0) {
      free(arg);
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
  pool->pending = pool->threads - 1;
  pool->generation++;
  pthread_cond_broadcast(&pool->work_ready);
  pthread_mutex_unlock(&pool->lock);
  run_chunk(pool, 0);
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
