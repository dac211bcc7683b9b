/*
 * backup: copies of the state database and putting one back.
 *
 * backup_make() is the `backup` control command's work, done by the
 * daemon while it runs (store_backup(): VACUUM INTO, mode 0600, checked
 * with PRAGMA integrity_check): into a file the caller names, or, without
 * one, into BACKUP_DIR beside the state database as
 * state-YYYYMMDDTHHMMSSZ.db, keeping the newest `keep` there.
 * backup_restore() is ofsted-notifyd --restore's, with the daemon stopped
 * (the caller holds its lock): the file is checked, the current state
 * kept beside it, and the copy put in its place.
 */
#ifndef ONOTIFY_BACKUP_H
#define ONOTIFY_BACKUP_H

#include "store.h"

#include <stdint.h>

#define BACKUP_DIR    "backups"
#define BACKUP_PREFIX "state-"
#define BACKUP_SUFFIX ".db"

/*
 * A checked copy of `st` at `file` (absolute; must not exist), or when
 * file is NULL in the directory BACKUP_DIR beside `state_path`, of which
 * only the newest `keep` copies stay. *made (caller frees) is the copy's
 * path, *removed how many old copies went. 0, or -1 and *cause.
 */
int backup_make(struct store *st, const char *state_path, const char *file,
                int keep, int64_t now, char **made, int *removed, char **cause);

/*
 * Puts the checked copy `file` in place of the state database at
 * `state_path`, which nothing may have open: its -wal is folded in and it
 * is kept as STATE.before-restore-YYYYMMDDTHHMMSSZ (*kept, caller frees;
 * NULL when there was none). 0, or -1 and *cause with nothing changed.
 */
int backup_restore(const char *state_path, const char *file, int64_t now,
                   char **kept, char **cause);

#endif
