/*===- model_api.c - The public API of a generated library ---------------===*
 *
 * Compiled with -DBISC_NAME=<name> -DBISC_HEADER='"<name>.h"' next to the generated header.
 * Validates every argument, owns the arena and the thread pool, and calls the generated
 * graph entry points. Status values are written as numbers because their macro names are
 * upper-case forms of the model name, which the preprocessor cannot derive.
 *===----------------------------------------------------------------------===*/
#include "bisc_runtime.h"

#include BISC_HEADER

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef BISC_SYM(status) status_t;
typedef BISC_SYM(options) options_t;
typedef BISC_SYM(ctx) ctx_t;

enum { OK = 0, NULL_ARGUMENT, BAD_SIZE, BAD_CONTEXT, OUT_OF_MEMORY, THREADS, WEIGHTS, ALIGNMENT };
enum { MAX_THREADS = 256 };
static const uint64_t kLiveMagic = 0x62697363u; /* "bisc" */

struct BISC_SYM(ctx) {
  uint64_t magic;
  bisc_pool *pool;
  unsigned char *arena;
  int owns_arena;
  unsigned char *weights; /* read from a side file, or NULL when embedded */
  char error[256];
};

static const char *const kStatusText[] = {
    "ok",
    "a required pointer argument is NULL",
    "an element count or workspace size does not match the model",
    "not a live context of this model",
    "out of memory",
    "thread count out of range, or threads could not be started",
    "weights file missing, short, or of another model",
    "caller workspace is not 64-byte aligned",
};

static status_t fail(ctx_t *ctx, int status, const char *detail) {
  if (ctx) snprintf(ctx->error, sizeof ctx->error, "%s: %s", kStatusText[status], detail);
  return (status_t)status;
}

static int live(const ctx_t *ctx) { return ctx && ctx->magic == kLiveMagic; }

static int64_t elements(const int64_t *shape) { return shape[0] * shape[1] * shape[2] * shape[3]; }

BISC_API status_t BISC_SYM(default_options)(options_t *options) {
  if (!options) return (status_t)NULL_ARGUMENT;
  memset(options, 0, sizeof *options);
  options->num_threads = 1;
  return (status_t)OK;
}

BISC_API size_t BISC_SYM(workspace_bytes)(void) { return (size_t)BISC_SYM(graph_arena_bytes); }

static status_t shape_out(int64_t shape[4], const int64_t *from) {
  if (!shape) return (status_t)NULL_ARGUMENT;
  memcpy(shape, from, 4 * sizeof(int64_t));
  return (status_t)OK;
}

BISC_API status_t BISC_SYM(input_shape)(int64_t shape[4]) { return shape_out(shape, BISC_SYM(graph_input_shape)); }
BISC_API status_t BISC_SYM(output_shape)(int64_t shape[4]) { return shape_out(shape, BISC_SYM(graph_output_shape)); }

BISC_API const char *BISC_SYM(status_text)(status_t status) {
  unsigned index = (unsigned)status;
  return index < sizeof kStatusText / sizeof *kStatusText ? kStatusText[index] : "unknown status";
}

BISC_API const char *BISC_SYM(last_error)(const ctx_t *ctx) {
  if (!live(ctx)) return kStatusText[BAD_CONTEXT];
  return ctx->error;
}

/* FNV-1a, to tell a weights file of another model or build from ours. */
static uint64_t checksum(const unsigned char *data, size_t size) {
  uint64_t hash = 1469598103934665603u;
  for (size_t i = 0; i < size; ++i) hash = (hash ^ data[i]) * 1099511628211u;
  return hash;
}

static status_t load_weights(ctx_t *ctx, const char *path) {
  size_t size = (size_t)BISC_SYM(graph_weights_bytes);
  if (!path) return fail(ctx, WEIGHTS, "this library reads its weights from a file: set options.weights_path");
  FILE *file = fopen(path, "rb");
  if (!file) return fail(ctx, WEIGHTS, "cannot open options.weights_path");
  ctx->weights = aligned_alloc(64, (size + 63) / 64 * 64 + 64);
  int ok = ctx->weights && fread(ctx->weights, 1, size, file) == size && fgetc(file) == EOF;
  fclose(file);
  if (!ctx->weights) return fail(ctx, OUT_OF_MEMORY, "weights");
  if (!ok) return fail(ctx, WEIGHTS, "the weights file has the wrong size");
  if (checksum(ctx->weights, size) != BISC_SYM(graph_weights_checksum))
    return fail(ctx, WEIGHTS, "the weights file belongs to another model or build");
  return (status_t)OK;
}

