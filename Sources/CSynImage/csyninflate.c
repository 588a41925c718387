#include "csyninflate.h"

#include <stdio.h>
#include <string.h>
#include <zlib.h>

static void inflate_message(char *message, size_t size, const char *text) {
    if (message && size > 0) snprintf(message, size, "%s", text);
}

/* zlib counts in uInt; feed input and output in chunks so sizes above 4 GiB work. */
#define CSYN_CHUNK ((size_t)1 << 30)

int csyn_inflate_raw(const void *data, size_t size, void *out, size_t out_size, char *message, size_t message_size) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -15) != Z_OK) { /* negative window bits: raw deflate */
        inflate_message(message, message_size, "inflateInit failed");
        return 1;
    }
    const unsigned char *in = data;
    unsigned char *dst = out;
    size_t in_left = size, out_left = out_size;
    unsigned char probe; /* one scratch byte: once `out` is full the stream must end without output */
    int probing = 0;
    for (;;) {
        if (zs.avail_in == 0 && in_left > 0) {
            size_t n = in_left < CSYN_CHUNK ? in_left : CSYN_CHUNK;
            zs.next_in = (Bytef *)in;
            zs.avail_in = (uInt)n;
            in += n;
            in_left -= n;
        }
        if (!probing && zs.avail_out == 0) {
            if (out_left > 0) {
                size_t n = out_left < CSYN_CHUNK ? out_left : CSYN_CHUNK;
                zs.next_out = dst;
                zs.avail_out = (uInt)n;
                dst += n;
                out_left -= n;
            } else {
                probing = 1;
                zs.next_out = &probe;
                zs.avail_out = 1;
            }
        }
        int rc = inflate(&zs, Z_NO_FLUSH);
        const char *problem = NULL;
        if (probing && zs.avail_out == 0) {
            problem = "data inflates to more bytes than recorded";
        } else if (rc == Z_STREAM_END) {
            if (probing || (zs.avail_out == 0 && out_left == 0)) break;
            problem = "data inflates to fewer bytes than recorded";
        } else if (rc == Z_BUF_ERROR || rc == Z_OK) {
            if (zs.avail_in == 0 && in_left == 0 && rc == Z_BUF_ERROR) problem = "truncated deflate data";
        } else {
            problem = zs.msg ? zs.msg : "corrupt deflate data";
        }
        if (problem) {
            inflate_message(message, message_size, problem);
            inflateEnd(&zs);
            return 1;
        }
    }
    inflateEnd(&zs);
    return 0;
}

uint32_t csyn_crc32(uint32_t crc, const void *data, size_t size) {
    const unsigned char *p = data;
    uLong c = crc;
    while (size > 0) {
        size_t n = size < CSYN_CHUNK ? size : CSYN_CHUNK;
        c = crc32(c, p, (uInt)n);
        p += n;
        size -= n;
    }
    return (uint32_t)c;
}
