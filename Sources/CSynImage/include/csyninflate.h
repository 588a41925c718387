#ifndef CSYNINFLATE_H
#define CSYNINFLATE_H

#include <stddef.h>
#include <stdint.h>

/// Inflates raw DEFLATE data (a ZIP entry with method 8, no zlib/gzip header) into `out`,
/// which must receive exactly `out_size` bytes: fewer (stream ends early), more (output
/// full before the stream ends) or corrupt input return nonzero with a message.
int csyn_inflate_raw(const void *data, size_t size, void *out, size_t out_size, char *message, size_t message_size);

/// zlib's CRC-32 of `size` bytes continuing from `crc` (start with 0); any size.
uint32_t csyn_crc32(uint32_t crc, const void *data, size_t size);

#endif
