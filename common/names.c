#include "names.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *const names_delivery_status[DELIVERY_NSTATUS] = {
        [DELIVERY_PENDING] = "pending",     [DELIVERY_SENDING] = "sending",
        [DELIVERY_DELIVERED] = "delivered", [DELIVERY_RETRY] = "retry",
        [DELIVERY_FAILED] = "failed",
};

bool
names_valid_urn(const char *s)
{
        return strlen(s) == NAMES_URN_LEN &&
               strspn(s, "0123456789") == NAMES_URN_LEN;
}

int
names_number(const char *s, long long min, long long max, long long *out)
{
        char *end;
        long long v;

        if (s[0] < '0' || s[0] > '9')
                return -1;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || *end != '\0' || v < min || v > max)
                return -1;
        *out = v;
        return 0;
}

int
names_delivery_status_parse(const char *text, enum delivery_status *out)
{
        for (int i = 0; i < DELIVERY_NSTATUS; i++) {
                if (text != NULL &&
                    strcmp(text, names_delivery_status[i]) == 0) {
                        *out = (enum delivery_status)i;
                        return 0;
                }
        }
        return -1;
}

bool
names_delivery_settled(enum delivery_status status)
{
        return status == DELIVERY_DELIVERED || status == DELIVERY_FAILED;
}
