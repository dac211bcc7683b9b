#include "conf_int.h"

#include "fileio.h"
#include "xalloc.h"

#include <errno.h>
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

/*
 * The conf module's CURVE section (conf_int.h): the scheduler's key pair and
 * the clients' public keys with what each may connect to, from the config
 * or from an allow-list file.
 */

static const char *const client_kinds[] = { "email", "webhook", "control",
                                            NULL };

/* A Z85 CURVE public key: 40 characters that decode to 32 bytes. */
static bool
valid_key(const char *z85)
{
        uint8_t raw[32];

        return strlen(z85) == CONF_KEY_LEN && zmq_z85_decode(raw, z85) != NULL;
}

/*
 * A public key file ("public_key = ...;", as ofsted-notifyctl keygen
 * writes it) named by `at`: its key copied to `out`, or false (said).
 */
static bool
load_key_file(struct loader *ld, const config_setting_t *at, const char *path,
              char out[CONF_KEY_LEN + 1])
{
        struct loader sub = { path, ld->conf, ld->errs };
        config_t cfg;
        const config_setting_t *root;
        const char *key;
        bool ok = false;

        config_init(&cfg);
        if (access(path, R_OK) < 0) {
                ld_error_at(ld, at, "key_file '%s': %s", path, strerror(errno));
                goto out;
        }
        if (!ld_read_config(ld, &cfg, path, "the public key file"))
                goto out;
        root = config_root_setting(&cfg);
        key = ld_get_string(&sub, root, "public_key", true, "the key file");
        if (key == NULL)
                goto out;
        if (!valid_key(key)) {
                ld_error_at(
                    ld, config_setting_get_member(root, "public_key"),
                    "public_key is not a CURVE key (40 Z85 characters)");
                goto out;
        }
        memcpy(out, key, CONF_KEY_LEN + 1);
        ok = true;
out:
        config_destroy(&cfg);
        return ok;
}

/* One { name; key or key_file; kinds } of the allow-list. */
static void
load_client(struct loader *ld, const config_setting_t *list, int index,
            const char *dir)
{
        static const char *const keys[] = { "name", "key", "key_file", "kinds",
                                            NULL };
        const config_setting_t *g = config_setting_get_elem(list, index);
        struct conf *c = ld->conf;
        struct conf_client *cl = &c->curve.clients[c->curve.nclients];
        const char *name, *key, *file;
        struct strlist kinds;
        unsigned mask = 0;
        char *path;

        if (!ld_element_group(ld, g, "client"))
                return;
        ld_check_keys(ld, g, keys, "a client");
        name = ld_get_string(ld, g, "name", true, "a client");
        key = ld_get_string(ld, g, "key", false, "a client");
        file = ld_get_string(ld, g, "key_file", false, "a client");
        if (name != NULL && !ld_valid_name(name))
                ld_error_at(ld, config_setting_get_member(g, "name"),
                            "client name '%s' may hold only letters, digits, "
                            "'_', '-' and '.' (at most 64)",
                            name);
        if (name != NULL)
                ld_check_unique(ld, list, index, "name", name, "client");
        if ((key == NULL) == (file == NULL)) {
                ld_error_at(ld, g,
                            "a client needs exactly one of 'key' and "
                            "'key_file'");
                return;
        }
        if (key != NULL && !valid_key(key)) {
                ld_error_at(ld, config_setting_get_member(g, "key"),
                            "key '%s' is not a CURVE public key (40 Z85 "
                            "characters, as 'ofsted-notifyctl keygen' prints)",
                            key);
                return;
        }
        if (key != NULL) {
                memcpy(cl->key, key, CONF_KEY_LEN + 1);
        } else {
                path = ld_resolve_path(dir, file);
                if (!load_key_file(ld, config_setting_get_member(g, "key_file"),
                                   path, cl->key)) {
                        free(path);
                        return;
                }
                free(path);
        }
        for (size_t i = 0; i < c->curve.nclients; i++) {
                if (strcmp(c->curve.clients[i].key, cl->key) == 0) {
                        ld_error_at(
                            ld, g,
                            "client '%s' has the same key as client '%s'",
                            name ? name : "?", c->curve.clients[i].name);
                        return;
                }
        }
        ld_get_strv(ld, g, "kinds", &kinds);
        for (size_t i = 0; i < kinds.n; i++) {
                size_t k;

                for (k = 0; client_kinds[k] != NULL; k++)
                        if (strcmp(kinds.v[i], client_kinds[k]) == 0)
                                break;
                if (client_kinds[k] == NULL)
                        ld_error_at(ld, kinds.at[i],
                                    "kind '%s' must be one of \"email\", "
                                    "\"webhook\", \"control\"",
                                    kinds.v[i]);
                else
                        mask |= 1u << k;
        }
        if (kinds.n == 0)
                ld_error_at(ld, g,
                            "a client needs 'kinds': what it may connect as "
                            "(\"email\", \"webhook\", \"control\")");
        ld_strlist_free(&kinds);
        if (name == NULL || mask == 0)
                return;
        cl->name = xstrdup(name);
        cl->kinds = mask;
        c->curve.nclients++;
}

