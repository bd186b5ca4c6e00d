/*===- npy_io.h - Just enough NumPy .npy for the C test apps -------------===*
 *
 * f32, little-endian, C order, up to 4 dimensions: what `bisc run` writes and reads.
 * Header-only (static functions) so each test app is one translation unit plus this.
 *===----------------------------------------------------------------------===*/
#ifndef BISC_TESTS_NPY_IO_H
#define BISC_TESTS_NPY_IO_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  int rank;
  int64_t shape[4];
  size_t elements;
  float *data; /* malloc'ed */
} npy_array;

static inline void npy_free(npy_array *array) {
  free(array->data);
  array->data = NULL;
}

/* Returns 0 on success; prints why to stderr otherwise. */
static inline int npy_read(const char *path, npy_array *out) {
  memset(out, 0, sizeof *out);
  FILE *file = fopen(path, "rb");
  if (!file) return fprintf(stderr, "%s: cannot open\n", path), 1;
  unsigned char magic[10];
  if (fread(magic, 1, 10, file) != 10 || memcmp(magic, "\x93NUMPY", 6) != 0 || magic[6] != 1) {
    fclose(file);
    return fprintf(stderr, "%s: not a version 1 .npy file\n", path), 1;
  }
  size_t header_size = (size_t)magic[8] | (size_t)magic[9] << 8;
  char *header = calloc(1, header_size + 1);
  int ok = header && fread(header, 1, header_size, file) == header_size;
  const char *shape = ok ? strstr(header, "'shape': (") : NULL;
  if (!ok || !strstr(header, "'descr': '<f4'") || !strstr(header, "'fortran_order': False") || !shape) {
    fprintf(stderr, "%s: expected a little-endian f32 array in C order\n", path);
    free(header);
    fclose(file);
    return 1;
  }
  out->elements = 1;
  for (const char *at = shape + strlen("'shape': ("); *at && *at != ')';) {
    char *end;
    long long dim = strtoll(at, &end, 10);
    if (end == at) break;
    if (out->rank == 4) {
      fprintf(stderr, "%s: more than 4 dimensions\n", path);
      free(header);
      fclose(file);
      return 1;
    }
    out->shape[out->rank++] = dim;
    out->elements *= (size_t)dim;
    at = end;
    while (*at == ',' || *at == ' ') ++at;
  }
  free(header);
  out->data = malloc(out->elements * sizeof(float) + 1);
  ok = out->data && fread(out->data, sizeof(float), out->elements, file) == out->elements;
  fclose(file);
  if (!ok) {
    npy_free(out);
    return fprintf(stderr, "%s: data shorter than its shape\n", path), 1;
  }
  return 0;
}

static inline int npy_write(const char *path, const float *data, int rank, const int64_t *shape) {
  char dict[128], dims[96] = "";
  size_t elements = 1;
  for (int i = 0; i < rank; ++i) {
    size_t used = strlen(dims);
    snprintf(dims + used, sizeof dims - used, "%lld%s", (long long)shape[i], rank == 1 ? "," : i + 1 < rank ? ", " : "");
    elements *= (size_t)shape[i];
  }
  int length = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", dims);
  /* Pad with spaces so that data starts at a multiple of 64 bytes; the header ends in '\n'. */
  size_t header_size = (10 + (size_t)length + 1 + 63) / 64 * 64 - 10;
  FILE *file = fopen(path, "wb");
  if (!file) return fprintf(stderr, "%s: cannot write\n", path), 1;
  unsigned char magic[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(header_size & 0xff),
                             (unsigned char)(header_size >> 8)};
  fwrite(magic, 1, 10, file);
  fwrite(dict, 1, (size_t)length, file);
  for (size_t i = (size_t)length; i + 1 < header_size; ++i) fputc(' ', file);
  fputc('\n', file);
  size_t written = fwrite(data, sizeof(float), elements, file);
  int closed = fclose(file);
  if (written != elements || closed != 0) return fprintf(stderr, "%s: write failed\n", path), 1;
  return 0;
}

#endif
