/* sock.h — small ZeroMQ chores the daemon and the client share.
 *
 * Reading a whole multipart message while keeping only the frames wanted,
 * watching a socket's connection events through a monitor, closing without
 * lingering, and the monotonic clock every wait is measured on.
 */
#ifndef TRINE_SOCK_H
#define TRINE_SOCK_H

#include <stdint.h>
#include <zmq.h>

/* Milliseconds on a monotonic clock. */
uint64_t sock_now_ms(void);

/* Receives one whole message from sock (flags as for zmq_msg_recv) and
 * keeps its first cap frames in f[0 .. cap), which the caller closes with
 * sock_close_frames; further frames are read and dropped. Returns how many
 * frames the message had (possibly more than cap), or -1 with zmq_errno()
 * set when nothing could be read, keeping no frame. */
int sock_recv_frames(void *sock, zmq_msg_t *f, int cap, int flags);

/* Closes f[0 .. min(n, cap)) as kept by sock_recv_frames. */
void sock_close_frames(zmq_msg_t *f, int n, int cap);

/* Starts a monitor of sock's events on the inproc endpoint name and
 * returns the PAIR socket that reads them (close it with sock_close), or
 * NULL. */
void *sock_monitor_new(void *zctx, void *sock, const char *name, int events);

/* Reads one event from a monitor socket: its ZMQ_EVENT_* number, or -1. */
int sock_monitor_event(void *monitor);

/* Closes *sock without lingering over unsent messages; accepts NULL. */
void sock_close(void **sock);

#endif
