/*
 * clocks_random: checks the clocks, sleeping and random_get.
 *
 *   - CLOCK_MONOTONIC read 10000 times never goes backwards
 *   - CLOCK_REALTIME is after 2020-01-01 and before 2200-01-01, and agrees
 *     with time(NULL)
 *   - clock_getres of both clocks is positive and at most 1 s
 *   - nanosleep(50 ms), usleep(20 ms) and poll(NULL, 0, 30 ms) (these all
 *     become poll_oneoff clock subscriptions) each take at least their time
 *     by the monotonic clock, and less than 5 s
 *   - getentropy(32 bytes) twice: neither all zero, and the two differ;
 *     arc4random_buf of 1 MiB (many random_get calls) has every byte value
 *
 * Each check prints "ok <what>" or "FAIL <what>: <observed>"; ends with
 * "clocks_random: N failures" and exit status 0 when none failed, else 1.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int failures = 0;

static void check(const char *what, int cond, const char *observed) {
    if (cond) {
        printf("ok %s\n", what);
    } else {
        printf("FAIL %s: %s\n", what, observed);
        failures++;
    }
}

static int64_t now_ns(clockid_t clock) {
    struct timespec ts;
    if (clock_gettime(clock, &ts) != 0)
        return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void check_sleep(const char *what, int64_t want_ns, void (*sleeper)(void)) {
    char obs[128];
    int64_t start = now_ns(CLOCK_MONOTONIC);
    sleeper();
    int64_t took = now_ns(CLOCK_MONOTONIC) - start;
    snprintf(obs, sizeof obs, "took %lld ns, wanted at least %lld ns", (long long)took,
             (long long)want_ns);
    check(what, took >= want_ns && took < 5000000000LL, obs);
}

static void sleep_nanosleep(void) {
    struct timespec ts = {0, 50 * 1000 * 1000};
    if (nanosleep(&ts, NULL) != 0)
        perror("nanosleep");
}

static void sleep_usleep(void) {
    if (usleep(20 * 1000) != 0)
        perror("usleep");
}

static void sleep_poll(void) {
    if (poll(NULL, 0, 30) != 0)
        perror("poll");
}

int main(void) {
    char obs[256];

    /* Monotonic. */
    int64_t prev = now_ns(CLOCK_MONOTONIC), first = prev;
    int backwards = 0;
    for (int i = 0; i < 10000; i++) {
        int64_t t = now_ns(CLOCK_MONOTONIC);
        if (t < prev)
            backwards++;
        prev = t;
    }
    snprintf(obs, sizeof obs, "first %lld, went backwards %d times", (long long)first, backwards);
    check("monotonic clock never goes backwards", first >= 0 && backwards == 0, obs);

    /* Realtime. */
    int64_t real = now_ns(CLOCK_REALTIME);
    snprintf(obs, sizeof obs, "realtime %lld ns", (long long)real);
    check("realtime after 2020 and before 2200",
          real / 1000000000 > 1577836800LL && real / 1000000000 < 7258118400LL, obs);
    time_t t = time(NULL);
    snprintf(obs, sizeof obs, "time() %lld vs clock %lld", (long long)t,
             (long long)(real / 1000000000));
    check("time() agrees with CLOCK_REALTIME", llabs((long long)t - real / 1000000000) <= 2, obs);

    /* Resolutions. */
    struct timespec res;
    int rc = clock_getres(CLOCK_MONOTONIC, &res);
    snprintf(obs, sizeof obs, "rc %d, %lld s %ld ns", rc, (long long)res.tv_sec, res.tv_nsec);
    check("monotonic resolution in (0, 1 s]",
          rc == 0 && (res.tv_nsec > 0 || res.tv_sec == 1) && res.tv_sec <= 1, obs);
    rc = clock_getres(CLOCK_REALTIME, &res);
    snprintf(obs, sizeof obs, "rc %d, %lld s %ld ns", rc, (long long)res.tv_sec, res.tv_nsec);
    check("realtime resolution in (0, 1 s]",
          rc == 0 && (res.tv_nsec > 0 || res.tv_sec == 1) && res.tv_sec <= 1, obs);

    /* Sleeps. */
    check_sleep("nanosleep 50 ms", 50 * 1000 * 1000, sleep_nanosleep);
    check_sleep("usleep 20 ms", 20 * 1000 * 1000, sleep_usleep);
    check_sleep("poll timeout 30 ms", 30 * 1000 * 1000, sleep_poll);

    /* Random. */
    unsigned char a[32], b[32];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    int ra = getentropy(a, sizeof a), rb = getentropy(b, sizeof b);
    int nonzero = 0;
    for (size_t i = 0; i < sizeof a; i++)
        nonzero += a[i] != 0;
    snprintf(obs, sizeof obs, "rc %d/%d, %d nonzero bytes", ra, rb, nonzero);
    check("getentropy fills bytes", ra == 0 && rb == 0 && nonzero > 0, obs);
    check("two getentropy calls differ", memcmp(a, b, sizeof a) != 0, "identical");

    static unsigned char big[1 << 20];
    arc4random_buf(big, sizeof big);
    int seen[256] = {0}, distinct = 0;
    for (size_t i = 0; i < sizeof big; i++)
        seen[big[i]] = 1;
    for (int i = 0; i < 256; i++)
        distinct += seen[i];
    snprintf(obs, sizeof obs, "%d distinct byte values", distinct);
    check("1 MiB of arc4random_buf has every byte value", distinct == 256, obs);

    printf("clocks_random: %d failures\n", failures);
    return failures ? 1 : 0;
}
