#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fileio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

json_t *
support_json(const char *text)
{
        json_error_t e;
        json_t *v = json_loads(text, 0, &e);

        if (v == NULL)
                fail_msg("not JSON (%s): %.200s", e.text, text);
        return v;
}

bool
support_utf8_whole(const unsigned char *s, size_t n)
{
        size_t i = 0;

        while (i < n) {
                size_t len = s[i] < 0x80             ? 1
                             : (s[i] & 0xe0) == 0xc0 ? 2
                             : (s[i] & 0xf0) == 0xe0 ? 3
                             : (s[i] & 0xf8) == 0xf0 ? 4
                                                     : 0;

                if (len == 0 || i + len > n)
                        return false;
                for (size_t k = 1; k < len; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                return false;
                }
                i += len;
        }
        return true;
}

char *
support_unfold(const char *text)
{
        char *out = malloc(strlen(text) + 1), *o = out;

        assert_non_null(out);
        for (const char *p = text; *p != '\0'; p++) {
                if (p[0] == '\r' && p[1] == '\n' && p[2] == ' ') {
                        p += 2;
                        continue;
                }
                *o++ = *p;
        }
        *o = '\0';
        return out;
}

char *
support_repeat(const char *unit, size_t n)
{
        size_t len = strlen(unit);
        char *out = malloc(n * len + 1);

        assert_non_null(out);
        for (size_t i = 0; i < n; i++)
                memcpy(out + i * len, unit, len);
        out[n * len] = '\0';
        return out;
}

struct tz *
support_tz(const char *name)
{
        char *cause = NULL;
        struct tz *tz = tz_load(name, &cause);

        if (tz == NULL)
                fail_msg("tz_load('%s'): %s", name, cause);
        assert_null(cause);
        return tz;
}

struct calendar *
support_calendar(const char *division)
{
        struct calendar *cal = calendar_new();
        char *json = NULL, *cause = NULL;
        size_t len;

        if (fileio_read(SOURCE_DIR "/config/bank-holidays.json", 1 << 24, &json,
                        &len, &cause) < 0)
                fail_msg("%s", cause);
        if (calendar_add_govuk(cal, json, len, division, &cause) < 0)
                fail_msg("%s", cause);
        free(json);
        return cal;
}

int64_t
support_utc(const char *s)
{
        struct tm tm = { 0 };
        int n = 0;

        if (sscanf(s, "%d-%d-%dT%d:%d:%dZ%n", &tm.tm_year, &tm.tm_mon,
                   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
            s[n] != '\0')
                fail_msg("bad expected instant '%s' in the test", s);
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        return (int64_t)timegm(&tm);
}

void
support_one_channel(struct conf *conf, struct channel *ch, const char *dir,
                    const char *name, enum channel_type type)
{
        memset(conf, 0, sizeof(*conf));
        memset(ch, 0, sizeof(*ch));
        ch->name = (char *)name;
        ch->type = type;
        ch->url = "";
        ch->url_file = "";
        ch->secret_file = "";
        ch->token_file = "";
        ch->user_key_file = "";
        ch->account = "";
        ch->from = "";
        ch->messaging_service = "";
        ch->body = "";
        conf->dir = (char *)dir;
        conf->channels = ch;
        conf->nchannels = 1;
        conf->email.password_file = "";
        conf->email.bearer_token_file = "";
}

int
support_rmtree(const char *dir)
{
        char cmd[160];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}
