/*===- model_api.c - The public API of a generated library ---------------===*
 *
 * Compiled with -DBISC_NAME=<name> -DBISC_HEADER='"<name>.h"' next to the generated header.
 * Validates every argument, owns the arena and the thread pool, and calls the generated
 * graph entry points. Status values are written as numbers because their macro names are
 * upper-case forms of the model name, which the preprocessor cannot derive.
 *
 * Contexts are recognised through a registry of live pointers rather than a field inside
 * them, so a destroyed context, a context of another model or a stray pointer is rejected
 * without being dereferenced.
 *
 * BISC_PROFILE=1 in the environment at create time turns on the per-kernel profile: every
 * run then prints to stderr a table of the kernels that call ran: each one's average time over
 * the context's calls that ran it, its share of the call, its GFLOP/s (conv MACs x 2 / time),
 * the megabytes its node reads and writes and the GB/s that makes (compare with
 * bench/bandwidth.c to see how close a memory-bound kernel is to its bound). The first run
 * pays for page faults and cold caches: its table shows it alone, later ones leave it out.
 *===----------------------------------------------------------------------===*/
#include "bisc_runtime.h"

#include BISC_HEADER

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef BISC_SYM(status) status_t;
typedef BISC_SYM(options) options_t;
typedef BISC_SYM(ctx) ctx_t;

enum { OK = 0, NULL_ARGUMENT, BAD_SIZE, BAD_CONTEXT, OUT_OF_MEMORY, THREADS, WEIGHTS, ALIGNMENT, OVERLAP };
enum { MAX_THREADS = 256, ERROR_CHARS = 320 };

struct BISC_SYM(ctx) {
  ctx_t *next_live;
  bisc_pool *pool;
  unsigned char *arena;
  int owns_arena;
  unsigned char *weights; /* read from a side file, or NULL when embedded */
  double *profile_seconds; /* per kernel, summed over runs; NULL when not profiling */
  int64_t profile_runs, profile_label_runs; /* run / run_labels calls in the averages (not the first) */
  int64_t runs;                             /* all runs, the first included */
  char error[ERROR_CHARS];
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
    "input, output and workspace must not overlap",
};

/* ---- errors: per context, and per thread for calls without a live context ---- */

static _Thread_local char thread_error[ERROR_CHARS];

static status_t fail(ctx_t *ctx, int status, const char *format, ...) {
  char *text = ctx ? ctx->error : thread_error;
  int prefix = snprintf(text, ERROR_CHARS, "%s: ", kStatusText[status]);
  va_list args;
  va_start(args, format);
  if (prefix > 0 && prefix < ERROR_CHARS) vsnprintf(text + prefix, (size_t)(ERROR_CHARS - prefix), format, args);
  va_end(args);
  return (status_t)status;
}

/* ---- the registry of live contexts ---- */

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static ctx_t *live_contexts;

static void register_live(ctx_t *ctx) {
  pthread_mutex_lock(&live_lock);
  ctx->next_live = live_contexts;
  live_contexts = ctx;
  pthread_mutex_unlock(&live_lock);
}

/* Removes `ctx` if it is live; returns whether it was. */
static int unregister_live(const ctx_t *ctx) {
  int found = 0;
  pthread_mutex_lock(&live_lock);
  for (ctx_t **link = &live_contexts; *link; link = &(*link)->next_live)
    if (*link == ctx) {
      *link = ctx->next_live;
      found = 1;
      break;
    }
  pthread_mutex_unlock(&live_lock);
  return found;
}

static int live(const ctx_t *ctx) {
  int found = 0;
  pthread_mutex_lock(&live_lock);
  for (const ctx_t *at = live_contexts; at && !found; at = at->next_live) found = at == ctx;
  pthread_mutex_unlock(&live_lock);
  return found;
}

static status_t not_live(const ctx_t *ctx) {
  if (!ctx) return fail(NULL, NULL_ARGUMENT, "ctx is NULL");
  return fail(NULL, BAD_CONTEXT, "ctx %p was never returned by %s_create, or was destroyed", (const void *)ctx,
              BISC_TO_STRING(BISC_NAME));
}

/* ---- queries ---- */

static size_t elements(const int64_t *shape) { return (size_t)(shape[0] * shape[1] * shape[2] * shape[3]); }
static size_t label_elements(const int64_t *shape) { return (size_t)(shape[0] * shape[2] * shape[3]); }

