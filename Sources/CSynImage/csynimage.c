#include "csynimage.h"

#include <png.h>
#include <jpeglib.h>
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

/* ---- PNG: libpng's simplified API reports errors in png_image.message, no setjmp needed. ---- */

int csyn_png_decode(const void *data, size_t size, csyn_image *out, char *message, size_t message_size) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, data, size)) {
        set_message(message, message_size, image.message);
        png_image_free(&image);
        return 1;
    }
    int channels;
    if (image.format & PNG_FORMAT_FLAG_COLOR) {
        channels = (image.format & PNG_FORMAT_FLAG_ALPHA) ? 4 : 3;
    } else {
        channels = (image.format & PNG_FORMAT_FLAG_ALPHA) ? 4 : 1;  /* gray+alpha becomes RGBA */
    }
    image.format = channels == 1 ? PNG_FORMAT_GRAY : (channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA);
    size_t bytes = PNG_IMAGE_SIZE(image);
    unsigned char *pixels = malloc(bytes ? bytes : 1);
    if (!pixels) {
        set_message(message, message_size, "out of memory");
        png_image_free(&image);
        return 1;
    }
    if (!png_image_finish_read(&image, NULL, pixels, 0, NULL)) {
        set_message(message, message_size, image.message);
        free(pixels);
        png_image_free(&image);
        return 1;
    }
    out->width = (int)image.width;
    out->height = (int)image.height;
    out->channels = channels;
    out->pixels = pixels;
    png_image_free(&image);
    return 0;
}

int csyn_png_encode_file(const char *path, const unsigned char *pixels, int width, int height, int channels,
                         char *message, size_t message_size) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)width;
    image.height = (png_uint_32)height;
    switch (channels) {
    case 1: image.format = PNG_FORMAT_GRAY; break;
    case 3: image.format = PNG_FORMAT_RGB; break;
    case 4: image.format = PNG_FORMAT_RGBA; break;
    default: set_message(message, message_size, "PNG needs 1, 3 or 4 channels"); return 1;
    }
    if (!png_image_write_to_file(&image, path, 0, pixels, 0, NULL)) {
        set_message(message, message_size, image.message);
        png_image_free(&image);
        return 1;
    }
    png_image_free(&image);
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

static void csyn_jpeg_quiet(j_common_ptr info, int level) {
    (void)info;
    (void)level; /* warnings (e.g. premature end of data) are surfaced via the corrupt check below */
}

int csyn_jpeg_decode(const void *data, size_t size, csyn_image *out, char *message, size_t message_size) {
    struct jpeg_decompress_struct cinfo;
    csyn_jpeg_error err;
    unsigned char *volatile pixels = NULL;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = csyn_jpeg_error_exit;
    err.base.emit_message = csyn_jpeg_quiet;
    if (setjmp(err.jump)) {
        set_message(message, message_size, err.text);
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        return 1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, (const unsigned char *)data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.num_components == 1) {
        cinfo.out_color_space = JCS_GRAYSCALE;
    } else {
        cinfo.out_color_space = JCS_RGB;
    }
    jpeg_start_decompress(&cinfo);
    int channels = cinfo.output_components;
    size_t stride = (size_t)cinfo.output_width * (size_t)channels;
    pixels = malloc(stride * cinfo.output_height + 1);
    if (!pixels) {
        set_message(message, message_size, "out of memory");
        jpeg_destroy_decompress(&cinfo);
        return 1;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        unsigned char *row = pixels + stride * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    long warnings = err.base.num_warnings;
    jpeg_finish_decompress(&cinfo);
    if (warnings > 0 || err.base.num_warnings > 0) {
        /* libjpeg pads a truncated stream with gray and only warns; treat that as corruption. */
        (*err.base.format_message)((j_common_ptr)&cinfo, err.text);
        set_message(message, message_size, err.text);
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        return 1;
    }
    out->width = (int)cinfo.output_width;
    out->height = (int)cinfo.output_height;
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
    err.base.emit_message = csyn_jpeg_quiet;
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

int csyn_gunzip(const void *data, size_t size, unsigned char **out, size_t *out_size, char *message, size_t message_size) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK) { /* 32: detect gzip or zlib header */
        set_message(message, message_size, "inflateInit failed");
        return 1;
    }
    size_t cap = size * 4 + 1024, len = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) { inflateEnd(&zs); set_message(message, message_size, "out of memory"); return 1; }
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)size;
    int rc;
    do {
        if (len == cap) {
            cap *= 2;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) { free(buf); inflateEnd(&zs); set_message(message, message_size, "out of memory"); return 1; }
            buf = nb;
        }
        zs.next_out = buf + len;
        zs.avail_out = (uInt)(cap - len);
        rc = inflate(&zs, Z_NO_FLUSH);
        len = cap - zs.avail_out;
        if (rc == Z_STREAM_END) {
            /* concatenated gzip members: continue with the next one */
            if (zs.avail_in > 0) { inflateReset(&zs); rc = Z_OK; continue; }
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            set_message(message, message_size, zs.msg ? zs.msg : "corrupt compressed data");
            free(buf);
            inflateEnd(&zs);
            return 1;
        }
        if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
            set_message(message, message_size, "truncated compressed data");
            free(buf);
            inflateEnd(&zs);
            return 1;
        }
    } while (1);
    inflateEnd(&zs);
    *out = buf;
    *out_size = len;
    return 0;
}

void csyn_free(void *p) { free(p); }
