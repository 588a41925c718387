#include "csynimage.h"

#include <png.h>
#include <jpeglib.h>
#include <jerror.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void set_message(char *message, size_t size, const char *text) {
    if (message && size > 0) {
        snprintf(message, size, "%s", text);
    }
}

/* width * height * channels in size_t; 0 when it overflows or exceeds CSYN_MAX_IMAGE_BYTES. */
#define CSYN_MAX_IMAGE_BYTES ((size_t)1 << 32)

static int checked_image_bytes(size_t width, size_t height, size_t channels, size_t *bytes) {
    if (width == 0 || height == 0) {
        return 0;
    }
    if (width > CSYN_MAX_IMAGE_BYTES / height) {
        return 0;
    }
    size_t pixels = width * height;
    if (pixels > CSYN_MAX_IMAGE_BYTES / channels) {
        return 0;
    }
    *bytes = pixels * channels;
    return 1;
}

/* ---- PNG decode: libpng's full API, errors longjmp back here (never into Swift). ----
   The simplified png_image API is not used for reading because it applies colour
   management: 16-bit files are treated as linear light and gamma-encoded on the way to
   8 bits, and 8-bit files with a non-sRGB gAMA chunk are re-gamma'd. Training pipelines
   (Pillow, torchvision, OpenCV) use the stored sample values, so this decoder does too:
   palette -> RGB, tRNS -> alpha, 1/2/4-bit gray -> 8-bit, 16-bit -> high byte (as Pillow
   does for RGB), gray+alpha -> RGBA. No gamma or ICC conversion. */

typedef struct {
    const unsigned char *data;
    size_t size;
    size_t pos;
} csyn_png_source;

typedef struct {
    jmp_buf jump;
    char text[200];
    char warning[120]; /* the last warning, for errors whose own text gives no reason */
} csyn_png_error;

static void csyn_png_read(png_structp png, png_bytep out, png_size_t length) {
    csyn_png_source *src = (csyn_png_source *)png_get_io_ptr(png);
    if (length > src->size - src->pos) {
        png_error(png, "unexpected end of PNG data (file truncated)");
    }
    memcpy(out, src->data + src->pos, length);
    src->pos += length;
}

static void csyn_png_fail(png_structp png, png_const_charp text) {
    csyn_png_error *err = (csyn_png_error *)png_get_error_ptr(png);
    /* libpng checks IHDR field by field with a warning each ("Invalid bit depth in IHDR"), then
       fails with a bare "Invalid IHDR data": the warnings are the reason, so they are kept. */
    if (text && strcmp(text, "Invalid IHDR data") == 0 && err->warning[0]) {
        snprintf(err->text, sizeof err->text, "%s: %s", text, err->warning);
    } else {
        snprintf(err->text, sizeof err->text, "%s", text ? text : "PNG error");
    }
    longjmp(err->jump, 1);
}

static void csyn_png_warn(png_structp png, png_const_charp text) {
    /* Ancillary-chunk problems (bad CRC in tEXt, odd iCCP profile) do not stop the decode; the
       last warning is remembered for csyn_png_fail. */
    csyn_png_error *err = (csyn_png_error *)png_get_error_ptr(png);
    if (text) {
        size_t used = strlen(err->warning);
        if (used > 0 && used + 2 < sizeof err->warning) {
            snprintf(err->warning + used, sizeof err->warning - used, ", %s", text);
        } else if (used == 0) {
            snprintf(err->warning, sizeof err->warning, "%s", text);
        }
    }
}

/* The header's pixel count against the caller's limit, checked before any pixel memory is allocated. */
static int exceeds_pixel_limit(size_t width, size_t height, size_t max_pixels, char *text, size_t text_size) {
    if (height != 0 && width > max_pixels / height) {
        snprintf(text, text_size, "image of %zux%zu pixels exceeds the limit of %zu pixels", width, height, max_pixels);
        return 1;
    }
    return 0;
}

