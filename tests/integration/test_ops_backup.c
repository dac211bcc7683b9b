/*
 * Backups and restore (delivery.h's world): `ofsted-notifyctl backup` makes
 * a checked copy while the daemon runs and deliveries are on the way;
 * `ofsted-notifyd --restore` puts it back with the daemon stopped, and the
 * daemon then catches up: every delivery is delivered or pending again,
 * none lost. Backups without a FILE rotate; a restore is refused while the
 * daemon runs, and for a file that is not a whole state database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "delivery.h"

#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ofsted-notifyd --restore FILE against the test's config. */
static struct proc_result
restore(struct fx *f, const char *file)
{
        char *argv[] = { DAEMON_BINARY, "-c",         f->c.conf,
                         "--restore",   (char *)file, NULL };
        char *env[] = { f->c.env_state, f->c.env_run, NULL };
        struct proc_result r;

        assert_int_equal(proc_run(argv, env, &r), 0);
        return r;
}

/* How many rows `sql` counts in the database at `path`. */
static long long
count(const char *path, const char *sql)
{
        sqlite3 *db = NULL;
        sqlite3_stmt *s = NULL;
        long long n;

        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        n = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        sqlite3_close(db);
        return n;
}

/* Files in `dir` whose names start with `prefix`. */
static int
files_like(const char *dir, const char *prefix)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        int n = 0;

        if (d == NULL)
                return 0;
        while ((e = readdir(d)) != NULL)
                n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
        closedir(d);
        return n;
}

/*
 * A backup taken mid-burst (100 deliveries, the sink holding each 2 s),
 * restored once the burst is over: with no worker, every delivery of the
 * restored state is delivered or pending (what was being sent is pending
 * again); with one, everything the burst implies ends delivered, each
 * exactly once in history and at the sink at least once.
 */
