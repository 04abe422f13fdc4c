/*
 * hello: the smallest WASI command. Prints one line to stdout and one to
 * stderr, and returns 0 from main.
 */
#include <stdio.h>

int main(void) {
    printf("Hello, world!\n");
    fprintf(stderr, "hello on stderr\n");
    return 0;
}
