/* picohttpparser, as libh2o-evloop (Debian: libh2o-evloop-dev) exports it.
 *
 * Debian ships the library but not picohttpparser.h: the declarations below are the ABI of the
 * picohttpparser bundled with H2O 2.2 (struct layouts included), mechanically restated. */
#ifndef CPICOHTTPPARSER_SHIM_H
#define CPICOHTTPPARSER_SHIM_H

#include <stddef.h>
#include <sys/types.h>

struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* Returns the length of the request head when complete, -2 when partial, -1 when malformed. */
int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len, const char **path,
                      size_t *path_len, int *minor_version, struct phr_header *headers, size_t *num_headers,
                      size_t last_len);

struct phr_chunked_decoder {
    size_t bytes_left_in_chunk; /* number of bytes left in the current chunk */
    char consume_trailer;       /* if trailing headers should be consumed */
    char _hex_count;
    char _state;
};

/* Decodes chunked data in place: returns the number of undecoded bytes left after the last chunk
 * (the message is complete), -2 when more is needed, -1 when malformed. */
ssize_t phr_decode_chunked(struct phr_chunked_decoder *decoder, char *buf, size_t *bufsz);

#endif
