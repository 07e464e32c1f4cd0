/*
 * Stand-in for Kubernetes' e2e-test-images/nonewprivs: installed setuid
 * root, it prints the effective uid it runs with. Under no_new_privs the
 * kernel ignores the setuid bit, so a container running it as uid 1000
 * prints "Effective uid: 1000"; without it, "Effective uid: 0".
 */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("Effective uid: %d\n", (int)geteuid());
  return 0;
}
