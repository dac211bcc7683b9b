#include "token.h"

#include <sodium.h>
#include <string.h>

#define RAW_LEN      32
#define FEED_CONTEXT "ofsted-notify calendar feed"

/* TOKEN_PREFIX and the base64url text of `raw`. */
static void
encode(const unsigned char raw[RAW_LEN], char out[TOKEN_LEN + 1])
{
        size_t pre = strlen(TOKEN_PREFIX);

        memcpy(out, TOKEN_PREFIX, pre);
        sodium_bin2base64(out + pre, TOKEN_LEN + 1 - pre, raw, RAW_LEN,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int
token_make(char out[TOKEN_LEN + 1])
{
        unsigned char raw[RAW_LEN];

        if (sodium_init() < 0)
                return -1;
        randombytes_buf(raw, sizeof(raw));
        encode(raw, out);
        sodium_memzero(raw, sizeof(raw));
        return 0;
}

bool
token_well_formed(const char *s)
{
        size_t pre = strlen(TOKEN_PREFIX);

        if (strlen(s) != TOKEN_LEN || strncmp(s, TOKEN_PREFIX, pre) != 0)
                return false;
        for (s += pre; *s; s++) {
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
                        return false;
        }
        return true;
}

void
token_hash(const char *token, unsigned char out[TOKEN_HASH_LEN])
{
        crypto_generichash(out, TOKEN_HASH_LEN, (const unsigned char *)token,
                           strlen(token), NULL, 0);
}

void
token_feed_key(const char *token, char out[TOKEN_LEN + 1])
{
        unsigned char raw[RAW_LEN];

        /* The key is the token's text: 47 bytes, within BLAKE2b's 64. */
        crypto_generichash(
            raw, sizeof(raw), (const unsigned char *)FEED_CONTEXT,
            strlen(FEED_CONTEXT), (const unsigned char *)token, strlen(token));
        encode(raw, out);
        sodium_memzero(raw, sizeof(raw));
}

bool
token_name_valid(const char *name)
{
        size_t n = strlen(name);

        if (n == 0 || n > TOKEN_NAME_MAX)
                return false;
        for (; *name; name++) {
                if (!((*name >= 'a' && *name <= 'z') ||
                      (*name >= 'A' && *name <= 'Z') ||
                      (*name >= '0' && *name <= '9') || *name == '.' ||
                      *name == '_' || *name == '-' || *name == '@'))
                        return false;
        }
        return true;
}