BISC_API status_t BISC_SYM(default_options)(options_t *options) {
  if (!options) return fail(NULL, NULL_ARGUMENT, "options is NULL");
  memset(options, 0, sizeof *options);
  options->num_threads = 1;
  return (status_t)OK;
}

BISC_API size_t BISC_SYM(workspace_bytes)(void) { return (size_t)BISC_SYM(graph_arena_bytes); }

static status_t shape_out(int64_t shape[4], const int64_t *from) {
  if (!shape) return fail(NULL, NULL_ARGUMENT, "shape is NULL");
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
  if (!ctx) return thread_error;
  if (!live(ctx)) return kStatusText[BAD_CONTEXT];
  return ctx->error;
}

/* ---- create and destroy ---- */

/* FNV-1a, to tell a weights file of another model or build from ours. */
static uint64_t checksum(const unsigned char *data, size_t size) {
  uint64_t hash = 1469598103934665603u;
  for (size_t i = 0; i < size; ++i) hash = (hash ^ data[i]) * 1099511628211u;
  return hash;
}

static status_t load_weights(ctx_t *ctx, const char *path) {
  size_t size = (size_t)BISC_SYM(graph_weights_bytes);
  if (!path)
    return fail(ctx, NULL_ARGUMENT, "options.weights_path is NULL, but this library reads its weights from a file");
  FILE *file = fopen(path, "rb");
  if (!file) return fail(ctx, WEIGHTS, "cannot open '%s'", path);
  ctx->weights = aligned_alloc(64, (size + 63) / 64 * 64 + 64);
  size_t got = ctx->weights ? fread(ctx->weights, 1, size, file) : 0;
  int longer = ctx->weights && fgetc(file) != EOF;
  fclose(file);
  if (!ctx->weights) return fail(ctx, OUT_OF_MEMORY, "%zu bytes of weights", size);
  if (got != size || longer)
    return fail(ctx, WEIGHTS, "'%s' has %s%zu bytes, expected %zu", path, longer ? "more than " : "", got, size);
  if (checksum(ctx->weights, size) != BISC_SYM(graph_weights_checksum))
    return fail(ctx, WEIGHTS, "'%s' belongs to another model or build (checksum differs)", path);
  return (status_t)OK;
}

static status_t setup_arena(ctx_t *ctx, const options_t *options) {
  size_t arena = BISC_SYM(workspace_bytes)();
  if (!options->workspace) {
    if (options->workspace_bytes)
      return fail(ctx, NULL_ARGUMENT, "options.workspace is NULL but options.workspace_bytes is %zu",
                  options->workspace_bytes);
    ctx->arena = aligned_alloc(64, (arena + 63) / 64 * 64 + 64);
    if (!ctx->arena) return fail(ctx, OUT_OF_MEMORY, "arena of %zu bytes", arena);
    ctx->owns_arena = 1;
    return (status_t)OK;
  }
  if (options->workspace_bytes < arena)
    return fail(ctx, BAD_SIZE, "options.workspace_bytes is %zu, workspace_bytes() is %zu", options->workspace_bytes,
                arena);
  if ((uintptr_t)options->workspace % 64)
    return fail(ctx, ALIGNMENT, "options.workspace %p is not a multiple of 64", options->workspace);
  ctx->arena = options->workspace;
  return (status_t)OK;
}

/* ---- the per-kernel profile (BISC_PROFILE) ---- */

static int profiling_requested(void) {
  const char *value = getenv("BISC_PROFILE");
  return value && value[0] && strcmp(value, "0") != 0;
}

static status_t setup_profile(ctx_t *ctx) {
  if (!profiling_requested()) return (status_t)OK;
  size_t rows = (size_t)BISC_SYM(graph_kernel_count) + 1; /* + the labels kernel */
  ctx->profile_seconds = calloc(rows, sizeof(double));
  if (!ctx->profile_seconds) return fail(ctx, OUT_OF_MEMORY, "profile of %zu kernels", rows);
  BISC_SYM(rt_pool_profile)(ctx->pool, ctx->profile_seconds);
  return (status_t)OK;
}

/* Whether profile row `row` is one run_labels runs (all but a last kernel it replaces). */
static int row_in_labels(int64_t row) {
  int64_t count = BISC_SYM(graph_kernel_count);
  return row == count || row < count - BISC_SYM(graph_labels_replace_last);
}

/* The calls in the averages that ran row `row`'s kernel. */
static int64_t row_runs(const ctx_t *ctx, int64_t row) {
  int64_t runs = row < BISC_SYM(graph_kernel_count) ? ctx->profile_runs : 0;
  return runs + (row_in_labels(row) ? ctx->profile_label_runs : 0);
}

