/*
 * fileio: read a whole small file into memory, and name a file's directory.
 *
 * Used wherever a file is data rather than a stream: zone files, the bank
 * holidays file, secrets. One place, so every caller gets the same size cap
 * and the same error text.
 */
#ifndef ONOTIFY_FILEIO_H
#define ONOTIFY_FILEIO_H

#include <stdbool.h>
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
 * cause that says how to fix it) when others have any access to it, as ssh
 * refuses an open private key, or its group has: with `group_read`, read
 * access for the group is allowed (a systemd credential, which systemd
 * makes 0400 and opens to the service's user with an ACL, so that its
 * group bits show the ACL's mask, r--).
 */
int fileio_read_private(const char *path, size_t max, bool group_read,
                        char **buf, size_t *len, char **cause);
/* The directory of `path` ("." when it names none), a new string. */
char *fileio_dir_of(const char *path);

#endif
