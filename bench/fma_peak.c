/* fma_peak: the machine's single-precision FMA peak, per core and for N threads.
 *
 *   fma_peak [THREADS]   prints {"threads":N,"gflops":G,"gflops_per_core":G/N}
 *
 * Each thread runs 12 independent accumulator chains (enough to hide FMA latency on current
 * x86 and Arm cores) of the widest vector the compiler targets (-march=native), so the figure
 * is what a perfectly register-blocked kernel could reach. Best of 5 timed rounds. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__AVX512F__)
#define LANES 16
#elif defined(__AVX__)
#define LANES 8
#else
#define LANES 4
#endif

typedef float vec __attribute__((vector_size(LANES * 4)));
enum { CHAINS = 12, ITERATIONS = 20 * 1000 * 1000 };

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *fma_loop(void *sink) {
  vec acc[CHAINS], a, b;
  for (int i = 0; i < LANES; ++i) { a[i] = 0.999999f; b[i] = 1e-7f; }
  for (int c = 0; c < CHAINS; ++c) acc[c] = a * (float)c;
  for (long it = 0; it < ITERATIONS; ++it)
    for (int c = 0; c < CHAINS; ++c) acc[c] = acc[c] * a + b;  /* contracted to one FMA */
  float total = 0;
  for (int c = 0; c < CHAINS; ++c) total += acc[c][0];
  *(float *)sink = total;  /* keeps the loop alive */
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (threads < 1 || threads > 256) { fprintf(stderr, "fma_peak: THREADS in 1..256\n"); return 2; }
  pthread_t ids[256];
  float sinks[256];
  double best = 1e30;
  for (int round = 0; round < 5; ++round) {
    double start = seconds();
    for (int t = 0; t < threads; ++t) pthread_create(&ids[t], NULL, fma_loop, &sinks[t]);
    for (int t = 0; t < threads; ++t) pthread_join(ids[t], NULL);
    double elapsed = seconds() - start;
    if (elapsed < best) best = elapsed;
  }
  double flops = 2.0 * LANES * CHAINS * (double)ITERATIONS * threads;
  printf("{\"threads\":%d,\"lanes\":%d,\"gflops\":%.1f,\"gflops_per_core\":%.1f}\n", threads, LANES,
         flops / best * 1e-9, flops / best * 1e-9 / threads);
  return 0;
}
