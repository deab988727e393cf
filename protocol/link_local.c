/* link_local.c — in-process link (see link_local.h). Each ordered pair has
 * its own queue; a queue's condition variable waits on CLOCK_MONOTONIC so
 * that the timeout does not move with the wall clock. */
#include "link_local.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct msg {
    struct msg *next;
    link_hdr_t hdr;
    size_t len;
    unsigned char data[];
} msg_t;

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    msg_t *head, *tail;
} queue_t;

struct link_local {
    unsigned timeout_ms;
    queue_t q[PROTO_PARTIES][PROTO_PARTIES]; /* q[from][to] */
    pthread_mutex_t fail_lock;
    bool failed[PROTO_PARTIES];
};

typedef struct {
    link_local_t *hub;
    proto_party_t self;
} endpoint_t;

/* The endpoints handed out by link_local_endpoint live in the hub's
 * allocation, after the struct, so a link_t stays valid as long as the hub. */
typedef struct {
    struct link_local hub;
    endpoint_t ep[PROTO_PARTIES];
} hub_alloc_t;

static bool is_failed(link_local_t *hub, proto_party_t p)
{
    pthread_mutex_lock(&hub->fail_lock);
    bool f = hub->failed[p];
    pthread_mutex_unlock(&hub->fail_lock);
    return f;
}

static trine_status_t local_send(void *impl, proto_party_t to, const link_hdr_t *hdr,
                                 const void *buf, size_t len, trine_err_t *err)
{
    endpoint_t *ep = impl;
    link_local_t *hub = ep->hub;
    if (to >= PROTO_PARTIES || to == ep->self || len == 0)
        return trine_err_set(err, TRINE_EINVAL, "P%d: bad send to P%d of %zu bytes", (int)ep->self,
                             (int)to, len);
    if (is_failed(hub, ep->self) || is_failed(hub, to))
        return trine_err_set(err, TRINE_EPEER, "P%d: link to P%d is closed", (int)ep->self,
                             (int)to);
    msg_t *m = malloc(sizeof *m + len);
    if (!m)
        return trine_err_set(err, TRINE_ENOMEM, "P%d: no memory for a %zu-byte message",
                             (int)ep->self, len);
    m->next = NULL;
    m->hdr = *hdr;
    m->len = len;
    memcpy(m->data, buf, len);
    queue_t *q = &hub->q[ep->self][to];
    pthread_mutex_lock(&q->lock);
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    pthread_cond_broadcast(&q->ready);
    pthread_mutex_unlock(&q->lock);
    return TRINE_OK;
}

static trine_status_t local_recv(void *impl, proto_party_t from, link_hdr_t *hdr, void *buf,
                                 size_t len, trine_err_t *err)
{
    endpoint_t *ep = impl;
    link_local_t *hub = ep->hub;
    if (from >= PROTO_PARTIES || from == ep->self)
        return trine_err_set(err, TRINE_EINVAL, "P%d: bad receive from P%d", (int)ep->self,
                             (int)from);
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += hub->timeout_ms / 1000;
    deadline.tv_nsec += (long)(hub->timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L)
        deadline.tv_sec++, deadline.tv_nsec -= 1000000000L;

    queue_t *q = &hub->q[from][ep->self];
    trine_status_t st = TRINE_OK;
    pthread_mutex_lock(&q->lock);
    /* Poll the failure flags between short waits: link_local_fail cannot
     * signal every queue's condition variable under its own lock. */
    while (!q->head) {
        if (is_failed(hub, ep->self) || is_failed(hub, from)) {
            st = trine_err_set(err, TRINE_EPEER, "P%d: P%d has failed or left", (int)ep->self,
                               (int)from);
            break;
        }
        struct timespec now, step;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > deadline.tv_sec ||
            (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec)) {
            st = trine_err_set(err, TRINE_ETIMEOUT, "P%d: no message from P%d within %u ms",
                               (int)ep->self, (int)from, hub->timeout_ms);
            break;
        }
        step = now;
        step.tv_nsec += 10000000L; /* 10 ms */
        if (step.tv_nsec >= 1000000000L)
            step.tv_sec++, step.tv_nsec -= 1000000000L;
        if (step.tv_sec > deadline.tv_sec ||
            (step.tv_sec == deadline.tv_sec && step.tv_nsec > deadline.tv_nsec))
            step = deadline;
        pthread_cond_timedwait(&q->ready, &q->lock, &step);
    }
    msg_t *m = NULL;
    if (st == TRINE_OK) {
        m = q->head;
        q->head = m->next;
        if (!q->head)
            q->tail = NULL;
    }
    pthread_mutex_unlock(&q->lock);
    if (!m)
        return st;
    if (m->len != len)
        st = trine_err_set(err, TRINE_EFORMAT,
                           "P%d: message %llu from P%d has %zu bytes, expected %zu", (int)ep->self,
                           (unsigned long long)m->hdr.step, (int)from, m->len, len);
    else
        memcpy(buf, m->data, len);
    *hdr = m->hdr;
    free(m);
    return st;
}

