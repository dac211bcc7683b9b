/*
 * Tests for curve: key files (parse, check, write), and the ZAP decision
 * by the allow-list, for each socket and client kind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "curve.h"
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

/* A fresh pair, through the text keygen writes and back. */
static void
test_key_text_round_trip(void **state)
{
        struct curve_key k, back;
        char *text, *cause = NULL;

        (void)state;
        assert_int_equal(curve_key_generate(&k), 0);
        assert_int_equal(strlen(k.public_key), 40);
        assert_int_equal(strlen(k.secret_key), 40);
        text = curve_key_text(&k, true, "2026-11-24T10:00:00Z");
        assert_non_null(strstr(text, "2026-11-24T10:00:00Z"));
        assert_int_equal(curve_key_parse(text, "k.key", true, &back, &cause),
                         0);
        assert_string_equal(back.public_key, k.public_key);
        assert_string_equal(back.secret_key, k.secret_key);
        free(text);

        /* The .pub file has no secret, and cannot stand in for the pair. */
        text = curve_key_text(&k, false, "then");
        assert_null(strstr(text, k.secret_key));
        assert_int_equal(curve_key_parse(text, "k.pub", false, &back, &cause),
                         0);
        assert_string_equal(back.public_key, k.public_key);
        assert_string_equal(back.secret_key, "");
        assert_int_equal(curve_key_parse(text, "k.pub", true, &back, &cause),
                         -1);
        assert_string_equal(cause, "k.pub:1: missing 'secret_key'");
        free(cause);
        free(text);
}

static void
test_key_parse_errors(void **state)
{
        struct curve_key a, b;
        char text[256], *cause = NULL;

        (void)state;
        assert_int_equal(curve_key_generate(&a), 0);
        assert_int_equal(curve_key_generate(&b), 0);

        /* Two halves of different pairs. */
        snprintf(text, sizeof(text),
                 "public_key = \"%s\";\nsecret_key = \"%s\";\n", a.public_key,
                 b.secret_key);
        assert_int_equal(curve_key_parse(text, "x.key", true, &a, &cause), -1);
        assert_string_equal(cause,
                            "x.key: secret_key and public_key are not one "
                            "pair");
        assert_string_equal(a.public_key, "");
        free(cause);

        /* Not Z85, on line 2. */
        assert_int_equal(curve_key_parse("# comment\npublic_key = \"short\";\n",
                                         "y.pub", false, &a, &cause),
                         -1);
        assert_string_equal(cause, "y.pub:2: 'public_key' is not a CURVE key "
                                   "(40 Z85 characters)");
        free(cause);

        /* Not libconfig. */
        assert_int_equal(
            curve_key_parse("public_key = ;\n", "z.pub", false, &a, &cause),
            -1);
        assert_non_null(strstr(cause, "z.pub:1: "));
        free(cause);
}

/* A pair file holds a secret_key, even a broken one; a .pub file does not. */
static void
test_key_has_secret(void **state)
{
        (void)state;
        assert_true(curve_key_has_secret("public_key = \"a\";\n"
                                         "secret_key = \"b\";\n"));
        assert_true(curve_key_has_secret("secret_key = 1;\n"));
        assert_false(curve_key_has_secret("# made then\n"
                                          "public_key = \"a\";\n"));
        assert_false(curve_key_has_secret(""));
        /* Not libconfig: the parser says what is wrong, not this. */
        assert_false(curve_key_has_secret("secret_key = ;\n"));
}

/* An allow-list of two: a worker of both kinds, an admin. */
struct fixture {
        struct conf conf;
        struct conf_client clients[2];
        struct curve_key worker, admin, stranger;
        uint8_t raw[3][32];
};

static int
setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        if (f == NULL || curve_key_generate(&f->worker) < 0 ||
            curve_key_generate(&f->admin) < 0 ||
            curve_key_generate(&f->stranger) < 0)
                return -1;
        f->clients[0] = (struct conf_client){ "w1", "", CONF_KIND_WEBHOOK };
        memcpy(f->clients[0].key, f->worker.public_key, 41);
        f->clients[1] = (struct conf_client){ "admin", "", CONF_KIND_CONTROL };
        memcpy(f->clients[1].key, f->admin.public_key, 41);
        f->conf.curve.clients = f->clients;
        f->conf.curve.nclients = 2;
        zmq_z85_decode(f->raw[0], f->worker.public_key);
        zmq_z85_decode(f->raw[1], f->admin.public_key);
        zmq_z85_decode(f->raw[2], f->stranger.public_key);
        *state = f;
        return 0;
}

static int
teardown(void **state)
{
        free(*state);
        return 0;
}

