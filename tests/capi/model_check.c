/*===- model_check.c - A compiled model against the reference interpreter ===*
 *
 *   model_check INPUT.npy REFERENCE.npy [THREADS]   logits within 1e-4 x max|ref|, and
 *                                                   run_labels on THREADS = their arg-max
 *   model_check --time RUNS THREADS...              median latency of RUNS runs per count
 *
 * Built at test time against one generated library (any model): -DMODEL=<name> picks the
 * symbols, -DMODEL_HEADER='"<name>.h"' the header. Plain C11; runs natively or under qemu.
 *===----------------------------------------------------------------------===*/
#define _POSIX_C_SOURCE 200809L
#include "compare.h"
#include "npy_io.h"

#include MODEL_HEADER

#include <time.h>

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define API(x) CAT(MODEL, x)
#define STRING2(x) #x
#define STRING(x) STRING2(x)

typedef API(ctx) model_ctx;
typedef API(options) model_options;

static model_ctx *create_or_die(int threads) {
  model_options options;
  API(default_options)(&options);
  options.num_threads = threads;
  model_ctx *ctx = NULL;
  if (API(create)(&ctx, &options) != 0) {
    fprintf(stderr, "create(%d threads) failed: %s\n", threads, API(last_error)(NULL));
    exit(1);
  }
  return ctx;
}

static int run_logits(model_ctx *ctx, const float *input, size_t input_elements, float *logits, size_t count) {
  if (API(run)(ctx, input, input_elements, logits, count) == 0) return 0;
  fprintf(stderr, "run failed: %s\n", API(last_error)(ctx));
  return 1;
}

static int same_shape(const char *what, const npy_array *array, const int64_t shape[4]) {
  if (array->rank == 4 && array->shape[0] == shape[0] && array->shape[1] == shape[1] && array->shape[2] == shape[2] &&
      array->shape[3] == shape[3])
    return 1;
  fprintf(stderr, "%s does not have the library's shape %lldx%lldx%lldx%lld\n", what, (long long)shape[0],
          (long long)shape[1], (long long)shape[2], (long long)shape[3]);
  return 0;
}

/* Labels from run_labels (on another context, maybe with other threads) must be the arg-max of
 * run's logits. A different class is accepted only where the two logits tie within the
 * tolerance, in case a schedule sums in another order for another thread count. */
static int labels_match_logits(const uint8_t *labels, const float *logits, const int64_t shape[4], double tolerance) {
  size_t plane = (size_t)(shape[2] * shape[3]), classes = (size_t)shape[1], wrong = 0;
  for (size_t n = 0; n < (size_t)shape[0]; ++n)
    for (size_t p = 0; p < plane; ++p) {
      const float *l = logits + n * classes * plane + p;
      size_t best = 0, label = labels[n * plane + p];
      for (size_t c = 1; c < classes; ++c)
        if (l[c * plane] > l[best * plane]) best = c;
      wrong += label >= classes || (label != best && l[best * plane] - l[label * plane] > tolerance);
    }
  if (wrong) fprintf(stderr, "run_labels: %zu pixels are not the arg-max of run's logits\n", wrong);
  return wrong == 0;
}

/* run on 1 thread against the interpreter, then for each of the `counts` thread counts,
 * run_labels against the arg-max of those logits and, for all but the first count, run
 * against the interpreter again (each run costs a minute under qemu). */
