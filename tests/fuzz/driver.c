/*
 * driver: replays inputs through a fuzz target without libFuzzer, so every
 * build (gcc too) runs the corpus and its regression inputs as a test.
 *
 *   replay_<target> PATH...
 *
 * Each PATH is a file or a directory whose regular files are replayed in
 * name order. Exits 0 when every input ran; 1 when a path cannot be read
 * or no input was found at all (an empty corpus proves nothing). A crash or
 * a failed invariant ends the process as it would under libFuzzer.
 */
#include "fuzz.h"

#include "fileio.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Larger than any corpus file; libFuzzer's default -max_len is 4096. */
#define INPUT_MAX (1u << 20)

static int
replay_file(const char *path)
{
        char *buf = NULL, *cause = NULL;
        size_t len;

        if (fileio_read(path, INPUT_MAX, &buf, &len, &cause) < 0) {
                fprintf(stderr, "replay: %s\n", cause);
                free(cause);
                return -1;
        }
        LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
        free(buf);
        return 0;
}

static int
only_visible(const struct dirent *e)
{
        return e->d_name[0] != '.';
}

/* Replays every regular file in `dir`; returns how many, or -1. */
static int
replay_dir(const char *dir)
{
        struct dirent **names = NULL;
        int n = scandir(dir, &names, only_visible, alphasort), count = 0;

        if (n < 0) {
                perror(dir);
                return -1;
        }
        for (int i = 0; i < n; i++) {
                char path[4096];
                struct stat sb;

                snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
                if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
                        if (replay_file(path) < 0)
                                count = -1;
                        else if (count >= 0)
                                count++;
                }
                free(names[i]);
        }
        free(names);
        return count;
}

int
main(int argc, char **argv)
{
        int total = 0;

        if (argc < 2) {
                fprintf(stderr, "usage: %s PATH...\n", argv[0]);
                return 2;
        }
        for (int i = 1; i < argc; i++) {
                struct stat sb;
                int n;

                if (stat(argv[i], &sb) < 0) {
                        perror(argv[i]);
                        return 1;
                }
                n = S_ISDIR(sb.st_mode) ? replay_dir(argv[i])
                                        : (replay_file(argv[i]) < 0 ? -1 : 1);
                if (n < 0)
                        return 1;
                printf("%s: %d inputs replayed\n", argv[i], n);
                total += n;
        }
        if (total == 0) {
                fprintf(stderr, "replay: no inputs: an empty corpus proves "
                                "nothing\n");
                return 1;
        }
        return 0;
}