int csyn_png_decode(const void *data, size_t size, size_t max_pixels, csyn_image *out, char *message, size_t message_size) {
    if (!data || size < 8 || png_sig_cmp((png_const_bytep)data, 0, 8) != 0) {
        set_message(message, message_size, size < 8 ? "truncated PNG signature" : "not a PNG signature");
        return 1;
    }
    /* libpng allocates (and zeroes) an ancillary chunk's buffer at the length its header claims
       before reading it; libpng 1.6.39 does so even past png_set_chunk_malloc_max. A 300-byte
       file whose tEXt chunk declared 1.8 GB cost 1.8 GB and seconds (found by synclr-fuzz,
       Docs/reliability.md). The whole file is in memory, so every chunk's length is checked
       against the bytes that follow it first: a chunk cannot need more memory than the file. */
    for (size_t at = 8; size - at >= 8;) {
        const unsigned char *p = (const unsigned char *)data + at;
        size_t length = ((size_t)p[0] << 24) | ((size_t)p[1] << 16) | ((size_t)p[2] << 8) | (size_t)p[3];
        if (length > size - at - 8 || size - at - 8 - length < 4) {
            char text[160];
            snprintf(text, sizeof text, "chunk '%c%c%c%c' at byte %zu declares %zu bytes, the file ends %zu bytes later (truncated)",
                     p[4] >= 32 && p[4] < 127 ? p[4] : '?', p[5] >= 32 && p[5] < 127 ? p[5] : '?',
                     p[6] >= 32 && p[6] < 127 ? p[6] : '?', p[7] >= 32 && p[7] < 127 ? p[7] : '?', at, length, size - at - 8);
            set_message(message, message_size, text);
            return 1;
        }
        if (memcmp(p + 4, "IEND", 4) == 0) {
            break;
        }
        at += 12 + length;
    }
    csyn_png_error err;
    err.text[0] = 0;
    err.warning[0] = 0;
    csyn_png_source src = {(const unsigned char *)data, size, 0};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &err, csyn_png_fail, csyn_png_warn);
    if (!png) {
        set_message(message, message_size, "out of memory");
        return 1;
    }
    png_infop info = png_create_info_struct(png);
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (!info || setjmp(err.jump)) {
        set_message(message, message_size, info ? err.text : "out of memory");
        png_destroy_read_struct(&png, info ? &info : NULL, NULL);
        free(pixels);
        free(rows);
        return 1;
    }
    png_set_read_fn(png, &src, csyn_png_read);
    /* Defence in depth behind the chunk-length scan above: per-chunk allocation cap (8 MiB holds
       any real text or ICC chunk; IDAT is streamed) and at most 1000 cached text/sPLT/unknown chunks. */
    png_set_chunk_malloc_max(png, (png_alloc_size_t)8 << 20);
    png_set_chunk_cache_max(png, 1000);
    png_read_info(png, info);
    png_uint_32 width = png_get_image_width(png, info);
    png_uint_32 height = png_get_image_height(png, info);
    char limit_text[160];
    if (exceeds_pixel_limit(width, height, max_pixels, limit_text, sizeof limit_text)) {
        png_error(png, limit_text);
    }
    int color_type = png_get_color_type(png, info);
    int bit_depth = png_get_bit_depth(png, info);
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_set_palette_to_rgb(png);
    }
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) {
        png_set_expand_gray_1_2_4_to_8(png);
    }
    if (png_get_valid(png, info, PNG_INFO_tRNS)) {
        png_set_tRNS_to_alpha(png);
    }
    if (bit_depth == 16) {
        png_set_strip_16(png);
    }
    int has_alpha = (color_type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS);
    if (!(color_type & PNG_COLOR_MASK_COLOR) && has_alpha) {
        png_set_gray_to_rgb(png);
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    if (channels != 1 && channels != 3 && channels != 4) {
        png_error(png, "unsupported PNG channel layout");
    }
    size_t bytes;
    if (!checked_image_bytes(width, height, (size_t)channels, &bytes)) {
        png_error(png, "image dimensions too large");
    }
    size_t stride = (size_t)width * (size_t)channels;
    if (png_get_rowbytes(png, info) != stride) {
        png_error(png, "unexpected PNG row size");
    }
    pixels = malloc(bytes);
    rows = malloc(sizeof(png_bytep) * height);
    if (!pixels || !rows) {
        png_error(png, "out of memory");
    }
    for (png_uint_32 y = 0; y < height; y++) {
        rows[y] = pixels + stride * y;
    }
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    out->width = (int)width;
    out->height = (int)height;
    out->channels = channels;
    out->pixels = pixels;
    return 0;
}

