/* bisc_timer: times one generated library. Built by bench/run against lib<name>:
 *
 *   cc -O2 -DBISC_MODEL=<name> -include <name>.h bisc_timer.c -L. -l<name> -o timer
 *   timer THREADS RUNS WARMUP   prints {"ms":[t1,...]} (wall time of each <name>_run)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CONCAT_(a, b) a##_##b
#define CONCAT(a, b) CONCAT_(a, b)
#define API(fn) CONCAT(BISC_MODEL, fn)

static double milliseconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static size_t elements(const int64_t shape[4]) {
  return (size_t)(shape[0] * shape[1] * shape[2] * shape[3]);
}

/* 64-byte aligned, as a performance-minded app allocates (the library then streams the logits
 * out in whole vectors). */
static float *floats(size_t count) { return aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64); }

static int check(int status, const char *what) {
  if (status != 0) fprintf(stderr, "bisc_timer: %s: %s\n", what, API(status_text)(status));
  return status;
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: bisc_timer THREADS RUNS WARMUP\n"); return 2; }
  int threads = atoi(argv[1]), runs = atoi(argv[2]), warmup = atoi(argv[3]);
  int64_t in_shape[4], out_shape[4];
  API(input_shape)(in_shape);
  API(output_shape)(out_shape);
  size_t in_n = elements(in_shape), out_n = elements(out_shape);
  float *input = floats(in_n), *logits = floats(out_n);
  if (!input || !logits) return 1;
  for (size_t i = 0; i < in_n; ++i) input[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;

  API(options) options;
  API(default_options)(&options);
  options.num_threads = threads;
  API(ctx) *ctx = NULL;
  if (check(API(create)(&ctx, &options), "create")) return 1;
  for (int r = 0; r < warmup; ++r)
    if (check(API(run)(ctx, input, in_n, logits, out_n), "run")) return 1;
  printf("{\"ms\":[");
  for (int r = 0; r < runs; ++r) {
    double start = milliseconds();
    if (check(API(run)(ctx, input, in_n, logits, out_n), "run")) return 1;
    printf("%s%.3f", r ? "," : "", milliseconds() - start);
  }
  printf("]}\n");
  API(destroy)(ctx);
  free(input);
  free(logits);
  return 0;
}
