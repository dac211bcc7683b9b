#include "proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

json_t *
proto_error(const char *fmt, ...)
{
        json_t *o = json_object(), *err;
        char *msg;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        json_object_set_new(o, "ok", json_false());
        err = json_string(msg);
        /* A message quoting a request cut mid-character is still said. */
        if (err == NULL)
                err = json_string("bad request");
        json_object_set_new(o, "error", err);
        free(msg);
        return o;
}

json_t *
proto_ok(void)
{
        json_t *o = json_object();

        json_object_set_new(o, "ok", json_true());
        return o;
}
