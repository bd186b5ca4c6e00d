/* profile_app: drives a generated library for the BISC_PROFILE test (check_profile.py).
 *
 *   profile_app THREADS RUNS   `RUNS` x run, then one run_labels, on 2 threads or more;
 *                              prints "ok" to stdout. The profile, if on, goes to stderr.
 */
#include MODEL_HEADER

#include <stdio.h>
#include <stdlib.h>

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define API(fn) CAT(MODEL, fn)

static int check(int status, const char *what) {
  if (status != 0) printf("profile_app: %s: %s\n", what, API(status_text)(status));
  return status;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stdout, "usage: profile_app THREADS RUNS\n");
    return 2;
  }
  int threads = atoi(argv[1]), runs = atoi(argv[2]);
  int64_t in_shape[4], out_shape[4];
  API(input_shape)(in_shape);
  API(output_shape)(out_shape);
  size_t in_n = (size_t)(in_shape[0] * in_shape[1] * in_shape[2] * in_shape[3]);
  size_t out_n = (size_t)(out_shape[0] * out_shape[1] * out_shape[2] * out_shape[3]);
  size_t labels_n = (size_t)(out_shape[0] * out_shape[2] * out_shape[3]);
  float *input = malloc(in_n * sizeof *input), *logits = malloc(out_n * sizeof *logits);
  uint8_t *labels = malloc(labels_n);
  if (!input || !logits || !labels) return 1;
  for (size_t i = 0; i < in_n; ++i) input[i] = (float)(i % 97) / 48.0f - 1.0f;

  API(options) options;
  API(default_options)(&options);
  options.num_threads = threads;
  API(ctx) *ctx = NULL;
  if (check(API(create)(&ctx, &options), "create")) return 1;
  for (int r = 0; r < runs; ++r)
    if (check(API(run)(ctx, input, in_n, logits, out_n), "run")) return 1;
  if (check(API(run_labels)(ctx, input, in_n, labels, labels_n), "run_labels")) return 1;
  API(destroy)(ctx);
  free(input);
  free(logits);
  free(labels);
  printf("ok\n");
  return 0;
}
