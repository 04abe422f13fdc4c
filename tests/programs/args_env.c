/*
 * args_env: prints what the runtime passed as arguments and environment.
 *
 *   argc=N
 *   argv[i]=<arg>              (one line per argument, argv[0] included)
 *   envc=N
 *   env[i]=<NAME=VALUE>        (every environment entry, in the given order)
 *   getenv(NAME)=<value>       (for each name in TIERWASM_LOOKUP, a
 *   getenv(NAME) unset          comma-separated list, looked up with getenv)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);

    int envc = 0;
    while (environ && environ[envc])
        envc++;
    printf("envc=%d\n", envc);
    for (int i = 0; i < envc; i++)
        printf("env[%d]=%s\n", i, environ[i]);

    const char *lookup = getenv("TIERWASM_LOOKUP");
    if (lookup) {
        char names[1024];
        strncpy(names, lookup, sizeof names - 1);
        names[sizeof names - 1] = '\0';
        for (char *name = strtok(names, ","); name; name = strtok(NULL, ",")) {
            const char *value = getenv(name);
            if (value)
                printf("getenv(%s)=%s\n", name, value);
            else
                printf("getenv(%s) unset\n", name);
        }
    }
    return 0;
}
