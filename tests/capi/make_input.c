/*===- make_input.c - A deterministic input image for the C API tests ----===*
 *
 *   make_input OUT.npy NxCxHxW SEED
 *
 * Writes values in [-2, 2] (the range of an ImageNet-normalised image) from a hash of the
 * element index and the seed, so the compiled library and `bisc run` see the same input.
 *===----------------------------------------------------------------------===*/
#include "npy_io.h"

static float hash_to_range(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return (float)((double)x / 4294967295.0 * 4.0 - 2.0);
}

int main(int argc, char **argv) {
  int64_t shape[4];
  unsigned seed;
  if (argc != 4 || sscanf(argv[2], "%lldx%lldx%lldx%lld", (long long *)&shape[0], (long long *)&shape[1],
                          (long long *)&shape[2], (long long *)&shape[3]) != 4 ||
      sscanf(argv[3], "%u", &seed) != 1) {
    fprintf(stderr, "usage: make_input OUT.npy NxCxHxW SEED\n");
    return 2;
  }
  size_t elements = (size_t)(shape[0] * shape[1] * shape[2] * shape[3]);
  float *data = malloc(elements * sizeof(float));
  if (!data) return 1;
  for (size_t i = 0; i < elements; ++i) data[i] = hash_to_range((uint32_t)i * 2654435761u + seed * 40503u);
  int status = npy_write(argv[1], data, 4, shape);
  free(data);
  return status;
}
