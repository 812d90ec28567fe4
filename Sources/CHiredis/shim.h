#ifndef EARPIECE_CHIREDIS_SHIM_H
#define EARPIECE_CHIREDIS_SHIM_H
// hiredis 0.14: the async API plus the standalone reply reader. Its command
// functions are variadic and unavailable to Swift; use the *Argv forms.
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/read.h>

static inline const char *CHiredis_readerError(redisReader *reader) { return reader->errstr; }
static inline int CHiredis_readerErrorCode(redisReader *reader) { return reader->err; }
#endif
