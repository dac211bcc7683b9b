/*
 * token: API tokens for ofsted-notify-web (issue 19), what they look like
 * and how they are kept.
 *
 * A token is TOKEN_PREFIX and 32 random bytes in unpadded base64url. The
 * scheduler keeps only its BLAKE2b-256 hash (crypto_generichash): the
 * token carries 256 bits of entropy, so a slow password hash would add
 * nothing but cost on every request. Each token also has a calendar feed
 * key, a second secret derived from it (BLAKE2b keyed with the token), for
 * the feed URLs calendar apps poll without a header: anyone holding the
 * token can work it out again, the scheduler keeps its hash too, and
 * revoking the token revokes its feed.
 *
 * Library code: nothing here logs or exits.
 */
#ifndef ONOTIFY_TOKEN_H
#define ONOTIFY_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define TOKEN_PREFIX "ont_"
/* Characters of a token or a feed key, without the NUL. */
#define TOKEN_LEN      (sizeof(TOKEN_PREFIX) - 1 + 43)
#define TOKEN_HASH_LEN 32
/* The longest token name: letters, digits, '.', '_', '-' and '@'. */
#define TOKEN_NAME_MAX 64

/* A new random token into out (TOKEN_LEN + 1 bytes); -1 when libsodium
 * cannot start. */
int token_make(char out[TOKEN_LEN + 1]);
/* Whether `s` has the shape of a token (or feed key): no hash is made of
 * anything else. */
bool token_well_formed(const char *s);
/* The stored hash of a token or a feed key. */
void token_hash(const char *token, unsigned char out[TOKEN_HASH_LEN]);
/* The calendar feed key of `token` (well formed) into out. */
void token_feed_key(const char *token, char out[TOKEN_LEN + 1]);
/* Whether `name` is a good token name. */
bool token_name_valid(const char *name);

#endif
