/*===- api_test.c - Every call of a generated library's C API ------------===*
 *
 *   api_test INPUT.npy REFERENCE.npy WEIGHTS_FILE
 *
 * Plain C11, built at test time against two libraries compiled from the same model and seed:
 * MODEL (weights embedded) and OTHER (--weights-file; WEIGHTS_FILE is its side file). Checks
 * each call with good and with each kind of bad argument, the results against the reference
 * interpreter's logits (REFERENCE.npy, from `bisc run` on INPUT.npy), threads, and caller
 * workspaces. Prints one line per failed check and a summary; exit 1 if any failed.
 *===----------------------------------------------------------------------===*/
#define _POSIX_C_SOURCE 200809L
#include "compare.h"
#include "npy_io.h"

#include MODEL_HEADER
#include OTHER_HEADER

#include <dirent.h>
#include <time.h>

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define API(x) CAT(MODEL, x)
#define MACRO(x) CAT(MODEL_UPPER, x)
#define OTHER_API(x) CAT(OTHER, x)
#define OTHER_MACRO(x) CAT(OTHER_UPPER, x)

typedef API(ctx) model_ctx;
typedef API(options) model_options;

static int checks, failures;

#define CHECK(condition)                                                                 \
  do {                                                                                   \
    ++checks;                                                                            \
    if (!(condition)) {                                                                  \
      ++failures;                                                                        \
      printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #condition);                       \
    }                                                                                    \
  } while (0)

