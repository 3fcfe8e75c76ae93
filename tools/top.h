/*
 * top.h — `lvm --top`: a live view of the processes and workers while the program runs.
 * Read tools/top.c.
 */
#ifndef LVM_TOOLS_TOP_H
#define LVM_TOOLS_TOP_H

#include "sched/sched.h"

typedef struct Top Top;

/* Start a thread that redraws the view on stderr every 500 ms; `title` heads it. NULL
 * if the thread cannot be started. */
Top *top_start(Sched *s, const char *title);
/* Stop the thread; its last picture stays on the screen. */
void top_stop(Top *t);

#endif
