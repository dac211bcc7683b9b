/*
 * zsocks: the client sockets of the unit tests that serve a real socket
 * (feed, control). Each client is noted in the test's table, so that
 * teardown can close what a failed assertion left open: the context ends
 * only once every socket is closed.
 */
#ifndef ONOTIFY_TEST_ZSOCKS_H
#define ONOTIFY_TEST_ZSOCKS_H

/*
 * A socket of `type` on zctx with LINGER 0, noted in the first free slot
 * of socks[n] and connected to endpoint; fails the test if it cannot.
 */
void *zsocks_connect(void *zctx, int type, const char *endpoint, void **socks,
                     int n);
/* Closes s and clears its slot. */
void zsocks_drop(void **socks, int n, void *s);
/* Closes every socket still noted in socks[n]. */
void zsocks_close_all(void **socks, int n);

#endif