/* The simplified-API description of an 8-bit image for both PNG encoders; 0 on success. */
static int png_encoder_setup(png_image *image, const unsigned char *pixels, int width, int height, int channels,
                             char *message, size_t message_size) {
    if (width <= 0 || height <= 0 || !pixels) {
        set_message(message, message_size, "PNG needs a non-empty image");
        return 1;
    }
    memset(image, 0, sizeof *image);
    image->version = PNG_IMAGE_VERSION;
    image->width = (png_uint_32)width;
    image->height = (png_uint_32)height;
    switch (channels) {
    case 1: image->format = PNG_FORMAT_GRAY; break;
    case 3: image->format = PNG_FORMAT_RGB; break;
    case 4: image->format = PNG_FORMAT_RGBA; break;
    default: set_message(message, message_size, "PNG needs 1, 3 or 4 channels"); return 1;
    }
    return 0;
}

int csyn_png_encode_file(const char *path, const unsigned char *pixels, int width, int height, int channels,
                         char *message, size_t message_size) {
    png_image image;
    if (png_encoder_setup(&image, pixels, width, height, channels, message, message_size)) return 1;
    if (!png_image_write_to_file(&image, path, 0, pixels, 0, NULL)) {
        set_message(message, message_size, image.message);
        png_image_free(&image);
        return 1;
    }
    png_image_free(&image);
    return 0;
}

int csyn_png_encode_memory(const unsigned char *pixels, int width, int height, int channels,
                           unsigned char **out, size_t *out_size, char *message, size_t message_size) {
    *out = NULL;
    *out_size = 0;
    png_image image;
    if (png_encoder_setup(&image, pixels, width, height, channels, message, message_size)) return 1;
    /* The first call with a NULL buffer only measures; the second writes. */
    png_alloc_size_t size = 0;
    if (!png_image_write_to_memory(&image, NULL, &size, 0, pixels, 0, NULL)) {
        set_message(message, message_size, image.message);
        png_image_free(&image);
        return 1;
    }
    unsigned char *buffer = malloc(size ? size : 1);
    if (!buffer) {
        set_message(message, message_size, "out of memory for the PNG buffer");
        png_image_free(&image);
        return 1;
    }
    if (!png_image_write_to_memory(&image, buffer, &size, 0, pixels, 0, NULL)) {
        set_message(message, message_size, image.message);
        png_image_free(&image);
        free(buffer);
        return 1;
    }
    png_image_free(&image);
    *out = buffer;
    *out_size = (size_t)size;
    return 0;
}

/* ---- JPEG: libjpeg reports fatal errors through error_exit, which must longjmp out. ---- */

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char text[JMSG_LENGTH_MAX];
} csyn_jpeg_error;

static void csyn_jpeg_error_exit(j_common_ptr info) {
    csyn_jpeg_error *err = (csyn_jpeg_error *)info->err;
    (*info->err->format_message)(info, err->text);
    longjmp(err->jump, 1);
}

/* libjpeg only *warns* about damaged data (a truncated stream is padded with gray, a bad
   Huffman code is skipped) and carries on. Warnings that mean pixels were lost abort the
   decode exactly like a fatal error; the others (extraneous bytes between markers, odd
   but decodable scan parameters or progression, an unknown JFIF revision, a bad ICC
   marker) occur in real files that Pillow opens, so they are counted and ignored.
   Trace messages (level >= 0) are dropped. Nothing is ever printed to stderr. */
static int csyn_jpeg_warning_is_fatal(int code) {
    switch (code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_MUST_RESYNC:
#if JPEG_LIB_VERSION >= 70 || defined(D_ARITH_CODING_SUPPORTED)
    case JWRN_ARITH_BAD_CODE:
#endif
        return 1;
    default:
        return 0;
    }
}

static void csyn_jpeg_emit(j_common_ptr info, int level) {
    if (level >= 0) {
        return;
    }
    info->err->num_warnings++;
    if (csyn_jpeg_warning_is_fatal(info->err->msg_code)) {
        csyn_jpeg_error *err = (csyn_jpeg_error *)info->err;
        (*info->err->format_message)(info, err->text);
        longjmp(err->jump, 1);
    }
}

