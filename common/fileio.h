/*
 * fileio: read a whole small file into memory.
 *
 * Used wherever a file is data rather than a stream: zone files, the bank
 * holidays file, secrets. One place, so every caller gets the same size cap
 * and the same error text.
 */
#ifndef ONOTIFY_FILEIO_H
#define ONOTIFY_FILEIO_H

#include <stddef.h>

/*
 * Reads `path` (at most `max` bytes) into *buf, NUL-terminated, length in
 * *len. Returns -1 with *cause set ("path: reason"; caller frees) and errno
 * preserved on failure; *buf is then NULL.
 */
int fileio_read(const char *path, size_t max, char **buf, size_t *len,
                char **cause);
/*
 * The same for a file that holds a secret: also fails (EACCES, with a
 * cause that says how to fix it) when the file's group or others have any
 * access to it, as ssh refuses an open private key.
 */
int fileio_read_private(const char *path, size_t max, char **buf, size_t *len,
                        char **cause);

#endif
