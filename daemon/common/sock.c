/* sock.c — shared ZeroMQ chores (see sock.h). */
#include "daemon/common/sock.h"

#include <string.h>
#include <time.h>

uint64_t sock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int sock_recv_frames(void *sock, zmq_msg_t *f, int cap, int flags)
{
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, flags) < 0) {
            zmq_msg_close(&m);
            if (n > 0)
                break; /* a message arrives whole: only shutdown cuts it */
            return -1;
        }
        more = zmq_msg_more(&m);
        if (n < cap)
            f[n] = m;
        else
            zmq_msg_close(&m);
        n++;
    }
    return n;
}

void sock_close_frames(zmq_msg_t *f, int n, int cap)
{
    for (int i = 0; i < n && i < cap; i++)
        zmq_msg_close(&f[i]);
}

void *sock_monitor_new(void *zctx, void *sock, const char *name, int events)
{
    void *pair = NULL;
    int zero = 0;
    if (zmq_socket_monitor(sock, name, events) != 0 || !(pair = zmq_socket(zctx, ZMQ_PAIR)) ||
        zmq_setsockopt(pair, ZMQ_LINGER, &zero, sizeof zero) != 0 || zmq_connect(pair, name) != 0) {
        sock_close(&pair);
        return NULL;
    }
    return pair;
}

int sock_monitor_event(void *monitor)
{
    zmq_msg_t f[2];
    int n = sock_recv_frames(monitor, f, 2, ZMQ_DONTWAIT), event = -1;
    if (n == 2 && zmq_msg_size(&f[0]) >= 6) {
        uint16_t e;
        memcpy(&e, zmq_msg_data(&f[0]), sizeof e);
        event = e;
    }
    sock_close_frames(f, n, 2);
    return event;
}

void sock_close(void **sock)
{
    if (*sock) {
        int zero = 0;
        zmq_setsockopt(*sock, ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(*sock);
        *sock = NULL;
    }
}