static status_t setup(ctx_t *ctx, const options_t *options) {
  size_t arena = BISC_SYM(workspace_bytes)();
  if (options->num_threads < 1 || options->num_threads > MAX_THREADS)
    return fail(ctx, THREADS, "options.num_threads must be in 1..256");
  if (options->workspace) {
    if (options->workspace_bytes < arena) return fail(ctx, BAD_SIZE, "options.workspace_bytes is smaller than workspace_bytes()");
    if ((uintptr_t)options->workspace % 64) return fail(ctx, ALIGNMENT, "options.workspace");
    ctx->arena = options->workspace;
  } else {
    ctx->arena = aligned_alloc(64, (arena + 63) / 64 * 64 + 64);
    if (!ctx->arena) return fail(ctx, OUT_OF_MEMORY, "arena");
    ctx->owns_arena = 1;
  }
  if (!BISC_SYM(graph_embedded_weights)) {
    status_t status = load_weights(ctx, options->weights_path);
    if (status != OK) return status;
  }
  if (!BISC_SYM(rt_pool_create)(&ctx->pool, options->num_threads))
    return fail(ctx, THREADS, "could not start the worker threads");
  return (status_t)OK;
}

BISC_API status_t BISC_SYM(create)(ctx_t **out, const options_t *options) {
  if (!out) return (status_t)NULL_ARGUMENT;
  *out = NULL;
  options_t defaults;
  BISC_SYM(default_options)(&defaults);
  ctx_t *ctx = calloc(1, sizeof *ctx);
  if (!ctx) return (status_t)OUT_OF_MEMORY;
  ctx->magic = kLiveMagic;
  status_t status = setup(ctx, options ? options : &defaults);
  if (status != OK) {
    BISC_SYM(destroy)(ctx);
    return status;
  }
  *out = ctx;
  return (status_t)OK;
}

BISC_API void BISC_SYM(destroy)(ctx_t *ctx) {
  if (!live(ctx)) return;
  ctx->magic = 0;
  BISC_SYM(rt_pool_destroy)(ctx->pool);
  if (ctx->owns_arena) free(ctx->arena);
  free(ctx->weights);
  free(ctx);
}

static status_t check_run(ctx_t *ctx, const void *input, size_t input_elements, const void *output,
                          size_t output_elements, size_t expected_output) {
  if (!live(ctx)) return (status_t)BAD_CONTEXT;
  if (!input || !output) return fail(ctx, NULL_ARGUMENT, input ? "output" : "input");
  if (input_elements != (size_t)elements(BISC_SYM(graph_input_shape)))
    return fail(ctx, BAD_SIZE, "input_elements differs from the model's input");
  if (output_elements != expected_output)
    return fail(ctx, BAD_SIZE, "output element count differs from the model's output");
  return (status_t)OK;
}

static void fill_frame(ctx_t *ctx, void **frame, const float *input, void *output) {
  frame[BISC_FRAME_ARENA] = ctx->arena;
  frame[BISC_FRAME_WEIGHTS] =
      BISC_SYM(graph_embedded_weights) ? (void *)BISC_SYM(graph_embedded_weights) : ctx->weights;
  frame[BISC_FRAME_INPUT] = (void *)input;
  frame[BISC_FRAME_OUTPUT] = output;
  frame[BISC_FRAME_LABELS] = NULL;
}

BISC_API status_t BISC_SYM(run)(ctx_t *ctx, const float *input, size_t input_elements, float *logits,
                       size_t logits_elements) {
  const int64_t *out = BISC_SYM(graph_output_shape);
  status_t status = check_run(ctx, input, input_elements, logits, logits_elements, (size_t)elements(out));
  if (status != OK) return status;
  void *frame[BISC_FRAME_SLOTS];
  fill_frame(ctx, frame, input, logits);
  BISC_SYM(graph_run)(frame, ctx->pool);
  return (status_t)OK;
}

BISC_API status_t BISC_SYM(run_labels)(ctx_t *ctx, const float *input, size_t input_elements, uint8_t *labels,
                              size_t labels_elements) {
  const int64_t *out = BISC_SYM(graph_output_shape);
  status_t status = check_run(ctx, input, input_elements, labels, labels_elements,
                              (size_t)(out[0] * out[2] * out[3]));
  if (status != OK) return status;
  void *frame[BISC_FRAME_SLOTS];
  fill_frame(ctx, frame, input, ctx->arena + BISC_SYM(graph_logits_offset));
  frame[BISC_FRAME_LABELS] = labels;
  BISC_SYM(graph_run)(frame, ctx->pool);
  BISC_SYM(graph_labels)(frame, ctx->pool);
  return (status_t)OK;
}