link_local_t *link_local_new(unsigned timeout_ms)
{
    if (timeout_ms == 0)
        return NULL;
    hub_alloc_t *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    link_local_t *hub = &a->hub;
    hub->timeout_ms = timeout_ms;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    for (int i = 0; i < PROTO_PARTIES; i++) {
        for (int j = 0; j < PROTO_PARTIES; j++) {
            pthread_mutex_init(&hub->q[i][j].lock, NULL);
            pthread_cond_init(&hub->q[i][j].ready, &attr);
        }
        a->ep[i].hub = hub;
        a->ep[i].self = (proto_party_t)i;
    }
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&hub->fail_lock, NULL);
    return hub;
}

void link_local_destroy(link_local_t **hub)
{
    if (!hub || !*hub)
        return;
    link_local_t *h = *hub;
    for (int i = 0; i < PROTO_PARTIES; i++)
        for (int j = 0; j < PROTO_PARTIES; j++) {
            for (msg_t *m = h->q[i][j].head, *next; m; m = next) {
                next = m->next;
                free(m);
            }
            pthread_mutex_destroy(&h->q[i][j].lock);
            pthread_cond_destroy(&h->q[i][j].ready);
        }
    pthread_mutex_destroy(&h->fail_lock);
    free((hub_alloc_t *)h); /* the hub is the first member of its allocation */
    *hub = NULL;
}

void link_local_endpoint(link_local_t *hub, proto_party_t party, link_t *link)
{
    hub_alloc_t *a = (hub_alloc_t *)hub;
    link->impl = &a->ep[party];
    link->send = local_send;
    link->recv = local_recv;
}

void link_local_fail(link_local_t *hub, proto_party_t party)
{
    pthread_mutex_lock(&hub->fail_lock);
    hub->failed[party] = true;
    pthread_mutex_unlock(&hub->fail_lock);
}

typedef struct {
    link_local_t *hub;
    proto_party_t party;
    link_local_party_fn fn;
    void *arg;
    trine_status_t status;
    trine_err_t err;
} runner_t;

static void *run_party(void *p)
{
    runner_t *r = p;
    link_t link;
    link_local_endpoint(r->hub, r->party, &link);
    r->err.code = TRINE_OK;
    r->err.msg[0] = '\0';
    r->status = r->fn(&link, r->party, r->arg, &r->err);
    if (r->status != TRINE_OK)
        link_local_fail(r->hub, r->party);
    return NULL;
}

trine_status_t link_local_run(link_local_t *hub, link_local_party_fn fn, void *arg,
                              trine_status_t status[PROTO_PARTIES], trine_err_t err[PROTO_PARTIES])
{
    runner_t r[PROTO_PARTIES];
    pthread_t th[PROTO_PARTIES];
    int started = 0;
    for (int i = 0; i < PROTO_PARTIES; i++) {
        r[i] = (runner_t){.hub = hub, .party = (proto_party_t)i, .fn = fn, .arg = arg};
        if (pthread_create(&th[i], NULL, run_party, &r[i]) != 0)
            break;
        started++;
    }
    if (started < PROTO_PARTIES) /* let the started ones fail fast, then reap them */
        for (int i = 0; i < PROTO_PARTIES; i++)
            link_local_fail(hub, (proto_party_t)i);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (started < PROTO_PARTIES)
        return TRINE_ENOMEM;
    for (int i = 0; i < PROTO_PARTIES; i++) {
        status[i] = r[i].status;
        err[i] = r[i].err;
    }
    return TRINE_OK;
}
