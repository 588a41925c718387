#ifndef CSYNIMAGE_H
#define CSYNIMAGE_H

#include <stddef.h>

/// Decoded 8-bit image: `pixels` is malloc'd, row-major, `channels` interleaved (1, 3 or 4).
typedef struct {
    int width;
    int height;
    int channels;
    unsigned char *pixels;
} csyn_image;

/// Every function returns 0 on success; otherwise nonzero with a message in `message`
/// (at most `message_size` bytes, NUL-terminated). libjpeg's longjmp-based error exits are
/// caught inside this C file, so they never cross Swift frames.

int csyn_png_decode(const void *data, size_t size, csyn_image *out, char *message, size_t message_size);
int csyn_png_encode_file(const char *path, const unsigned char *pixels, int width, int height, int channels,
                         char *message, size_t message_size);
int csyn_jpeg_decode(const void *data, size_t size, csyn_image *out, char *message, size_t message_size);
int csyn_jpeg_encode_file(const char *path, const unsigned char *pixels, int width, int height, int channels,
                          int quality, char *message, size_t message_size);
void csyn_image_free(csyn_image *image);

/// Inflates gzip (or zlib) data into a malloc'd buffer.
int csyn_gunzip(const void *data, size_t size, unsigned char **out, size_t *out_size, char *message, size_t message_size);
void csyn_free(void *p);

#endif