/* A status and the error text that must name what was wrong. */
#define CHECK_ERROR(call, status, ctx_for_text, fragment)                                \
  do {                                                                                   \
    int got_ = (int)(call);                                                              \
    const char *text_ = API(last_error)(ctx_for_text);                                   \
    ++checks;                                                                            \
    if (got_ != (int)(status) || !strstr(text_, fragment)) {                             \
      ++failures;                                                                        \
      printf("FAIL %s:%d: %s gave %d '%s', expected %d with '%s'\n", __FILE__, __LINE__, \
             #call, got_, text_, (int)(status), fragment);                               \
    }                                                                                    \
  } while (0)

static npy_array input, reference;
static int64_t in_shape[4], out_shape[4];
static size_t in_count, out_count, pixels;
static const char *weights_file; /* OTHER's side file */

static model_ctx *create_with(int threads, void *workspace, size_t workspace_bytes) {
  model_options options;
  API(default_options)(&options);
  options.num_threads = threads;
  options.workspace = workspace;
  options.workspace_bytes = workspace_bytes;
  model_ctx *ctx = NULL;
  int status = API(create)(&ctx, &options);
  if (status != MACRO(OK)) printf("create(%d threads): %s\n", threads, API(last_error)(NULL));
  CHECK(status == MACRO(OK) && ctx != NULL);
  return ctx;
}

static void test_queries(void) {
  int64_t shape[4] = {0, 0, 0, 0};
  CHECK(API(input_shape)(shape) == MACRO(OK));
  CHECK(shape[0] == MACRO(INPUT_N) && shape[1] == MACRO(INPUT_C) && shape[2] == MACRO(INPUT_H) &&
        shape[3] == MACRO(INPUT_W));
  CHECK(API(output_shape)(shape) == MACRO(OK));
  CHECK(shape[0] == MACRO(INPUT_N) && shape[1] == MACRO(CLASSES) && shape[2] == MACRO(OUTPUT_H) &&
        shape[3] == MACRO(OUTPUT_W));
  CHECK(MACRO(LOGITS_ELEMENTS) == reference.elements && MACRO(INPUT_ELEMENTS) == input.elements);
  CHECK(MACRO(LABELS_ELEMENTS) == (size_t)(shape[0] * shape[2] * shape[3]));
  CHECK_ERROR(API(input_shape)(NULL), MACRO(ERROR_NULL_ARGUMENT), NULL, "shape is NULL");
  CHECK_ERROR(API(output_shape)(NULL), MACRO(ERROR_NULL_ARGUMENT), NULL, "shape is NULL");
  CHECK(API(workspace_bytes)() > 0 && API(workspace_bytes)() % 64 == 0);

  /* Every status has its own text; unknown values do not crash. */
  for (int a = MACRO(OK); a <= MACRO(ERROR_OVERLAP); ++a) {
    CHECK(strlen(API(status_text)((API(status))a)) > 1);
    for (int b = a + 1; b <= MACRO(ERROR_OVERLAP); ++b)
      CHECK(strcmp(API(status_text)((API(status))a), API(status_text)((API(status))b)) != 0);
  }
  CHECK(strcmp(API(status_text)((API(status))99), "unknown status") == 0);
  CHECK(strcmp(API(status_text)((API(status))-1), "unknown status") == 0);

  model_options options;
  memset(&options, 0x5a, sizeof options);
  CHECK(API(default_options)(&options) == MACRO(OK));
  CHECK(options.num_threads == 1 && options.workspace == NULL && options.workspace_bytes == 0 &&
        options.weights_path == NULL);
  CHECK_ERROR(API(default_options)(NULL), MACRO(ERROR_NULL_ARGUMENT), NULL, "options is NULL");
}

static void test_create_arguments(void) {
  model_ctx *ctx = (model_ctx *)&ctx; /* must be reset to NULL by a failed create */
  model_options options;
  CHECK_ERROR(API(create)(NULL, NULL), MACRO(ERROR_NULL_ARGUMENT), NULL, "ctx");
  int bad_threads[] = {0, -1, 257, 1 << 30};
  for (size_t i = 0; i < sizeof bad_threads / sizeof *bad_threads; ++i) {
    char count[32];
    snprintf(count, sizeof count, "num_threads is %d", bad_threads[i]);
    API(default_options)(&options);
    options.num_threads = bad_threads[i];
    ctx = (model_ctx *)&ctx;
    CHECK_ERROR(API(create)(&ctx, &options), MACRO(ERROR_THREADS), NULL, count);
    CHECK(ctx == NULL);
  }
  size_t bytes = API(workspace_bytes)();
  unsigned char *memory = aligned_alloc(64, bytes + 128);
  API(default_options)(&options);
  options.workspace = memory;
  options.workspace_bytes = bytes - 1;
  CHECK_ERROR(API(create)(&ctx, &options), MACRO(ERROR_BAD_SIZE), NULL, "workspace_bytes is");
  CHECK(ctx == NULL);
  options.workspace = memory + 4;
  options.workspace_bytes = bytes + 64;
  CHECK_ERROR(API(create)(&ctx, &options), MACRO(ERROR_ALIGNMENT), NULL, "not a multiple of 64");
  options.workspace = NULL;
  options.workspace_bytes = bytes;
  CHECK_ERROR(API(create)(&ctx, &options), MACRO(ERROR_NULL_ARGUMENT), NULL, "workspace is NULL");
  CHECK(ctx == NULL);
  free(memory);

  /* NULL options mean the defaults; options for a library with embedded weights ignore weights_path. */
  CHECK(API(create)(&ctx, NULL) == MACRO(OK) && ctx != NULL);
  API(destroy)(ctx);
  API(default_options)(&options);
  options.weights_path = "/nonexistent/weights";
  CHECK(API(create)(&ctx, &options) == MACRO(OK) && ctx != NULL);
  API(destroy)(ctx);
}

static void test_run_arguments(void) {
  model_ctx *ctx = create_with(1, NULL, 0);
  float *logits = malloc(out_count * sizeof(float));
  uint8_t *labels = malloc(pixels);
  const float *in = input.data;

  CHECK_ERROR(API(run)(NULL, in, in_count, logits, out_count), MACRO(ERROR_NULL_ARGUMENT), NULL, "ctx is NULL");
  CHECK_ERROR(API(run_labels)(NULL, in, in_count, labels, pixels), MACRO(ERROR_NULL_ARGUMENT), NULL, "ctx is NULL");
  CHECK_ERROR(API(run)(ctx, NULL, in_count, logits, out_count), MACRO(ERROR_NULL_ARGUMENT), ctx, "input is NULL");
  CHECK_ERROR(API(run)(ctx, in, in_count, NULL, out_count), MACRO(ERROR_NULL_ARGUMENT), ctx, "logits is NULL");
  CHECK_ERROR(API(run_labels)(ctx, NULL, in_count, labels, pixels), MACRO(ERROR_NULL_ARGUMENT), ctx, "input is NULL");
  CHECK_ERROR(API(run_labels)(ctx, in, in_count, NULL, pixels), MACRO(ERROR_NULL_ARGUMENT), ctx, "labels is NULL");

  char expected[96];
  size_t wrong_inputs[] = {0, in_count - 1, in_count + 1, in_count * 2};
  for (size_t i = 0; i < 4; ++i) {
    snprintf(expected, sizeof expected, "input_elements is %zu, the model takes %zu", wrong_inputs[i], in_count);
    CHECK_ERROR(API(run)(ctx, in, wrong_inputs[i], logits, out_count), MACRO(ERROR_BAD_SIZE), ctx, expected);
    CHECK_ERROR(API(run_labels)(ctx, in, wrong_inputs[i], labels, pixels), MACRO(ERROR_BAD_SIZE), ctx, expected);
  }
  snprintf(expected, sizeof expected, "logits_elements is %zu, the model gives %zu", out_count - 1, out_count);
  CHECK_ERROR(API(run)(ctx, in, in_count, logits, out_count - 1), MACRO(ERROR_BAD_SIZE), ctx, expected);
  /* A labels call given the logits count (a likely slip) is caught too. */
  snprintf(expected, sizeof expected, "labels_elements is %zu, the model gives %zu", out_count, pixels);
  CHECK_ERROR(API(run_labels)(ctx, in, in_count, labels, out_count), MACRO(ERROR_BAD_SIZE), ctx, expected);

  /* In-place use would overwrite the input while it is read. */
  size_t both = in_count > out_count ? in_count : out_count;
  float *shared = calloc(both + 1, sizeof(float));
  CHECK_ERROR(API(run)(ctx, shared, in_count, shared, out_count), MACRO(ERROR_OVERLAP), ctx, "input and logits");
  CHECK_ERROR(API(run)(ctx, shared + 1, in_count, shared, out_count), MACRO(ERROR_OVERLAP), ctx, "input and logits");
  CHECK_ERROR(API(run_labels)(ctx, shared, in_count, (uint8_t *)shared, pixels), MACRO(ERROR_OVERLAP), ctx,
              "input and labels");
  free(shared);

  /* A failed call leaves the context usable, and success clears the error text. */
  CHECK(API(run)(ctx, in, in_count, logits, out_count) == MACRO(OK));
  CHECK(strcmp(API(last_error)(ctx), "") == 0);
  API(destroy)(ctx);
  free(logits);
  free(labels);
}

static void test_bad_contexts(void) {
  float *logits = malloc(out_count * sizeof(float));
  uint8_t *labels = malloc(pixels);
  const float *in = input.data;
  /* A stray pointer: the address of a local (never dereferenced as a context). */
  double stray[64];
  memset(stray, 0, sizeof stray);
  model_ctx *bogus = (model_ctx *)stray;
  CHECK_ERROR(API(run)(bogus, in, in_count, logits, out_count), MACRO(ERROR_BAD_CONTEXT), NULL, "never returned");
  CHECK_ERROR(API(run_labels)(bogus, in, in_count, labels, pixels), MACRO(ERROR_BAD_CONTEXT), NULL, "never returned");
  CHECK(strcmp(API(last_error)(bogus), API(status_text)(MACRO(ERROR_BAD_CONTEXT))) == 0);
  API(destroy)(bogus); /* ignored */

  /* A destroyed context, used and destroyed again. */
  model_ctx *ctx = create_with(1, NULL, 0);
  API(destroy)(ctx);
  CHECK_ERROR(API(run)(ctx, in, in_count, logits, out_count), MACRO(ERROR_BAD_CONTEXT), NULL, "destroyed");
  CHECK_ERROR(API(run_labels)(ctx, in, in_count, labels, pixels), MACRO(ERROR_BAD_CONTEXT), NULL, "destroyed");
  CHECK(strcmp(API(last_error)(ctx), API(status_text)(MACRO(ERROR_BAD_CONTEXT))) == 0);
  API(destroy)(ctx);
  API(destroy)(NULL);

  /* A live context of another model (OTHER) is not one of MODEL's, and vice versa. */
  OTHER_API(options) other_options;
  OTHER_API(default_options)(&other_options);
  other_options.weights_path = weights_file;
  OTHER_API(ctx) *other = NULL;
  CHECK(OTHER_API(create)(&other, &other_options) == OTHER_MACRO(OK));
  CHECK_ERROR(API(run)((model_ctx *)other, in, in_count, logits, out_count), MACRO(ERROR_BAD_CONTEXT), NULL,
              "never returned");
  ctx = create_with(1, NULL, 0);
  OTHER_API(destroy)((OTHER_API(ctx) *)ctx); /* ignored: not OTHER's */
  CHECK(API(run)(ctx, in, in_count, logits, out_count) == MACRO(OK));
  CHECK(OTHER_API(run)(other, in, in_count, logits, out_count) == OTHER_MACRO(OK));
  API(destroy)(ctx);
  OTHER_API(destroy)(other);
  free(logits);
  free(labels);
}

/* Threads of this process (Linux: entries of /proc/self/task). */
static int thread_count(void) {
  DIR *dir = opendir("/proc/self/task");
  int count = 0;
  if (!dir) return -1;
  for (struct dirent *entry; (entry = readdir(dir));) count += entry->d_name[0] != '.';
  closedir(dir);
  return count;
}

/* Waits up to 2 s for the thread count to reach `expected`: a joined thread can linger in
 * /proc for a moment while the kernel (or qemu) finishes its exit. */
static int threads_become(int expected) {
  struct timespec millisecond = {0, 1000000};
  int count = thread_count();
  for (int i = 0; i < 2000 && count != expected; ++i) {
    nanosleep(&millisecond, NULL);
    count = thread_count();
  }
  if (count != expected) printf("%d threads, expected %d\n", count, expected);
  return count == expected;
}

static void expect_logits(const char *what, const float *logits) {
  comparison c = compare_logits(logits, reference.data, out_shape);
  print_comparison(what, c);
  CHECK(c.ok);
}

static void test_results(void) {
  float *logits = malloc(out_count * sizeof(float)), *again = malloc(out_count * sizeof(float));
  uint8_t *labels = malloc(pixels);
  int baseline = thread_count();

  model_ctx *ctx = create_with(1, NULL, 0);
  CHECK(threads_become(baseline)); /* one thread spawns none */
  CHECK(API(run)(ctx, input.data, in_count, logits, out_count) == MACRO(OK));
  expect_logits("run, 1 thread", logits);
  CHECK(API(run_labels)(ctx, input.data, in_count, labels, pixels) == MACRO(OK));
  size_t plane = (size_t)(out_shape[2] * out_shape[3]), wrong = 0;
  for (size_t n = 0; n < (size_t)out_shape[0]; ++n)
    for (size_t p = 0; p < plane; ++p) {
      const float *l = logits + n * (size_t)out_shape[1] * plane + p;
      size_t best = 0;
      for (size_t c = 1; c < (size_t)out_shape[1]; ++c)
        if (l[c * plane] > l[best * plane]) best = c;
      wrong += labels[n * plane + p] != best;
    }
  CHECK(wrong == 0); /* labels are the arg-max of the logits */

  /* Two live contexts, interleaved, do not disturb each other. */
  model_ctx *second = create_with(1, NULL, 0);
  CHECK(API(run)(second, input.data, in_count, again, out_count) == MACRO(OK));
  CHECK(API(run)(ctx, input.data, in_count, logits, out_count) == MACRO(OK));
  CHECK(memcmp(logits, again, out_count * sizeof(float)) == 0);
  API(destroy)(second);
  API(destroy)(ctx);

  int counts[] = {2, 4};
  for (int i = 0; i < 2; ++i) {
    ctx = create_with(counts[i], NULL, 0);
    CHECK(threads_become(baseline + counts[i] - 1));
    CHECK(API(run)(ctx, input.data, in_count, again, out_count) == MACRO(OK));
    char what[32];
    snprintf(what, sizeof what, "run, %d threads", counts[i]);
    expect_logits(what, again);
    API(destroy)(ctx);
    CHECK(threads_become(baseline)); /* workers are joined */
  }

  /* Caller workspace: exactly workspace_bytes(), poisoned first; the library must use it. */
  size_t bytes = API(workspace_bytes)();
  unsigned char *workspace = aligned_alloc(64, bytes);
  memset(workspace, 0xff, bytes);
  ctx = create_with(2, workspace, bytes);
  CHECK(API(run)(ctx, input.data, in_count, again, out_count) == MACRO(OK));
  expect_logits("run, caller workspace", again);
  size_t touched = 0;
  for (size_t i = 0; i < bytes; ++i) touched += workspace[i] != 0xff;
  CHECK(touched > 0);
  /* Output inside the workspace would be overwritten by activations. */
  CHECK_ERROR(API(run_labels)(ctx, input.data, in_count, workspace + 64, pixels), MACRO(ERROR_OVERLAP), ctx,
              "labels and the workspace");
  API(destroy)(ctx);
  free(workspace);
  free(logits);
  free(again);
  free(labels);
}

static int write_bytes(const char *path, const unsigned char *data, size_t size) {
  FILE *file = fopen(path, "wb");
  if (!file) return 1;
  size_t written = fwrite(data, 1, size, file);
  return (fclose(file) != 0) | (written != size);
}

/* OTHER reads its weights from a file: each way the file can be wrong, then the right one. */
static void test_weights_file(const char *weights_path) {
  FILE *file = fopen(weights_path, "rb");
  CHECK(file != NULL);
  if (!file) return;
  fseek(file, 0, SEEK_END);
  size_t size = (size_t)ftell(file);
  fseek(file, 0, SEEK_SET);
  unsigned char *bytes = malloc(size + 1);
  CHECK(fread(bytes, 1, size, file) == size);
  fclose(file);
  char shorter[4096], longer[4096], corrupt[4096];
  snprintf(shorter, sizeof shorter, "%s.short", weights_path);
  snprintf(longer, sizeof longer, "%s.long", weights_path);
  snprintf(corrupt, sizeof corrupt, "%s.corrupt", weights_path);
  CHECK(write_bytes(shorter, bytes, size - 1) == 0);
  bytes[size] = 0;
  CHECK(write_bytes(longer, bytes, size + 1) == 0);
  bytes[size / 2] ^= 0x10;
  CHECK(write_bytes(corrupt, bytes, size) == 0);
  free(bytes);

  OTHER_API(options) options;
  OTHER_API(ctx) *ctx = (OTHER_API(ctx) *)&ctx;
  OTHER_API(default_options)(&options);
  struct {
    const char *path;
    int status;
    const char *fragment;
  } cases[] = {
      {NULL, OTHER_MACRO(ERROR_NULL_ARGUMENT), "weights_path is NULL"},
      {"/nonexistent/dir/w.weights", OTHER_MACRO(ERROR_WEIGHTS), "cannot open '/nonexistent/dir/w.weights'"},
      {shorter, OTHER_MACRO(ERROR_WEIGHTS), "bytes, expected"},
      {longer, OTHER_MACRO(ERROR_WEIGHTS), "has more than"},
      {corrupt, OTHER_MACRO(ERROR_WEIGHTS), "another model or build"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; ++i) {
    options.weights_path = cases[i].path;
    int status = OTHER_API(create)(&ctx, &options);
    const char *text = OTHER_API(last_error)(NULL);
    ++checks;
    if (status != cases[i].status || ctx != NULL || !strstr(text, cases[i].fragment)) {
      ++failures;
      printf("FAIL weights case %zu: status %d '%s', expected %d with '%s'\n", i, status, text, cases[i].status,
             cases[i].fragment);
    }
  }
  options.weights_path = weights_path;
  CHECK(OTHER_API(create)(&ctx, &options) == OTHER_MACRO(OK));
  float *logits = malloc(out_count * sizeof(float));
  CHECK(OTHER_API(run)(ctx, input.data, in_count, logits, out_count) == OTHER_MACRO(OK));
  expect_logits("weights-file library", logits);
  OTHER_API(destroy)(ctx);
  free(logits);
  remove(shorter);
  remove(longer);
  remove(corrupt);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: api_test INPUT.npy REFERENCE.npy WEIGHTS_FILE\n");
    return 2;
  }
  if (npy_read(argv[1], &input) || npy_read(argv[2], &reference)) return 1;
  weights_file = argv[3];
  API(input_shape)(in_shape);
  API(output_shape)(out_shape);
  in_count = input.elements;
  out_count = reference.elements;
  pixels = (size_t)(out_shape[0] * out_shape[2] * out_shape[3]);
  if (reference.rank != 4 || reference.shape[1] != out_shape[1] || in_count != MACRO(INPUT_ELEMENTS)) {
    fprintf(stderr, "%s / %s do not have the shapes of the library\n", argv[1], argv[2]);
    return 1;
  }
  test_queries();
  test_create_arguments();
  test_run_arguments();
  test_bad_contexts();
  test_results();
  test_weights_file(argv[3]);
  printf("%d checks, %d failed\n", checks, failures);
  npy_free(&input);
  npy_free(&reference);
  return failures != 0;
}