static void
test_admit(void **state)
{
        struct fixture *f = *state;
        const struct conf_client *c;
        const char *why = NULL;
        char z85[41];

        /* Each client on its own socket. */
        c = curve_admit(&f->conf, "dispatch", "CURVE", f->raw[0], 32, z85,
                        &why);
        assert_ptr_equal(c, &f->clients[0]);
        assert_string_equal(z85, f->worker.public_key);
        c = curve_admit(&f->conf, "control", "CURVE", f->raw[1], 32, z85, &why);
        assert_ptr_equal(c, &f->clients[1]);
        c = curve_admit(&f->conf, "feed", "CURVE", f->raw[1], 32, z85, &why);
        assert_ptr_equal(c, &f->clients[1]);

        /* Each on the other's. */
        assert_null(curve_admit(&f->conf, "control", "CURVE", f->raw[0], 32,
                                z85, &why));
        assert_string_equal(why, "key not allowed kind \"control\"");
        assert_null(
            curve_admit(&f->conf, "feed", "CURVE", f->raw[0], 32, z85, &why));
        assert_null(curve_admit(&f->conf, "dispatch", "CURVE", f->raw[1], 32,
                                z85, &why));
        assert_string_equal(why,
                            "key not allowed kind \"email\" or \"webhook\"");

        /* Strangers, other mechanisms, other domains, short keys. */
        assert_null(curve_admit(&f->conf, "dispatch", "CURVE", f->raw[2], 32,
                                z85, &why));
        assert_string_equal(why, "key not on the allow-list");
        assert_string_equal(z85, f->stranger.public_key);
        assert_null(
            curve_admit(&f->conf, "dispatch", "NULL", f->raw[0], 0, z85, &why));
        assert_string_equal(why, "not a CURVE client");
        assert_null(curve_admit(&f->conf, "dispatch", "PLAIN", f->raw[0], 32,
                                z85, &why));
        assert_null(curve_admit(&f->conf, "dispatch", "CURVE", f->raw[0], 31,
                                z85, &why));
        assert_null(curve_admit(&f->conf, "metrics", "CURVE", f->raw[0], 32,
                                z85, &why));
        assert_string_equal(why, "unknown ZAP domain");
}

static void
test_allows_kind(void **state)
{
        struct fixture *f = *state;
        struct conf_client both = { "both", "",
                                    CONF_KIND_EMAIL | CONF_KIND_WEBHOOK };

        assert_true(curve_allows_kind(&f->clients[0], "webhook"));
        assert_false(curve_allows_kind(&f->clients[0], "email"));
        assert_false(curve_allows_kind(&f->clients[1], "webhook"));
        assert_false(curve_allows_kind(&f->clients[1], "control"));
        assert_true(curve_allows_kind(&both, "email"));
        assert_true(curve_allows_kind(&both, "webhook"));
        assert_false(curve_allows_kind(&both, "sms"));
}

/*
 * A key pair handed over by systemd (LoadCredential=curve:...): systemd
 * makes it 0400 and gives the service's user read access with an ACL,
 * which stat shows as mode 0440. That is taken from $CREDENTIALS_DIRECTORY
 * and refused anywhere else, as is a key the group may write.
 */
static void
test_key_load_credential(void **state)
{
        char dir[] = "/tmp/test_curve.XXXXXX", conf[64], creds[64], *cause;
        char path[128], *text;
        struct curve_key k, got;
        FILE *f;

        (void)state;
        assert_non_null(mkdtemp(dir));
        snprintf(conf, sizeof(conf), "%s/etc", dir);
        snprintf(creds, sizeof(creds), "%s/creds", dir);
        assert_int_equal(mkdir(conf, 0700), 0);
        assert_int_equal(mkdir(creds, 0700), 0);
        assert_int_equal(curve_key_generate(&k), 0);
        text = curve_key_text(&k, true, "now");
        /* The same text as a credential, and beside the config. */
        snprintf(path, sizeof(path), "%s/curve_w.key", creds);
        assert_non_null(f = fopen(path, "w"));
        fputs(text, f);
        fclose(f);
        assert_int_equal(chmod(path, 0440), 0);
        snprintf(path, sizeof(path), "%s/w.key", conf);
        assert_non_null(f = fopen(path, "w"));
        fputs(text, f);
        fclose(f);
        assert_int_equal(chmod(path, 0440), 0);
        free(text);

        assert_int_equal(setenv("CREDENTIALS_DIRECTORY", creds, 1), 0);
        cause = NULL;
        assert_int_equal(
            curve_key_load(conf, "curve/w.key", true, &got, &cause), 0);
        assert_string_equal(got.secret_key, k.secret_key);
        snprintf(path, sizeof(path), "%s/curve_w.key", creds);
        assert_int_equal(chmod(path, 0460), 0);
        assert_int_equal(
            curve_key_load(conf, "curve/w.key", true, &got, &cause), -1);
        assert_non_null(strstr(cause, "chmod 600"));
        free(cause);
        unlink(path);

        /* Not a credential: the group may not even read it. */
        assert_int_equal(unsetenv("CREDENTIALS_DIRECTORY"), 0);
        cause = NULL;
        assert_int_equal(curve_key_load(conf, "w.key", true, &got, &cause), -1);
        assert_non_null(strstr(cause, "0440"));
        free(cause);
        snprintf(path, sizeof(path), "%s/w.key", conf);
        unlink(path);
        rmdir(conf);
        rmdir(creds);
        rmdir(dir);
}

UNIT_MAIN({
    cmocka_unit_test(test_key_text_round_trip),
    cmocka_unit_test(test_key_parse_errors),
    cmocka_unit_test(test_key_has_secret),
    cmocka_unit_test(test_key_load_credential),
    cmocka_unit_test_setup_teardown(test_admit, setup, teardown),
    cmocka_unit_test_setup_teardown(test_allows_kind, setup, teardown),
})
