/* Prompts, music on hold and injected DTMF: an rg_player sends a stream of its own (own SSRC,
 * continuous sequence numbers and timestamps, marker on the first packet) to one party of a call,
 * from that party's media sockets, in the codec the party negotiated; while it plays, what the
 * other party sends toward that party is dropped (muted), as rtpproxy does.
 *
 * Sources: a WAV file (any common format and rate: codecs/wav.c) encoded for the leg; a file
 * pre-encoded for the payload type (rtpproxy's makeann convention, "<prompt>.<pt>", raw G.711 or
 * G.722 octets); DTMF digits, as RFC 4733 events when the party has telephone-event, else as
 * tones in its codec.
 *
 * Ownership: the player belongs to the media it plays to (media->player), created by signalling
 * with the call lock held. The call's worker drives it (rg_worker_watch_player) and holds a call
 * reference while it does. Signalling never frees a watched player: rg_player_detach() marks it
 * and the worker frees it when it lets go; an unwatched player is freed at once, or with its
 * media. Everything a player needs is allocated when it is created: sending allocates nothing. */
#ifndef RG_PLAYER_H
#define RG_PLAYER_H

#include "call.h"
#include "worker.h"

typedef struct rg_player rg_player;

#define RG_PLAYER_MAX_SECONDS 600   /* longest prompt accepted */

/* Play `file` to the party of m (call lock held): `repeats` times, -1 = until stopped. pt_list:
 * payload types the leg may use ("0,8" from an rtpproxy c modifier), NULL = from the party's SDP.
 * A player already on m is replaced. *duration_ms: one pass. NULL with *err (a reason for the
 * reply) when the file is missing, not audio, or no codec of the leg can be encoded. */
rg_player *rg_player_play_file(rg_media *m, const char *file, const char *pt_list, int repeats,
			       unsigned *duration_ms, char **err);
/* DTMF digits ("0-9*#A-D") to the party of m: each on for duration_ms then pause_ms of silence,
 * at volume_dbm0 (e.g. -8). As events if the party has telephone-event, else as tones. */
rg_player *rg_player_play_dtmf(rg_media *m, const char *digits, unsigned duration_ms, unsigned pause_ms,
			       int volume_dbm0, char **err);
/* Stop what plays to the party of m (call lock held); false if nothing played. */
bool rg_player_stop(rg_media *m);
/* The media is going away or gets a new player (call lock held): detach m->player. */
void rg_player_detach(rg_player *p);
/* Free an unwatched player (the media's destructor). */
void rg_player_free(rg_player *p);
/* Is media m muted toward its party because a player is playing to it? (worker, call lock held) */
static inline bool rg_player_active(const rg_media *m);

/* Worker: send what is due; ms until the next packet, or -1 when done (then rg_player_unwatch). */
int rg_player_tick(rg_player *p, rg_worker *w);
void rg_player_unwatch(rg_player *p);
/* Counters for query replies and tests. */
uint64_t rg_player_packets(const rg_player *p);

struct rg_player_pub {           /* the part the packet path reads */
	bool playing;
};
static inline bool rg_player_active(const rg_media *m)
{
	return m->player && ((const struct rg_player_pub *)m->player)->playing;
}

#endif
