/*===- segment.c - Segment an image with a bisc-compiled network ---------===*
 *
 *   segment IMAGE LABELS.png OVERLAY.png [--threads N] [--weights FILE]
 *
 * Reads IMAGE (PNG, JPEG or binary PPM/PGM), resizes it bilinearly to the network's input,
 * normalises it with the ImageNet mean/std, runs the network and writes, at the image's own
 * size, LABELS.png (one Cityscapes colour per class) and OVERLAY.png (the image beside the
 * image blended with the colours). --weights is the side file of a --weights-file library.
 * Plain C; it needs only the generated library and its header: -DMODEL=<name>
 * -DMODEL_HEADER='"<name>.h"'.
 *===----------------------------------------------------------------------===*/
#define _POSIX_C_SOURCE 200809L
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include MODEL_HEADER

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define API(x) CAT(MODEL, x)

typedef struct {
  int width, height;
  unsigned char *rgb; /* width * height * 3 */
} image;

/* Cityscapes' 19 training classes, in train-id order. */
static const unsigned char kPalette[19][3] = {
    {128, 64, 128}, {244, 35, 232}, {70, 70, 70},   {102, 102, 156}, {190, 153, 153}, {153, 153, 153}, {250, 170, 30},
    {220, 220, 0},  {107, 142, 35}, {152, 251, 152}, {70, 130, 180}, {220, 20, 60},   {255, 0, 0},     {0, 0, 142},
    {0, 0, 70},     {0, 60, 100},   {0, 80, 100},   {0, 0, 230},    {119, 11, 32}};
static const char *const kClassNames[19] = {
    "road",  "sidewalk", "building", "wall",   "fence", "pole",       "traffic light", "traffic sign", "vegetation", "terrain",
    "sky",   "person",   "rider",    "car",    "truck", "bus",        "train",         "motorcycle",   "bicycle"};

static const float kMean[3] = {0.485f, 0.456f, 0.406f};
static const float kStd[3] = {0.229f, 0.224f, 0.225f};

static void colour_of(int label, unsigned char out[3]) {
  if (label < 19) {
    memcpy(out, kPalette[label], 3);
    return;
  }
  unsigned hash = (unsigned)label * 2654435761u; /* models with more classes: stable colours */
  out[0] = (unsigned char)(hash >> 24), out[1] = (unsigned char)(hash >> 16), out[2] = (unsigned char)(hash >> 8);
}

/* Bilinear sample of channel c at (y, x) in source pixel coordinates, edges clamped. */
static float sample(const image *src, float y, float x, int c) {
  if (y < 0) y = 0;
  if (x < 0) x = 0;
  int y0 = (int)y, x0 = (int)x;
  if (y0 > src->height - 1) y0 = src->height - 1;
  if (x0 > src->width - 1) x0 = src->width - 1;
  int y1 = y0 + 1 < src->height ? y0 + 1 : y0, x1 = x0 + 1 < src->width ? x0 + 1 : x0;
  float fy = y - (float)y0, fx = x - (float)x0;
  if (fy > 1) fy = 1;
  if (fx > 1) fx = 1;
  const unsigned char *p = src->rgb;
  float top = p[(y0 * src->width + x0) * 3 + c] * (1 - fx) + p[(y0 * src->width + x1) * 3 + c] * fx;
  float bottom = p[(y1 * src->width + x0) * 3 + c] * (1 - fx) + p[(y1 * src->width + x1) * 3 + c] * fx;
  return top * (1 - fy) + bottom * fy;
}

/* The network input: bilinear resize (pixel centres aligned, as align_corners=False), then
 * (pixel / 255 - mean) / std, as N=1 x 3 x height x width floats. */
static float *make_input(const image *src, int height, int width) {
  float *input = malloc((size_t)3 * (size_t)height * (size_t)width * sizeof(float));
  if (!input) return NULL;
  float sy = (float)src->height / (float)height, sx = (float)src->width / (float)width;
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) {
        float value = sample(src, ((float)y + 0.5f) * sy - 0.5f, ((float)x + 0.5f) * sx - 0.5f, c);
        input[((size_t)c * (size_t)height + (size_t)y) * (size_t)width + (size_t)x] = (value / 255.0f - kMean[c]) / kStd[c];
      }
  return input;
}

/* Labels (height x width) to colours at the image's size, nearest neighbour. */
static unsigned char *colour_labels(const uint8_t *labels, int height, int width, const image *src) {
  unsigned char *rgb = malloc((size_t)src->width * (size_t)src->height * 3);
  if (!rgb) return NULL;
  for (int y = 0; y < src->height; ++y)
    for (int x = 0; x < src->width; ++x) {
      int ly = (int)(((long long)y * height) / src->height), lx = (int)(((long long)x * width) / src->width);
      colour_of(labels[ly * width + lx], rgb + ((size_t)y * (size_t)src->width + (size_t)x) * 3);
    }
  return rgb;
}

