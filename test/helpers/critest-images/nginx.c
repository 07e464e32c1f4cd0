/*
 * Stand-in for nginx in critest's namespace specs: a process named nginx
 * (its executable is /usr/sbin/nginx) whose command line reads like
 * nginx's master process ("nginx: master process ..."), which writes its
 * pid to /var/run/nginx.pid as nginx does, and which serves
 * /usr/share/nginx/html on port 80 through busybox httpd, its child.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char TITLE[] = "nginx: master process nginx -g daemon off;";
static pid_t worker;

static void stop(int sig) {
  (void)sig;
  if (worker > 0) kill(worker, SIGTERM);
  _exit(0);
}

int main(int argc, char **argv) {
  (void)argc;
  if (strcmp(argv[0], TITLE) != 0) {
    /* Re-executed under nginx's own title: the file name (and so the process name) stays nginx. */
    char *args[] = {(char *)TITLE, NULL};
    execv("/usr/sbin/nginx", args);
    perror("nginx: exec /usr/sbin/nginx");
    return 1;
  }
  FILE *f = fopen("/var/run/nginx.pid", "w");
  if (f) {
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
  }
  signal(SIGTERM, stop);
  signal(SIGINT, stop);
  signal(SIGQUIT, stop);
  worker = fork();
  if (worker == 0) {
    char *args[] = {"httpd", "-f", "-p", "80", "-h", "/usr/share/nginx/html", NULL};
    execv("/bin/busybox", args);
    _exit(127);
  }
  int status;
  while (waitpid(worker, &status, 0) < 0 && errno == EINTR) {
  }
  return 1;
}