/* The allow-list file: clients = ( { name; key; kinds; }, ... ); */
static void
load_allow(struct loader *ld, const char *path)
{
        static const char *const keys[] = { "clients", NULL };
        struct loader sub = { path, ld->conf, ld->errs };
        const config_setting_t *root, *list;
        char *dir = NULL;
        config_t cfg;
        int n;

        config_init(&cfg);
        if (!ld_read_config(ld, &cfg, path, "the CURVE allow-list"))
                goto out;
        root = config_root_setting(&cfg);
        ld_check_keys(&sub, root, keys, "the allow-list");
        list = ld_get_list(&sub, root, "clients", true);
        if (list == NULL)
                goto out;
        dir = fileio_dir_of(path);
        n = config_setting_length(list);
        ld->conf->curve.clients =
            xcalloc((size_t)n + 1, sizeof(*ld->conf->curve.clients));
        for (int i = 0; i < n; i++)
                load_client(ld, list, i, dir);
out:
        free(dir);
        config_destroy(&cfg);
}

/*
 * curve = { server_key; client_key; allow; }: the keys tcp:// endpoints
 * need. A tcp:// endpoint without them is refused here, so nothing ever
 * listens or connects in the clear.
 */
void
ld_load_curve(struct loader *ld, const config_setting_t *root)
{
        static const char *const keys[] = { "server_key", "client_key", "allow",
                                            NULL };
        struct conf *c = ld->conf;
        const config_setting_t *g = ld_get_group(ld, root, "curve");
        const config_setting_t *d = config_setting_get_member(root, "daemon");
        const char *const names[] = { "control", "dispatch", "feed" };
        const char *const values[] = { c->daemon.control, c->daemon.dispatch,
                                       c->daemon.feed };
        const char *allow;

        if (g != NULL)
                ld_check_keys(ld, g, keys, "curve");
        c->curve.server_key = ld_dup_string(ld, g, "server_key", "", "curve");
        c->curve.client_key = ld_dup_string(ld, g, "client_key", "", "curve");
        allow = ld_get_string(ld, g, "allow", false, "curve");
        c->curve.allow = xstrdup("");
        if (allow != NULL && allow[0] != '\0') {
                free(c->curve.allow);
                c->curve.allow = ld_resolve_path(c->dir, allow);
                load_allow(ld, c->curve.allow);
        }
        for (size_t i = 0; i < 3; i++) {
                const config_setting_t *at =
                    d != NULL ? config_setting_get_member(d, names[i]) : NULL;

                if (!conf_endpoint_tcp(values[i]))
                        continue;
                if (c->curve.server_key[0] == '\0')
                        ld_error_at(ld, at,
                                    "%s '%s': a tcp:// endpoint needs CURVE "
                                    "keys: set curve.server_key (make a key "
                                    "pair with 'ofsted-notifyctl keygen')",
                                    names[i], values[i]);
                else if (c->curve.allow[0] == '\0' &&
                         c->curve.client_key[0] == '\0')
                        ld_error_at(ld, at,
                                    "%s '%s': a tcp:// endpoint needs "
                                    "curve.allow (the scheduler's list of "
                                    "client keys) or curve.client_key (a "
                                    "worker's or an admin's own key)",
                                    names[i], values[i]);
        }
}
