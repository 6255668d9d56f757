/* The bridge to libetpan: a libetpan stream over one of our connections.
 * Only the protocol sessions (core/mail/) include this, so libetpan's
 * headers reach only the files that call libetpan.
 *
 * Ownership: a mailstream_low made here is owned by the mailstream it is
 * given to (libetpan frees it); freeing it leaves the connection and its
 * socket open, so the connection must outlive the stream. */
#ifndef MA_STREAM_H
#define MA_STREAM_H

#include <stddef.h>

#include <libetpan/libetpan.h>

#include "net/transport.h"

/* A fresh low driver (NULL when out of memory) reading and writing c (plain or TLS as c is now).
 * The low driver does not own c; freeing it leaves the fd open. */
mailstream_low *ma_conn_low(struct ma_conn *c);

/* A buffered stream over c with a fresh low driver: NULL when out of
 * memory, with nothing left allocated (libetpan itself would crash on a
 * NULL driver). */
mailstream *ma_conn_stream(struct ma_conn *c, size_t bufsize);

#endif
