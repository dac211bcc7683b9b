/*
 * calendar_fixture: the shipped calendar and the date helpers calendar's
 * unit tests share (calendar_fixture.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "calendar_fixture.h"
#include "civil.h"
#include "fileio.h"

int32_t
calendar_fx_day(const char *s)
{
        int32_t d = 0;

        if (civil_parse_date(s, &d) < 0)
                fail_msg("bad date '%s' in the test", s);
        return d;
}

void
calendar_fx_assert_day(int32_t got, const char *want)
{
        char buf[16];

        if (got != calendar_fx_day(want)) {
                civil_format_date(got, buf, sizeof(buf));
                fail_msg("got %s, want %s", buf, want);
        }
}

/* One step of calendar_working_day() or calendar_roll(), named `what`. */
static void
assert_step(int32_t (*step)(const struct calendar *, int32_t, int, int32_t *),
            const char *what, const struct calendar *cal, const char *from,
            int n, const char *want, const char *uncovered)
{
        int32_t unc = CALENDAR_FX_UNSET;
        int32_t got = step(cal, calendar_fx_day(from), n, &unc);
        int32_t want_unc =
            uncovered == NULL ? CALENDAR_COVERED : calendar_fx_day(uncovered);
        char buf[16], ubuf[16];

        if (got != calendar_fx_day(want)) {
                civil_format_date(got, buf, sizeof(buf));
                fail_msg("%s from %s n=%d: got %s, want %s", what, from, n, buf,
                         want);
        }
        if (unc != want_unc) {
                civil_format_date(unc, ubuf, sizeof(ubuf));
                fail_msg("%s from %s n=%d: uncovered %d (%s), want %s", what,
                         from, n, (int)unc, ubuf,
                         uncovered != NULL ? uncovered : "covered");
        }
}

void
calendar_fx_assert_working_day(const struct calendar *cal, const char *from,
                               int n, const char *want, const char *uncovered)
{
        assert_step(calendar_working_day, "working day", cal, from, n, want,
                    uncovered);
}

void
calendar_fx_assert_roll(const struct calendar *cal, const char *day,
                        int direction, const char *want, const char *uncovered)
{
        assert_step(calendar_roll, "roll", cal, day, direction, want,
                    uncovered);
}

int
calendar_fx_setup(void **state)
{
        struct calendar_fx *fx = calloc(1, sizeof(*fx));
        char *cause = NULL;

        if (fx == NULL)
                return -1;
        *state = fx;
        if (fileio_read(CALENDAR_FX_HOLIDAYS, 1 << 20, &fx->json, &fx->len,
                        &cause) < 0) {
                print_error("%s\n", cause);
                free(cause);
                return -1;
        }
        fx->cal = calendar_new();
        if (fx->cal == NULL)
                return -1;
        if (calendar_add_govuk(fx->cal, fx->json, fx->len, CALENDAR_FX_EW,
                               &cause) < 0) {
                print_error("%s\n", cause);
                free(cause);
                return -1;
        }
        return 0;
}

int
calendar_fx_teardown(void **state)
{
        struct calendar_fx *fx = *state;

        if (fx == NULL)
                return 0;
        calendar_destroy(&fx->cal);
        free(fx->json);
        free(fx);
        *state = NULL;
        return 0;
}
