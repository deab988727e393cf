/* it_flood.c — integration test helper: a connection flood, alone.
 *
 *   it_flood HOST PORT COUNT SECONDS
 *
 * Opens COUNT TCP connections to HOST:PORT (IPv4) without ever sending a
 * byte, as a careless or hostile client might, keeps them SECONDS, then
 * closes them and prints "flood: N of COUNT connected, M closed by the
 * party". Exits 0, or 1 when it could not open its own sockets. Lets a
 * test see that the party closes idle connections (no handshake) and
 * keeps serving others while its descriptors run out.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FLOOD_MAX 20000

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: it_flood HOST PORT COUNT SECONDS\n");
        return 2;
    }
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    int count = atoi(argv[3]), seconds = atoi(argv[4]);
    if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1 || count < 1 || count > FLOOD_MAX ||
        seconds < 1) {
        fprintf(stderr, "it_flood: bad arguments\n");
        return 2;
    }
    struct pollfd *fd = calloc((size_t)count, sizeof *fd);
    if (!fd)
        return 1;
    for (int i = 0; i < count; i++) {
        fd[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fd[i].fd < 0) {
            fprintf(stderr, "it_flood: socket %d: %s\n", i, strerror(errno));
            return 1;
        }
        if (connect(fd[i].fd, (struct sockaddr *)&to, sizeof to) != 0 && errno != EINPROGRESS) {
            fprintf(stderr, "it_flood: connect %d: %s\n", i, strerror(errno));
            return 1;
        }
        fd[i].events = POLLOUT;
    }
    /* Watch until the time is up: which connect, which the party closes. */
    int connected = 0, closed = 0;
    char *seen = calloc((size_t)count, 2);
    time_t end = time(NULL) + seconds;
    while (seen && time(NULL) < end) {
        if (poll(fd, (nfds_t)count, 100) < 0)
            break;
        for (int i = 0; i < count; i++) {
            if (!fd[i].revents)
                continue;
            if ((fd[i].revents & POLLOUT) && !seen[2 * i]) {
                int e = 0;
                socklen_t len = sizeof e;
                getsockopt(fd[i].fd, SOL_SOCKET, SO_ERROR, &e, &len);
                seen[2 * i] = 1;
                connected += e == 0;
                fd[i].events = POLLIN; /* the party's close reads as end of file */
            } else if ((fd[i].revents & (POLLIN | POLLHUP | POLLERR)) && !seen[2 * i + 1]) {
                seen[2 * i + 1] = 1;
                closed++;
                fd[i].events = 0;
            }
        }
    }
    for (int i = 0; i < count; i++)
        close(fd[i].fd);
    printf("flood: %d of %d connected, %d closed by the party\n", connected, count, closed);
    free(seen);
    free(fd);
    return 0;
}
