/*
 * form: reading an application/x-www-form-urlencoded body as a test
 * does, written here and not taken from the code under test, for the
 * unit and integration tests of the channels that send one.
 */
#ifndef ONOTIFY_TEST_FORM_H
#define ONOTIFY_TEST_FORM_H

/* The value of field `name` in `form`, its %XX and '+' decoded (a bad
 * escape fails the test), or NULL when there is no such field. Caller
 * frees. */
char *form_field(const char *form, const char *name);

#endif
