/* Bursts of N concurrent runs of a command, forked together by a small process, each timed from
 * its own fork to its own exit: what ten assistants starting their headers helpers at once see,
 * without the harness's own spawning in the figures (Node's spawn forks and execs one child after
 * another in its one thread, and a child's exit is read only when the loop is free again).
 * Usage: burst N ROUNDS COMMAND [ARG...]   prints one JSON line: {"ms":[...],"failed":K}
 * Built by bench/agent-socket with the machine's cc; not part of Lanyard. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: burst N ROUNDS COMMAND [ARG...]\n");
    return 2;
  }
  int n = atoi(argv[1]), rounds = atoi(argv[2]);
  if (n < 1 || n > 256 || rounds < 1) return 2;
  pid_t *pid = calloc(n, sizeof *pid);
  double *start = calloc(n, sizeof *start);
  int failed = 0, first = 1;
  printf("{\"ms\":[");
  for (int r = 0; r < rounds; r++) {
    for (int i = 0; i < n; i++) {
      start[i] = now_ms();
      pid[i] = fork();
      if (pid[i] == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
          dup2(null, 1);
          dup2(null, 2);
        }
        execvp(argv[3], argv + 3);
        _exit(127);
      }
      if (pid[i] < 0) failed++;
    }
    for (int done = 0; done < n;) {
      int status;
      pid_t p = waitpid(-1, &status, 0);
      if (p < 0) break;
      double end = now_ms();
      for (int i = 0; i < n; i++) {
        if (pid[i] != p) continue;
        done++;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
          printf("%s%.3f", first ? "" : ",", end - start[i]);
          first = 0;
        } else {
          failed++;
        }
      }
    }
    usleep(200000);
  }
  printf("],\"failed\":%d}\n", failed);
  return 0;
}