static double row_ms(const ctx_t *ctx, int64_t row) {
  int64_t runs = row_runs(ctx, row);
  return runs ? 1e3 * ctx->profile_seconds[row] / (double)runs : 0.0;
}

/* One table row: average milliseconds, share of the call, the node's conv MACs and GFLOP/s
 * (MACs x 2 / time), its megabytes read + written and GB/s; "-" where a figure is unknown. */
static void print_profile_row(const char *index, const char *symbol, const char *node, const char *family,
                              double ms, double total_ms, int64_t macs, int64_t bytes) {
  char rate[32] = "-", megabytes[32] = "-", bandwidth[32] = "-";
  if (macs > 0 && ms > 0) snprintf(rate, sizeof rate, "%.2f", 2.0 * (double)macs / (ms * 1e6));
  if (bytes > 0) snprintf(megabytes, sizeof megabytes, "%.3f", (double)bytes * 1e-6);
  if (bytes > 0 && ms > 0) snprintf(bandwidth, sizeof bandwidth, "%.2f", (double)bytes * 1e-6 / ms);
  fprintf(stderr, "%5s  %-34s %-30s %-16s %11.4f %6.2f%% %13lld %9s %10s %7s\n", index, symbol, node, family, ms,
          total_ms > 0 ? 100.0 * ms / total_ms : 0.0, (long long)macs, rate, megabytes, bandwidth);
}

/* The table after a call: graph_run's kernels, or graph_labels' after run_labels. */
static void print_profile(const ctx_t *ctx, int with_labels) {
  int64_t count = BISC_SYM(graph_kernel_count), shown = 0;
  double total_ms = 0;
  int64_t total_macs = 0, total_bytes = 0;
  for (int64_t i = 0; i <= count; ++i) {
    if (with_labels ? !row_in_labels(i) : i == count) continue;
    shown++;
    total_ms += row_ms(ctx, i);
    total_macs += BISC_SYM(graph_kernel_macs)[i];
    total_bytes += BISC_SYM(graph_kernel_bytes)[i];
  }
  fprintf(stderr, "bisc profile: %s, %lld kernels, run %lld, average of runs %lld..%lld\n", BISC_TO_STRING(BISC_NAME),
          (long long)shown, (long long)ctx->runs, (long long)(ctx->runs == 1 ? 1 : 2), (long long)ctx->runs);
  fprintf(stderr, "%5s  %-34s %-30s %-16s %11s %7s %13s %9s %10s %7s\n", "#", "kernel", "node", "family", "ms", "share",
          "MACs", "GFLOP/s", "MB", "GB/s");
  int64_t row = 0;
  for (int64_t i = 0; i <= count; ++i) {
    if (with_labels ? !row_in_labels(i) : i == count) continue;
    char index[24];
    snprintf(index, sizeof index, "%lld", (long long)row++);
    print_profile_row(index, BISC_SYM(graph_kernel_symbols)[i], BISC_SYM(graph_kernel_nodes)[i],
                      BISC_SYM(graph_kernel_families)[i], row_ms(ctx, i), total_ms, BISC_SYM(graph_kernel_macs)[i],
                      BISC_SYM(graph_kernel_bytes)[i]);
  }
  print_profile_row("total", "", "", "", total_ms, total_ms, total_macs, total_bytes);
}

/* Counts a finished call, prints the table, and after the first call starts the averages anew. */
static void profile_run_done(ctx_t *ctx, int with_labels) {
  ctx->runs++;
  ctx->profile_runs += !with_labels;
  ctx->profile_label_runs += with_labels;
  print_profile(ctx, with_labels);
  if (ctx->runs == 1) {
    memset(ctx->profile_seconds, 0, (size_t)(BISC_SYM(graph_kernel_count) + 1) * sizeof(double));
    ctx->profile_runs = ctx->profile_label_runs = 0;
  }
}

static status_t setup(ctx_t *ctx, const options_t *options) {
  if (options->num_threads < 1 || options->num_threads > MAX_THREADS)
    return fail(ctx, THREADS, "options.num_threads is %d, must be in 1..%d", options->num_threads, MAX_THREADS);
  status_t status = setup_arena(ctx, options);
  if (status != OK) return status;
  if (!BISC_SYM(graph_embedded_weights)) {
    status = load_weights(ctx, options->weights_path);
    if (status != OK) return status;
  }
  if (!BISC_SYM(rt_pool_create)(&ctx->pool, options->num_threads))
    return fail(ctx, THREADS, "could not start %d worker threads", options->num_threads - 1);
  return setup_profile(ctx);
}

