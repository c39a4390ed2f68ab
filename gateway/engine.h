/* The engine: interfaces, workers, the call table, NG sockets and the housekeeping timer.
 * Started once by main() on the main GMainContext; rg_engine_stop() undoes everything. */
#ifndef RG_ENGINE_H
#define RG_ENGINE_H

#include <glib.h>
#include "config.h"

int rg_engine_start(const rg_config *cfg, GMainContext *ctx, char **err);
void rg_engine_stop(void);
/* One housekeeping pass at time `now` (unix s): media/final/offer timeouts, delayed deletes.
 * Runs every second from the timer; exposed for tests. */
void rg_engine_tick(int64_t now);

#endif