int csyn_jpeg_decode(const void *data, size_t size, size_t max_pixels, csyn_image *out, char *message, size_t message_size) {
    struct jpeg_decompress_struct cinfo;
    csyn_jpeg_error err;
    unsigned char *volatile pixels = NULL;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = csyn_jpeg_error_exit;
    err.base.emit_message = csyn_jpeg_emit;
    if (setjmp(err.jump)) {
        set_message(message, message_size, err.text);
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        return 1;
    }
    if (!data || size == 0) {
        set_message(message, message_size, "empty JPEG data");
        return 1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, (const unsigned char *)data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    /* Before jpeg_start_decompress: a progressive file makes it allocate a coefficient buffer
       for the whole declared image. */
    if (exceeds_pixel_limit(cinfo.image_width, cinfo.image_height, max_pixels, err.text, sizeof err.text)) {
        set_message(message, message_size, err.text);
        jpeg_destroy_decompress(&cinfo);
        return 1;
    }
    int cmyk = 0;
    switch (cinfo.num_components) {
    case 1:
        cinfo.out_color_space = JCS_GRAYSCALE;
        break;
    case 3:
        cinfo.out_color_space = JCS_RGB;
        break;
    case 4:
        /* CMYK or YCCK (Photoshop): libjpeg yields CMYK, converted to RGB below. */
        cinfo.out_color_space = JCS_CMYK;
        cmyk = 1;
        break;
    default:
        set_message(message, message_size, "unsupported number of JPEG color components");
        jpeg_destroy_decompress(&cinfo);
        return 1;
    }
    jpeg_start_decompress(&cinfo);
    int channels = cinfo.output_components;
    size_t bytes;
    if (!checked_image_bytes(cinfo.output_width, cinfo.output_height, (size_t)channels, &bytes)) {
        set_message(message, message_size, "image dimensions too large");
        jpeg_destroy_decompress(&cinfo);
        return 1;
    }
    size_t stride = (size_t)cinfo.output_width * (size_t)channels;
    pixels = malloc(bytes);
    if (!pixels) {
        set_message(message, message_size, "out of memory");
        jpeg_destroy_decompress(&cinfo);
        return 1;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        unsigned char *row = pixels + stride * cinfo.output_scanline;
        if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) {
            /* Only a suspending data source returns 0 lines; a memory source never should. */
            set_message(message, message_size, "JPEG decoder returned no scanline");
            jpeg_destroy_decompress(&cinfo);
            free(pixels);
            return 1;
        }
    }
    jpeg_finish_decompress(&cinfo);
    int width = (int)cinfo.output_width, height = (int)cinfo.output_height;
    if (cmyk) {
        /* Adobe writes inverted CMYK (255 = no ink); plain CMYK files are rare. Same rule as
           Pillow: R = C * K / 255 on the stored (inverted) values. Compacts 4 -> 3 in place. */
        int inverted = cinfo.saw_Adobe_marker;
        size_t n = (size_t)width * (size_t)height;
        unsigned char *p = pixels;
        for (size_t i = 0; i < n; i++) {
            unsigned int c = p[4 * i], m = p[4 * i + 1], y = p[4 * i + 2], k = p[4 * i + 3];
            if (!inverted) {
                c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k;
            }
            p[3 * i] = (unsigned char)((c * k + 127) / 255);
            p[3 * i + 1] = (unsigned char)((m * k + 127) / 255);
            p[3 * i + 2] = (unsigned char)((y * k + 127) / 255);
        }
        channels = 3;
    }
    out->width = width;
    out->height = height;
    out->channels = channels;
    out->pixels = pixels;
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

int csyn_jpeg_encode_file(const char *path, const unsigned char *pixels, int width, int height, int channels,
                          int quality, char *message, size_t message_size) {
    if (channels != 1 && channels != 3) {
        set_message(message, message_size, "JPEG needs 1 or 3 channels");
        return 1;
    }
    if (width <= 0 || height <= 0 || width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION || !pixels) {
        set_message(message, message_size, "JPEG dimensions must be 1...65500");
        return 1;
    }
    if (quality < 1) quality = 1;
    if (quality > 100) quality = 100;
    FILE *volatile file = fopen(path, "wb");
    if (!file) {
        set_message(message, message_size, "cannot open file for writing");
        return 1;
    }
    struct jpeg_compress_struct cinfo;
    csyn_jpeg_error err;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = csyn_jpeg_error_exit;
    err.base.emit_message = csyn_jpeg_emit;
    if (setjmp(err.jump)) {
        set_message(message, message_size, err.text);
        jpeg_destroy_compress(&cinfo);
        fclose(file);
        return 1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, file);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    size_t stride = (size_t)width * (size_t)channels;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + stride * cinfo.next_scanline);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    if (fclose(file) != 0) {
        set_message(message, message_size, "write failed");
        return 1;
    }
    return 0;
}

