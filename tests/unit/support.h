/*
 * support: helpers shared by the unit tests, so each suite loads the shipped
 * data the same way and fails with the same clear message when it cannot.
 */
#ifndef ONOTIFY_TEST_SUPPORT_H
#define ONOTIFY_TEST_SUPPORT_H

#include "calendar.h"
#include "conf.h"
#include "tz.h"

#include <stdint.h>

/* The zone from the system tz database; fails the test if it cannot. */
struct tz *support_tz(const char *name);
/* "YYYY-MM-DDTHH:MM:SSZ" to a UTC instant, by glibc's timegm (an oracle
 * independent of civil.h); fails the test on any other text. */
int64_t support_utc(const char *s);
/* A calendar holding `division` of config/bank-holidays.json. */
struct calendar *support_calendar(const char *division);

/* Removes the scratch directory `dir` and all below it: 0, or -1. */
int support_rmtree(const char *dir);
/*
 * A config in `dir` with one channel `name` of `type` and no secret files,
 * as conf_load() leaves it; ch is the channel, conf points to it.
 */
void support_one_channel(struct conf *conf, struct channel *ch, const char *dir,
                         const char *name, enum channel_type type);

#endif
