/* The packet path. rg_relay_readable() is the one function where every media packet enters:
 * a worker calls it when a socket is readable. It receives a batch (recvmmsg), takes the call lock
 * once, checks and counts each packet, learns the sender's address, and sends the batch out of the
 * peer's socket (sendmmsg). No allocation per packet: the batch buffers live in the per-worker
 * rg_relay_ctx (owned by the worker thread, created and freed by it). */
#ifndef RG_RELAY_H
#define RG_RELAY_H

#include "call.h"
#include "worker.h"

#define RG_RELAY_BATCH 32
#define RG_RELAY_MTU 2048      /* receive buffer; a datagram that does not fit is dropped */

typedef struct rg_relay_ctx rg_relay_ctx;

rg_relay_ctx *rg_relay_ctx_new(rg_worker *w);
void rg_relay_ctx_free(rg_relay_ctx *ctx);
void rg_relay_readable(rg_relay_ctx *ctx, rg_sock *s);
/* One decrypted packet received on media m by other means than its socket (a WebRTC leg):
 * count it on m and send it to m's peer. Worker, call lock held; buf has cap bytes of room. */
void rg_relay_forward(rg_worker *w, rg_media *m, uint8_t *buf, size_t len, size_t cap, bool is_rtcp);
/* Send one plain RTP/RTCP packet to party `peer` from its media's socket (SDES-SRTP or WebRTC
 * protection in place: buf has cap bytes of room), counted as relayed. Worker, call lock held.
 * 0, or -1 when dropped (counted). */
int rg_relay_send(rg_worker *w, rg_media *peer, uint8_t *buf, size_t len, size_t cap, bool is_rtcp);

#endif