void csyn_image_free(csyn_image *image) {
    if (image && image->pixels) {
        free(image->pixels);
        image->pixels = NULL;
    }
}

/* ---- gzip ---- */

static int gunzip_fail(z_stream *zs, unsigned char *buf, char *message, size_t message_size, const char *text) {
    set_message(message, message_size, text);
    free(buf);
    inflateEnd(zs);
    return 1;
}

int csyn_gunzip(const void *data, size_t size, size_t max_output, unsigned char **out, size_t *out_size,
                char *message, size_t message_size) {
    *out = NULL;
    *out_size = 0;
    if (!data || size == 0) {
        set_message(message, message_size, "empty input");
        return 1;
    }
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK) { /* 32: detect gzip or zlib header */
        set_message(message, message_size, "inflateInit failed");
        return 1;
    }
    /* zlib counts in uInt (32 bits): feed input and output in chunks of at most UINT_MAX. */
    const size_t chunk_max = (size_t)(uInt)-1;
    const unsigned char *in = (const unsigned char *)data;
    size_t in_left = size;
    size_t cap = size < ((size_t)1 << 40) ? size * 4 + 1024 : size, len = 0;
    /* One byte beyond the limit tells "exactly max_output" from "more". */
    size_t hard_cap = max_output < (size_t)-1 ? max_output + 1 : max_output;
    if (cap > hard_cap) {
        cap = hard_cap;
    }
    unsigned char *buf = malloc(cap);
    if (!buf) {
        return gunzip_fail(&zs, NULL, message, message_size, "out of memory");
    }
    for (;;) {
        if (zs.avail_in == 0 && in_left > 0) {
            size_t n = in_left < chunk_max ? in_left : chunk_max;
            zs.next_in = (Bytef *)in;
            zs.avail_in = (uInt)n;
            in += n;
            in_left -= n;
        }
        if (len > max_output) {
            char text[120];
            snprintf(text, sizeof text, "decompressed data exceeds the limit of %zu bytes", max_output);
            return gunzip_fail(&zs, buf, message, message_size, text);
        }
        if (len == cap) {
            size_t grown = cap > ((size_t)-1) / 2 ? (size_t)-1 : cap * 2;
            if (grown > hard_cap) {
                grown = hard_cap;
            }
            unsigned char *nb = realloc(buf, grown);
            if (!nb) {
                return gunzip_fail(&zs, buf, message, message_size, "out of memory");
            }
            buf = nb;
            cap = grown;
        }
        size_t room = cap - len < chunk_max ? cap - len : chunk_max;
        zs.next_out = buf + len;
        zs.avail_out = (uInt)room;
        int rc = inflate(&zs, Z_NO_FLUSH);
        len += room - zs.avail_out;
        if (rc == Z_STREAM_END) {
            if (zs.avail_in == 0 && in_left == 0) {
                break;
            }
            /* Concatenated gzip members (as `cat a.gz b.gz` makes): inflate the next one. */
            if (inflateReset(&zs) != Z_OK) {
                return gunzip_fail(&zs, buf, message, message_size, "inflateReset failed");
            }
            continue;
        }
        if (rc == Z_BUF_ERROR) {
            if (zs.avail_in == 0 && in_left == 0) {
                return gunzip_fail(&zs, buf, message, message_size, "truncated compressed data");
            }
            continue; /* output buffer was full: grow it */
        }
        if (rc != Z_OK) {
            return gunzip_fail(&zs, buf, message, message_size, zs.msg ? zs.msg : "corrupt compressed data");
        }
        if (zs.avail_in == 0 && in_left == 0 && zs.avail_out > 0) {
            /* All input consumed, output not full, stream not finished. */
            return gunzip_fail(&zs, buf, message, message_size, "truncated compressed data");
        }
    }
    if (len > max_output) {
        char text[120];
        snprintf(text, sizeof text, "decompressed data exceeds the limit of %zu bytes", max_output);
        return gunzip_fail(&zs, buf, message, message_size, text);
    }
    inflateEnd(&zs);
    *out = buf;
    *out_size = len;
    return 0;
}

void csyn_free(void *p) { free(p); }
