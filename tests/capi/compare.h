/*===- compare.h - Logits against the reference interpreter --------------===*/
#ifndef BISC_TESTS_COMPARE_H
#define BISC_TESTS_COMPARE_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
  double max_diff, max_reference, ratio;
  double argmax_agreement; /* fraction of pixels whose arg-max class agrees */
  int ok;
} comparison;

/* The project tolerance: max|got - ref| <= 1e-4 * max|ref|, and >= 99.9% identical arg-max.
 * Logits are N x C x H x W; arg-max is over C. */
static inline comparison compare_logits(const float *got, const float *ref, const int64_t shape[4]) {
  comparison result = {0, 0, 0, 0, 0};
  size_t plane = (size_t)(shape[2] * shape[3]), classes = (size_t)shape[1];
  size_t total = (size_t)shape[0] * classes * plane, agree = 0, pixels = (size_t)shape[0] * plane;
  int finite = 1;
  for (size_t i = 0; i < total; ++i) {
    finite &= isfinite(got[i]) != 0;
    double diff = fabs((double)got[i] - (double)ref[i]);
    if (diff > result.max_diff || diff != diff) result.max_diff = diff;
    if (fabs((double)ref[i]) > result.max_reference) result.max_reference = fabs((double)ref[i]);
  }
  for (size_t n = 0; n < (size_t)shape[0]; ++n)
    for (size_t p = 0; p < plane; ++p) {
      const float *g = got + n * classes * plane + p, *r = ref + n * classes * plane + p;
      size_t best_g = 0, best_r = 0;
      for (size_t c = 1; c < classes; ++c) {
        if (g[c * plane] > g[best_g * plane]) best_g = c;
        if (r[c * plane] > r[best_r * plane]) best_r = c;
      }
      agree += best_g == best_r;
    }
  result.ratio = result.max_reference > 0 ? result.max_diff / result.max_reference : result.max_diff;
  result.argmax_agreement = pixels ? (double)agree / (double)pixels : 1.0;
  result.ok = finite && result.max_reference > 0 && result.ratio <= 1e-4 && result.argmax_agreement >= 0.999;
  return result;
}

static inline void print_comparison(const char *what, comparison c) {
  printf("%s: max|diff| %.3g, max|ref| %.4g, ratio %.3g (limit 1e-4), argmax agreement %.5f%s\n", what, c.max_diff,
         c.max_reference, c.ratio, c.argmax_agreement, c.ok ? "" : "  <-- FAIL");
}

#endif
