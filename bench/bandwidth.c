/* bandwidth: the machine's main-memory bandwidth, for 1 and N threads (STREAM-like).
 *
 *   cc -O3 -march=native -pthread bandwidth.c -o bandwidth
 *   bandwidth [THREADS]   prints {"threads":N,"fill":G,"copy":G,"scale":G,"add":G,"triad":G} in GB/s
 *
 * Each thread owns a contiguous third of three float arrays far larger than the last-level
 * cache and runs fill (b = s), copy (b = a), scale (b = s * a), add (c = a + b) and triad
 * (a = b + s * c) over it; the bytes counted are those the loop names (4 per element for
 * fill, 8 for copy and scale, 12 for add and triad), as STREAM counts them, so write-allocate
 * traffic is not included. The figure for a kernel of B bytes is then B / GB/s: the time a
 * memory-bound kernel cannot beat (fill for a kernel that mostly writes, like an upsampling).
 * Best of 7 rounds; threads start each round together at a barrier. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { ELEMENTS = 1 << 25, ROUNDS = 7, MAX_THREADS = 256 }; /* 3 x 128 MiB */
enum { FILL, COPY, SCALE, ADD, TRIAD, KINDS };
static const char *const kKindNames[KINDS] = {"fill", "copy", "scale", "add", "triad"};
static const double kBytesPerElement[KINDS] = {4, 8, 8, 12, 12};

static float *a, *b, *c;
static int threads;
static pthread_barrier_t start_line, finish_line;

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void run_kind(int kind, long begin, long end) {
  const float s = 3.0f;
  switch (kind) {
  case FILL: for (long i = begin; i < end; ++i) b[i] = s; break;
  case COPY: for (long i = begin; i < end; ++i) b[i] = a[i]; break;
  case SCALE: for (long i = begin; i < end; ++i) b[i] = s * a[i]; break;
  case ADD: for (long i = begin; i < end; ++i) c[i] = a[i] + b[i]; break;
  default: for (long i = begin; i < end; ++i) a[i] = b[i] + s * c[i]; break;
  }
}

/* Worker `id`: first-touches its share (so its pages sit near it), then runs every round of
 * every kind between the barriers that the main thread times. */
static void *worker(void *arg) {
  long id = (long)arg, begin = ELEMENTS / threads * id, end = id == threads - 1 ? ELEMENTS : begin + ELEMENTS / threads;
  for (long i = begin; i < end; ++i) a[i] = 1.0f, b[i] = 2.0f, c[i] = 0.0f;
  for (int round = 0; round < ROUNDS; ++round)
    for (int kind = 0; kind < KINDS; ++kind) {
      pthread_barrier_wait(&start_line);
      run_kind(kind, begin, end);
      pthread_barrier_wait(&finish_line);
    }
  return NULL;
}

int main(int argc, char **argv) {
  threads = argc > 1 ? atoi(argv[1]) : 1;
  if (threads < 1 || threads > MAX_THREADS) {
    fprintf(stderr, "bandwidth: THREADS must be in 1..%d\n", MAX_THREADS);
    return 2;
  }
  a = aligned_alloc(64, ELEMENTS * sizeof(float));
  b = aligned_alloc(64, ELEMENTS * sizeof(float));
  c = aligned_alloc(64, ELEMENTS * sizeof(float));
  if (!a || !b || !c) {
    fprintf(stderr, "bandwidth: out of memory\n");
    return 1;
  }
  pthread_barrier_init(&start_line, NULL, (unsigned)threads + 1);
  pthread_barrier_init(&finish_line, NULL, (unsigned)threads + 1);
  pthread_t ids[MAX_THREADS];
  for (long t = 0; t < threads; ++t) pthread_create(&ids[t], NULL, worker, (void *)t);
  double best[KINDS] = {0};
  for (int round = 0; round < ROUNDS; ++round)
    for (int kind = 0; kind < KINDS; ++kind) {
      pthread_barrier_wait(&start_line);
      double start = seconds();
      pthread_barrier_wait(&finish_line);
      double gbps = kBytesPerElement[kind] * ELEMENTS / (seconds() - start) * 1e-9;
      if (gbps > best[kind]) best[kind] = gbps;
    }
  for (int t = 0; t < threads; ++t) pthread_join(ids[t], NULL);
  printf("{\"threads\":%d", threads);
  for (int kind = 0; kind < KINDS; ++kind) printf(",\"%s\":%.2f", kKindNames[kind], best[kind]);
  printf("}\n");
  /* Keeps the stores alive: a checksum no compiler can drop. */
  double sum = 0;
  for (long i = 0; i < ELEMENTS; i += 4096) sum += a[i] + b[i] + c[i];
  return sum < 0;
}