static void release(ctx_t *ctx) {
  if (ctx->pool) BISC_SYM(rt_pool_destroy)(ctx->pool);
  if (ctx->owns_arena) free(ctx->arena);
  free(ctx->weights);
  free(ctx->profile_seconds);
  free(ctx);
}

BISC_API status_t BISC_SYM(create)(ctx_t **out, const options_t *options) {
  if (!out) return fail(NULL, NULL_ARGUMENT, "ctx (the address to store the context at) is NULL");
  *out = NULL;
  options_t defaults;
  BISC_SYM(default_options)(&defaults);
  ctx_t *ctx = calloc(1, sizeof *ctx);
  if (!ctx) return fail(NULL, OUT_OF_MEMORY, "context");
  status_t status = setup(ctx, options ? options : &defaults);
  if (status != OK) {
    /* The context dies with its error text: keep the text for last_error(NULL). */
    memcpy(thread_error, ctx->error, ERROR_CHARS);
    release(ctx);
    return status;
  }
  register_live(ctx);
  *out = ctx;
  return (status_t)OK;
}

BISC_API void BISC_SYM(destroy)(ctx_t *ctx) {
  if (!ctx) return;
  if (!unregister_live(ctx)) {
    not_live(ctx);
    return;
  }
  release(ctx);
}

/* ---- run ---- */

static int overlaps(const void *a, size_t a_bytes, const void *b, size_t b_bytes) {
  uintptr_t a0 = (uintptr_t)a, b0 = (uintptr_t)b;
  return a0 < b0 + b_bytes && b0 < a0 + a_bytes;
}

static status_t check_run(ctx_t *ctx, const void *input, size_t input_elements, const void *output,
                          size_t output_elements, size_t expected_output, size_t output_element_bytes,
                          const char *output_name) {
  if (!live(ctx)) return not_live(ctx);
  if (!input) return fail(ctx, NULL_ARGUMENT, "input is NULL");
  if (!output) return fail(ctx, NULL_ARGUMENT, "%s is NULL", output_name);
  size_t expected_input = elements(BISC_SYM(graph_input_shape));
  if (input_elements != expected_input)
    return fail(ctx, BAD_SIZE, "input_elements is %zu, the model takes %zu", input_elements, expected_input);
  if (output_elements != expected_output)
    return fail(ctx, BAD_SIZE, "%s_elements is %zu, the model gives %zu", output_name, output_elements,
                expected_output);
  size_t input_bytes = input_elements * sizeof(float), output_bytes = output_elements * output_element_bytes;
  size_t arena_bytes = BISC_SYM(workspace_bytes)();
  if (overlaps(input, input_bytes, output, output_bytes)) return fail(ctx, OVERLAP, "input and %s", output_name);
  if (overlaps(input, input_bytes, ctx->arena, arena_bytes)) return fail(ctx, OVERLAP, "input and the workspace");
  if (overlaps(output, output_bytes, ctx->arena, arena_bytes))
    return fail(ctx, OVERLAP, "%s and the workspace", output_name);
  ctx->error[0] = '\0';
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
  status_t status = check_run(ctx, input, input_elements, logits, logits_elements,
                              elements(BISC_SYM(graph_output_shape)), sizeof(float), "logits");
  if (status != OK) return status;
  void *frame[BISC_FRAME_SLOTS];
  fill_frame(ctx, frame, input, logits);
  BISC_SYM(graph_run)(frame, ctx->pool);
  if (ctx->profile_seconds) profile_run_done(ctx, 0);
  return (status_t)OK;
}

BISC_API status_t BISC_SYM(run_labels)(ctx_t *ctx, const float *input, size_t input_elements, uint8_t *labels,
                                       size_t labels_elements) {
  status_t status = check_run(ctx, input, input_elements, labels, labels_elements,
                              label_elements(BISC_SYM(graph_output_shape)), 1, "labels");
  if (status != OK) return status;
  void *frame[BISC_FRAME_SLOTS];
  /* The logits go to arena scratch, or nowhere when the fused last kernel writes only labels. */
  void *logits = BISC_SYM(graph_labels_replace_last) ? NULL : ctx->arena + BISC_SYM(graph_logits_offset);
  fill_frame(ctx, frame, input, logits);
  frame[BISC_FRAME_LABELS] = labels;
  BISC_SYM(graph_labels)(frame, ctx->pool);
  if (ctx->profile_seconds) profile_run_done(ctx, 1);
  return (status_t)OK;
}
