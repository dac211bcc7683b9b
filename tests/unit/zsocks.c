#include "zsocks.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <zmq.h>

void *
zsocks_connect(void *zctx, int type, const char *endpoint, void **socks, int n)
{
        void *s = zmq_socket(zctx, type);
        int zero = 0;

        assert_non_null(s);
        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
        for (int i = 0; i < n; i++) {
                if (socks[i] == NULL) {
                        socks[i] = s;
                        break;
                }
        }
        assert_int_equal(zmq_connect(s, endpoint), 0);
        return s;
}

void
zsocks_drop(void **socks, int n, void *s)
{
        for (int i = 0; i < n; i++) {
                if (socks[i] == s)
                        socks[i] = NULL;
        }
        zmq_close(s);
}

void
zsocks_close_all(void **socks, int n)
{
        for (int i = 0; i < n; i++) {
                if (socks[i] != NULL)
                        zmq_close(socks[i]);
                socks[i] = NULL;
        }
}
