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
/// caught inside this C file, so they never cross Swift frames. Nothing is printed.
///
/// Decoders: PNG yields 1 (gray), 3 (RGB) or 4 (RGBA; also gray+alpha and palette with
/// transparency) channels of the stored sample values (16-bit samples keep their high byte;
/// no gamma or ICC conversion, as Pillow and torchvision). JPEG yields 1 or 3 channels
/// (CMYK/YCCK converted to RGB). A JPEG whose data is truncated or corrupt (libjpeg's
/// premature-EOF, bad-Huffman-code and similar warnings) is an error, not a gray-padded image.
/// Images above 2^32 bytes decoded are refused, and so is any image whose header declares more
/// than `max_pixels` pixels (width x height), before its pixel buffer is allocated.

int csyn_png_decode(const void *data, size_t size, size_t max_pixels, csyn_image *out, char *message, size_t message_size);
int csyn_png_encode_file(const char *path, const unsigned char *pixels, int width, int height, int channels,
                         char *message, size_t message_size);
/// Encodes to a malloc'd PNG byte buffer (free it with csyn_free).
int csyn_png_encode_memory(const unsigned char *pixels, int width, int height, int channels,
                           unsigned char **out, size_t *out_size, char *message, size_t message_size);
int csyn_jpeg_decode(const void *data, size_t size, size_t max_pixels, csyn_image *out, char *message, size_t message_size);
int csyn_jpeg_encode_file(const char *path, const unsigned char *pixels, int width, int height, int channels,
                          int quality, char *message, size_t message_size);
void csyn_image_free(csyn_image *image);

/// Inflates gzip (or zlib) data, including concatenated gzip members, into a malloc'd buffer
/// (free it with csyn_free). Truncated or corrupt input is an error, and so is output that
/// would exceed `max_output` bytes (the buffer never grows beyond it).
int csyn_gunzip(const void *data, size_t size, size_t max_output, unsigned char **out, size_t *out_size,
                char *message, size_t message_size);
void csyn_free(void *p);

#endif