/* The image on the left, image and colours blended half and half on the right. */
static unsigned char *side_by_side(const image *src, const unsigned char *colours) {
  size_t row = (size_t)src->width * 3;
  unsigned char *out = malloc(row * 2 * (size_t)src->height);
  if (!out) return NULL;
  for (int y = 0; y < src->height; ++y) {
    const unsigned char *picture = src->rgb + (size_t)y * row, *colour = colours + (size_t)y * row;
    unsigned char *left = out + (size_t)y * row * 2, *right = left + row;
    memcpy(left, picture, row);
    for (size_t i = 0; i < row; ++i) right[i] = (unsigned char)((picture[i] + colour[i] + 1) / 2);
  }
  return out;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void print_histogram(const uint8_t *labels, size_t count) {
  size_t histogram[256] = {0};
  for (size_t i = 0; i < count; ++i) histogram[labels[i]]++;
  printf("classes:");
  for (int c = 0; c < 256; ++c)
    if (histogram[c]) printf(" %s %.1f%%", c < 19 ? kClassNames[c] : "class", 100.0 * (double)histogram[c] / (double)count);
  printf("\n");
}

static int usage(void) {
  fprintf(stderr, "usage: segment IMAGE LABELS.png OVERLAY.png [--threads N] [--weights FILE]\n");
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 4) return usage();
  API(options) options;
  API(default_options)(&options);
  const char *labels_path = argv[2], *overlay_path = argv[3];
  for (int i = 4; i < argc; ++i) {
    if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) options.num_threads = atoi(argv[++i]);
    else if (strcmp(argv[i], "--weights") == 0 && i + 1 < argc) options.weights_path = argv[++i];
    else return usage();
  }
  image src;
  int channels;
  src.rgb = stbi_load(argv[1], &src.width, &src.height, &channels, 3);
  if (!src.rgb) {
    fprintf(stderr, "segment: cannot read %s: %s\n", argv[1], stbi_failure_reason());
    return 1;
  }
  int64_t in_shape[4], out_shape[4];
  API(input_shape)(in_shape);
  API(output_shape)(out_shape);
  if (in_shape[0] != 1 || in_shape[1] != 3) {
    fprintf(stderr, "segment: the network takes %lld x %lld channels; this app feeds one RGB image\n",
            (long long)in_shape[0], (long long)in_shape[1]);
    return 1;
  }
  API(ctx) *ctx = NULL;
  if (API(create)(&ctx, &options) != 0) {
    fprintf(stderr, "segment: %s\n", API(last_error)(NULL));
    return 1;
  }
  int height = (int)in_shape[2], width = (int)in_shape[3], out_h = (int)out_shape[2], out_w = (int)out_shape[3];
  size_t pixels = (size_t)out_h * (size_t)out_w;
  float *input = make_input(&src, height, width);
  uint8_t *labels = malloc(pixels);
  if (!input || !labels) return fprintf(stderr, "segment: out of memory\n"), 1;
  double start = now_ms();
  int status = API(run_labels)(ctx, input, (size_t)3 * (size_t)height * (size_t)width, labels, pixels);
  double elapsed = now_ms() - start;
  if (status != 0) {
    fprintf(stderr, "segment: %s\n", API(last_error)(ctx));
    return 1;
  }
  printf("%s: %dx%d image, network %dx%d -> %dx%d, %d thread%s, %.1f ms\n", argv[1], src.width, src.height, width,
         height, out_w, out_h, options.num_threads, options.num_threads == 1 ? "" : "s", elapsed);
  print_histogram(labels, pixels);

  unsigned char *colours = colour_labels(labels, out_h, out_w, &src);
  unsigned char *overlay = colours ? side_by_side(&src, colours) : NULL;
  if (!overlay) return fprintf(stderr, "segment: out of memory\n"), 1;
  int ok = stbi_write_png(labels_path, src.width, src.height, 3, colours, src.width * 3) &&
           stbi_write_png(overlay_path, 2 * src.width, src.height, 3, overlay, 2 * src.width * 3);
  if (!ok) {
    fprintf(stderr, "segment: cannot write %s / %s\n", labels_path, overlay_path);
    return 1;
  }
  printf("wrote %s and %s\n", labels_path, overlay_path);
  API(destroy)(ctx);
  stbi_image_free(src.rgb);
  free(input);
  free(labels);
  free(colours);
  free(overlay);
  return 0;
}