static void
test_backup_mid_burst_restored(void **state)
{
        struct fx *f = *state;
        char file[256], state_db[320];
        struct proc_result r;
        struct stat sb;
        json_t *reply, *h, *d;
        long long sending, delivered;
        size_t i;

        snprintf(file, sizeof(file), "%s/mid-burst.db", f->c.dir);
        snprintf(state_db, sizeof(state_db), "%s/state/state.db", f->c.dir);
        cluster_httpsink_script(&f->c, "/bulk/ delay 2000\n");
        cluster_daemon_start(&f->c, NULL);
        worker_start(f, 0, NULL, 1);
        record_bulk(f, 1);
        json_decref(cluster_wait_requests(&f->c, "/bulk/", 10, WAIT_MS));

        reply = cluster_ctl_json(&f->c, "backup", file, "--json", NULL);
        assert_string_equal(json_string_value(json_object_get(reply, "file")),
                            file);
        assert_string_equal(
            json_string_value(json_object_get(reply, "integrity")), "ok");
        json_decref(reply);
        assert_int_equal(stat(file, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);
        /* Mid-burst indeed: some being sent, not all delivered. */
        sending = count(file, "SELECT count(*) FROM deliveries "
                              "WHERE status = 'sending'");
        delivered = count(file, "SELECT count(*) FROM deliveries "
                                "WHERE status = 'delivered'");
        assert_true(sending > 0);
        assert_true(delivered < BULK_PER_EVENT);
        /* The copy is one file: no -wal beside it. */
        snprintf(state_db, sizeof(state_db), "%s-wal", file);
        assert_int_not_equal(access(state_db, F_OK), 0);
        snprintf(state_db, sizeof(state_db), "%s/state/state.db", f->c.dir);

        cluster_httpsink_script(&f->c, NULL);
        cluster_wait_settled(&f->c, BULK_PER_EVENT, 0, WAIT_MS);
        assert_int_equal(cluster_worker_stop(&f->c, 0, SIGTERM), 0);
        assert_int_equal(cluster_daemon_stop(&f->c, SIGTERM), 0);

        r = restore(f, file);
        assert_int_equal(r.status, 0);
        assert_non_null(strstr(r.err, "restored"));
        proc_result_free(&r);
        snprintf(file, sizeof(file), "%s/state", f->c.dir);
        assert_int_equal(files_like(file, "state.db.before-restore-"), 1);
        assert_int_equal(stat(state_db, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);

        /* No worker yet: nothing lost, nothing being sent. */
        cluster_daemon_start(&f->c, NULL);
        h = cluster_history(&f->c);
        assert_true(json_array_size(h) > 0);
        json_array_foreach(h, i, d)
        {
                const char *st =
                    json_string_value(json_object_get(d, "status"));

                if (strcmp(st, "delivered") != 0 && strcmp(st, "pending") != 0)
                        fail_msg("delivery %s is '%s' after the restore",
                                 json_string_value(json_object_get(d, "id")),
                                 st);
        }
        json_decref(h);
        reply = cluster_ctl_json(&f->c, "audit", "--json", NULL);
        d = json_array_get(json_object_get(reply, "audit"),
                           json_array_size(json_object_get(reply, "audit")) -
                               1);
        assert_string_equal(json_string_value(json_object_get(d, "action")),
                            "restore");
        json_decref(reply);

        worker_start(f, 0, NULL, 1);
        cluster_wait_settled(&f->c, BULK_PER_EVENT, 0, WAIT_MS);
        check_bulk(f, 1, NULL);
        cluster_pass(&f->c);
}

/* backup without FILE: into state/backups/, the newest backups_keep kept. */
static void
test_backup_rotates(void **state)
{
        struct fx *f = *state;
        char dir[256];
        json_t *reply;
        const char *made;

        f->daemon = "backups_keep = 2;";
        write_conf(f);
        snprintf(dir, sizeof(dir), "%s/state/backups", f->c.dir);
        cluster_daemon_start(&f->c, NULL);
        for (int i = 0; i < 3; i++) {
                reply = cluster_ctl_json(&f->c, "backup", "--json", NULL);
                made = json_string_value(json_object_get(reply, "file"));
                assert_non_null(made);
                assert_int_equal(strncmp(made, dir, strlen(dir)), 0);
                assert_int_equal(access(made, R_OK), 0);
                json_decref(reply);
                /* Names carry the second: let the next be another. */
                if (i < 2)
                        sleep_ms(1100);
        }
        assert_int_equal(files_like(dir, "state-"), 2);
        /* FILE that exists: refused, the file left alone. */
        reply = cluster_ctl_json_want(&f->c, 1, "backup", f->c.conf, "--json",
                                      NULL);
        assert_non_null(strstr(
            json_string_value(json_object_get(reply, "error")), "exists"));
        json_decref(reply);
        cluster_pass(&f->c);
}

/* --restore while the daemon runs, or of a file that is not a state
 * database: refused, the state left as it was. */
static void
test_restore_refused(void **state)
{
        struct fx *f = *state;
        char file[256], junk[256];
        struct proc_result r;
        json_t *reply;
        FILE *fp;

        snprintf(file, sizeof(file), "%s/good.db", f->c.dir);
        snprintf(junk, sizeof(junk), "%s/junk.db", f->c.dir);
        cluster_daemon_start(&f->c, NULL);
        reply = cluster_ctl_json(&f->c, "backup", file, "--json", NULL);
        json_decref(reply);
        r = restore(f, file);
        assert_int_not_equal(r.status, 0);
        assert_non_null(strstr(r.err, "stop it before a restore"));
        proc_result_free(&r);
        assert_int_equal(cluster_daemon_stop(&f->c, SIGTERM), 0);

        fp = fopen(junk, "w");
        assert_non_null(fp);
        fputs("SQLite format 3, or so it says\n", fp);
        fclose(fp);
        r = restore(f, junk);
        assert_int_not_equal(r.status, 0);
        assert_non_null(strstr(r.err, "the state is unchanged"));
        proc_result_free(&r);
        snprintf(file, sizeof(file), "%s/state", f->c.dir);
        assert_int_equal(files_like(file, "state.db.before-restore-"), 0);
        cluster_daemon_start(&f->c, NULL);
        cluster_pass(&f->c);
}

CLUSTER_MAIN({
    CLUSTER_TEST(test_backup_mid_burst_restored),
    CLUSTER_TEST(test_backup_rotates),
    CLUSTER_TEST(test_restore_refused),
})