static int check(const char *input_path, const char *reference_path, const int *counts, int count_n) {
  int64_t in_shape[4], out_shape[4];
  API(input_shape)(in_shape);
  API(output_shape)(out_shape);
  npy_array input, reference;
  if (npy_read(input_path, &input) || npy_read(reference_path, &reference)) return 1;
  if (!same_shape(input_path, &input, in_shape) || !same_shape(reference_path, &reference, out_shape)) return 1;
  size_t count = reference.elements, pixels = (size_t)(out_shape[0] * out_shape[2] * out_shape[3]);
  float *logits = malloc(count * sizeof(float));
  uint8_t *labels = malloc(pixels);
  if (!logits || !labels) return 1;
  model_ctx *ctx = create_or_die(1);
  int failed = run_logits(ctx, input.data, input.elements, logits, count);
  API(destroy)(ctx);
  comparison c = compare_logits(logits, reference.data, out_shape);
  print_comparison("run, 1 thread, vs interpreter", c);
  failed |= !c.ok;
  float *threaded = malloc(count * sizeof(float));
  if (!threaded) return 1;
  for (int i = 0; i < count_n; ++i) {
    int threads = counts[i];
    ctx = create_or_die(threads);
    if (i > 0) {
      failed |= run_logits(ctx, input.data, input.elements, threaded, count);
      comparison t = compare_logits(threaded, reference.data, out_shape);
      char what[64];
      snprintf(what, sizeof what, "run, %d threads, vs interpreter", threads);
      print_comparison(what, t);
      failed |= !t.ok;
    }
    if (API(run_labels)(ctx, input.data, input.elements, labels, pixels) != 0) {
      fprintf(stderr, "run_labels failed: %s\n", API(last_error)(ctx));
      failed = 1;
    } else {
      int same = labels_match_logits(labels, logits, out_shape, 1e-4 * c.max_reference);
      printf("run_labels, %d thread%s: %s\n", threads, threads == 1 ? "" : "s", same ? "arg-max of run's logits" : "WRONG");
      failed |= !same;
    }
    API(destroy)(ctx);
  }
  free(threaded);
  free(logits);
  free(labels);
  npy_free(&input);
  npy_free(&reference);
  printf("%s\n", failed ? "FAILED" : "passed");
  return failed;
}

static double clock_ms(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int time_runs(int runs, int threads) {
  int64_t in_shape[4], out_shape[4];
  API(input_shape)(in_shape);
  API(output_shape)(out_shape);
  size_t in_count = (size_t)(in_shape[0] * in_shape[1] * in_shape[2] * in_shape[3]);
  size_t out_count = (size_t)(out_shape[0] * out_shape[1] * out_shape[2] * out_shape[3]);
  float *input = malloc(in_count * sizeof(float)), *logits = malloc(out_count * sizeof(float));
  double *ms = malloc((size_t)runs * sizeof(double)), *cpu_ms = malloc((size_t)runs * sizeof(double));
  if (!input || !logits || !ms || !cpu_ms) return 1;
  for (size_t i = 0; i < in_count; ++i) input[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
  model_ctx *ctx = create_or_die(threads);
  int failed = run_logits(ctx, input, in_count, logits, out_count); /* warm-up */
  for (int r = 0; r < runs && !failed; ++r) {
    double start = clock_ms(CLOCK_MONOTONIC), cpu_start = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
    failed |= run_logits(ctx, input, in_count, logits, out_count);
    ms[r] = clock_ms(CLOCK_MONOTONIC) - start;
    cpu_ms[r] = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
  }
  API(destroy)(ctx);
  qsort(ms, (size_t)runs, sizeof *ms, by_value);
  qsort(cpu_ms, (size_t)runs, sizeof *cpu_ms, by_value);
  /* CPU time tells a busy machine's noise from the code's speed. */
  if (!failed)
    printf("%s %lldx%lldx%lldx%lld, %d thread%s: median %.1f ms (min %.1f, max %.1f) over %d runs; "
           "median CPU time %.1f ms\n",
           STRING(MODEL), (long long)in_shape[0], (long long)in_shape[1], (long long)in_shape[2], (long long)in_shape[3],
           threads, threads == 1 ? "" : "s", ms[runs / 2], ms[0], ms[runs - 1], runs, cpu_ms[runs / 2]);
  free(cpu_ms);
  free(input);
  free(logits);
  free(ms);
  return failed;
}

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[1], "--time") == 0) {
    int runs = atoi(argv[2]), failed = 0;
    if (runs < 1) return fprintf(stderr, "--time RUNS: RUNS must be positive\n"), 2;
    for (int i = 3; i < argc; ++i) failed |= time_runs(runs, atoi(argv[i]));
    return failed;
  }
  if (argc >= 3 && argc <= 3 + 8) {
    int counts[8] = {1}, count_n = argc == 3 ? 1 : argc - 3;
    for (int i = 3; i < argc; ++i)
      if ((counts[i - 3] = atoi(argv[i])) < 1) return fprintf(stderr, "THREADS must be positive\n"), 2;
    return check(argv[1], argv[2], counts, count_n);
  }
  fprintf(stderr, "usage: model_check INPUT.npy REFERENCE.npy [THREADS...]\n       model_check --time RUNS THREADS...\n");
  return 2;
}
