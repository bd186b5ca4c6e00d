/*===- bisc_runtime.h - What generated code and the runtime share --------===*
 *
 * Compiled into every generated library with -DBISC_NAME=<model>, so two models linked into
 * one app never clash: every symbol is prefixed with the model name. Generated code (the
 * LLVM module) defines the BISC_SYM(graph_*) symbols; the runtime defines the rest.
 *===----------------------------------------------------------------------===*/
#ifndef BISC_RUNTIME_H
#define BISC_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifndef BISC_NAME
#error "compile the runtime with -DBISC_NAME=<model name>"
#endif

#define BISC_CAT2(a, b) a##_##b
#define BISC_CAT(a, b) BISC_CAT2(a, b)
#define BISC_SYM(x) BISC_CAT(BISC_NAME, x)
#define BISC_STRING2(x) #x
#define BISC_TO_STRING(x) BISC_STRING2(x)

/* The library is built with -fvisibility=hidden; only the model API is exported. */
#define BISC_API __attribute__((visibility("default")))

/* The frame every kernel receives: base pointers, indexed by these slots. */
enum {
  BISC_FRAME_ARENA = 0,
  BISC_FRAME_WEIGHTS = 1,
  BISC_FRAME_INPUT = 2,
  BISC_FRAME_OUTPUT = 3, /* logits */
  BISC_FRAME_LABELS = 4, /* u8 labels, run_labels only */
  BISC_FRAME_SLOTS = 5
};

/* A kernel runs iterations [begin, end) of its parallel axis. */
typedef void (*bisc_kernel_fn)(void **frame, int64_t begin, int64_t end);

typedef struct bisc_pool bisc_pool;

/* Thread pool: `threads` - 1 workers plus the calling thread; 1 spawns none. */
int BISC_SYM(rt_pool_create)(bisc_pool **pool, int threads);
void BISC_SYM(rt_pool_destroy)(bisc_pool *pool);
/* Called by generated code: runs [0, count) as contiguous chunks that the threads take from a
 * shared counter until none is left (each chunk one kernel call with its [begin, end)).
 * `kernel_index` is the kernel's row in the graph_kernel_* tables (the profile's key). */
void BISC_SYM(rt_parallel_for)(bisc_pool *pool, bisc_kernel_fn kernel, void **frame, int64_t count,
                               int64_t kernel_index);
/* Profiling (BISC_PROFILE): with `seconds` non-NULL, every parallel_for adds its wall time to
 * seconds[kernel_index]; NULL (the default) turns it off. */
void BISC_SYM(rt_pool_profile)(bisc_pool *pool, double *seconds);

/* Defined by generated code. */
extern void BISC_SYM(graph_run)(void **frame, bisc_pool *pool);
/* The whole network to u8 labels: graph_run's kernels and the labels kernel, or, when
 * graph_labels_replace_last is 1, all but the last and the labels kernel in its place (the
 * last node with the arg-max fused in, which never writes the logits). */
extern void BISC_SYM(graph_labels)(void **frame, bisc_pool *pool);
extern const int64_t BISC_SYM(graph_arena_bytes);
extern const int64_t BISC_SYM(graph_logits_offset); /* arena scratch for run_labels' logits */
extern const int64_t BISC_SYM(graph_weights_bytes);
extern const uint64_t BISC_SYM(graph_weights_checksum);
extern const int64_t BISC_SYM(graph_input_shape)[4];
extern const int64_t BISC_SYM(graph_output_shape)[4];
extern const unsigned char *const BISC_SYM(graph_embedded_weights); /* NULL with a side file */
/* One row per kernel of graph_run (kernel_index 0 .. count-1) plus the labels kernel of
 * graph_labels (row `count`): its symbol, the graph node it computes, its emitter family and
 * the multiply-accumulates of its node's convolution (0 on the node's other kernels). */
extern const int64_t BISC_SYM(graph_kernel_count);
extern const char *const BISC_SYM(graph_kernel_symbols)[];
extern const char *const BISC_SYM(graph_kernel_nodes)[];
extern const char *const BISC_SYM(graph_kernel_families)[];
extern const int64_t BISC_SYM(graph_kernel_macs)[];
/* Bytes each kernel's node reads and writes (operands and result once each; 0: unknown). */
extern const int64_t BISC_SYM(graph_kernel_bytes)[];
extern const int64_t BISC_SYM(graph_labels_replace_last);

#endif
