/*
 * hostfns.h — the `lvm` guest API: the host functions a guest imports from module "lvm"
 * to spawn processes, send and receive messages, link, monitor, name, sleep and set the
 * limits its children get. Each is documented in docs/abi.md; sdk/lvm.h wraps them for
 * C guests.
 *
 * Where it sits: on top of sched/ (which does the work) and vm/ (for guest memory).
 * Read next: actor.c.
 */
#ifndef LVM_HOSTFNS_HOSTFNS_H
#define LVM_HOSTFNS_HOSTFNS_H

#include "../sched/sched.h"

typedef struct ActorHost ActorHost;

/* The host functions of module "lvm", created once for a scheduler. */
ActorHost *host_actor_new(Sched *s);
void host_actor_free(ActorHost *h);

/* Bind one import of module "lvm" (for a process's ImportResolver): false with a message
 * if there is no such function or the module imports it with another type. */
bool host_actor_resolve(ActorHost *h, const Module *m, const Import *imp, Extern *out, char *err,
                        size_t errlen);

/* Largest message a guest may send, in bytes (a bigger one is refused with -2). */
#define HOST_MAX_MESSAGE (64u << 20)

#endif
