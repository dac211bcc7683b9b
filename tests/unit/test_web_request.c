/*
 * Tests for the router (web/request.h): a path two routes share answers
 * each method with its own route and any other with 405 and an Allow list
 * of both; a route's own method leaves no Allow behind (the fuzz finding
 * of "POST /signin", which a GET route before it had marked); a path
 * parameter of the wrong form is 404 whatever the method; HEAD is GET.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "request.h"
#include "support.h"

/* A path with a GET and a POST route: each method its own route, no
 * Allow; another method 405 with both. */
static void
test_shared_path(void **state)
{
        struct request_route r;
        const char *allow = "unset";

        (void)state;
        assert_int_equal(request_match("POST", "/signin", &r, &allow), 0);
        assert_int_equal(r.id, ROUTE_SIGNIN);
        assert_null(allow);
        assert_int_equal(request_match("GET", "/signin", &r, &allow), 0);
        assert_int_equal(r.id, ROUTE_PAGE_SIGNIN);
        assert_null(allow);
        assert_int_equal(request_match("PUT", "/signin", &r, &allow), 405);
        assert_string_equal(allow, "GET, POST");
}

/* One route's path: the other method 405 naming it; HEAD served as GET. */
static void
test_one_method(void **state)
{
        struct request_route r;
        const char *allow;

        (void)state;
        assert_int_equal(request_match("DELETE", "/api/v1/schools", &r, &allow),
                         405);
        assert_string_equal(allow, "GET");
        assert_int_equal(
            request_match("GET", "/api/v1/schools/123456/events", &r, &allow),
            405);
        assert_string_equal(allow, "POST");
        assert_int_equal(request_match("HEAD", "/healthz", &r, &allow), 0);
        assert_int_equal(r.id, ROUTE_HEALTHZ);
        assert_null(allow);
}

/* No such path, or a parameter of the wrong form: 404, no Allow. */
static void
test_not_found(void **state)
{
        struct request_route r;
        const char *allow;

        (void)state;
        assert_int_equal(request_match("GET", "/api/v1/nothing", &r, &allow),
                         404);
        assert_null(allow);
        assert_int_equal(request_match("POST", "/signin/short", &r, &allow),
                         404);
        assert_null(allow);
        assert_int_equal(request_match("PUT", "/api/v1/cases/abc", &r, &allow),
                         404);
        assert_null(allow);
        assert_int_equal(request_match("GET", "/api/v1/cases/7", &r, &allow),
                         0);
        assert_int_equal(r.case_id, 7);
}

UNIT_MAIN({
    cmocka_unit_test(test_shared_path),
    cmocka_unit_test(test_one_method),
    cmocka_unit_test(test_not_found),
})
