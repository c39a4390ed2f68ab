/* rg_codec.h: audio codecs, resampling and transcoding for rtpgate (static library rgcodec).
 *
 * Self-contained: includes nothing from gateway/ (tests/check_includes.sh enforces it), opens no
 * socket, reads no clock. The gateway (or a test, or the benchmark) moves RTP payloads in and out.
 *
 * Conventions (docs/style.md):
 *  - functions returning int return 0 or a negative errno and write out-parameters only on success;
 *  - sample counts are per channel ("frames" in ALSA terms); PCM is signed 16 bit, host order,
 *    channels interleaved, so a buffer of `cap` samples holds cap * channels int16_t;
 *  - objects are not locked: one thread at a time per object. Codec types are const, static and
 *    shared by all threads once registered.
 *
 * Layers, bottom up:
 *  1. rg_codec_type: one registered entry per (RTP encoding name, clock rate, channels, payload
 *     format variant). AMR octet-aligned and AMR bandwidth-efficient are two entries (style.md §7).
 *  2. rg_encoder / rg_decoder: one codec frame at a time, in the "frame format" of the type (see
 *     FRAME FORMATS below), at a PCM rate the type supports.
 *  3. rg_resampler: 8 <-> 16 <-> 48 kHz, streaming windowed-sinc polyphase FIR.
 *  4. rg_pipeline: RTP payload in (type A) -> decode -> resample -> repacketize -> RTP payload out
 *     (type B), with loss concealment and Opus in-band FEC.
 *
 * FRAME FORMATS (what rg_enc_encode() writes and rg_dec_decode() reads):
 *  - PCMU, PCMA (RFC 3551 §4.5.14): one octet per sample, any number of samples (8 kHz).
 *  - G722 (RFC 3551 §4.5.2): one octet per two samples at 16 kHz (64 kbit/s, mode 1), any even
 *    number of samples. The RTP clock is 8000 (the RFC 1890 error kept for compatibility), so the
 *    RTP timestamp advances by samples / 2.
 *  - G729 (RFC 3551 §4.5.6): 10 octets per 10 ms (80 samples, 8 kHz); the encoder takes any
 *    multiple of 80 samples and writes their frames one after the other; the decoder takes
 *    10 x k octets, optionally followed by one 2-octet Annex B SID frame (10 ms of comfort
 *    noise), i.e. a whole RTP payload.
 *  - opus (RFC 7587): one complete Opus packet (RFC 6716 §3, TOC byte first) = one RTP payload.
 *    The encoder takes 2.5, 5, 10, 20, 40 or 60 ms of PCM per call; the decoder returns whatever
 *    duration the packet holds (up to 120 ms).
 *  - AMR, AMR-WB: one speech frame in the storage format of RFC 4867 §5.3 (as the 3GPP/opencore
 *    "MIME" interface uses), 20 ms of audio:
 *        octet 0:  P(1)=0 | FT(4) | Q(1) | P(2)=0     i.e. (FT << 3) | (Q << 2)
 *        octets 1..: the frame's speech bits, class A first (the RFC 4867 §3.6 / 3GPP TS 26.101
 *                    order), padded with zero bits to a whole octet.
 *    Frame sizes including the header octet (rg_amr_frame_len()):
 *        AMR    FT 0..7 = modes 4.75 5.15 5.90 6.70 7.40 7.95 10.2 12.2 kbit/s:
 *               13 14 16 18 20 21 27 32 octets; FT 8 (SID) 6; FT 15 (NO_DATA) 1.
 *        AMR-WB FT 0..8 = 6.60 8.85 12.65 14.25 15.85 18.25 19.85 23.05 23.85 kbit/s:
 *               18 24 33 37 41 47 51 59 61 octets; FT 9 (SID) 6; FT 14 (SPEECH_LOST) and
 *               FT 15 (NO_DATA) 1.
 *    The encoder writes one such frame per 160 (AMR, 8 kHz) or 320 (AMR-WB, 16 kHz) samples.
 *    The decoder accepts one such frame (Q=0 marks a damaged frame, FT 15 a missing one); a frame
 *    shorter than its FT needs is -EINVAL. The RTP payload formats of RFC 4867 §4.3/§4.4 (CMR,
 *    table of contents, bit packing) are the job of the type's packetize/depacketize hooks.
 */
#ifndef RG_CODEC_H
#define RG_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rg_codec_type rg_codec_type;
typedef struct rg_encoder rg_encoder;
typedef struct rg_decoder rg_decoder;

/* ---------------------------------------------------------------------------------------------
 * Parameters: SDP fmtp (RFC 7587 §7, RFC 4867 §8.1, RFC 4733 §2.4.1) plus encoder settings.
 * A plain value struct: copy it freely. rg_codec_params_default() then fmtp_parse() fill it.
 * ------------------------------------------------------------------------------------------ */

/* AMR mode-set bits: bit n set = mode (FT) n allowed. 0 = every mode allowed. */
#define RG_AMR_MODES_ALL 0u

typedef struct rg_codec_params {
	unsigned ptime;    /* ms; 0 = not given (a=ptime or Opus fmtp "ptime") */
	unsigned maxptime; /* ms; 0 = not given */
	unsigned minptime; /* ms; 0 = not given (Opus fmtp "minptime") */

	struct rg_opus_params {
		/* fmtp, receiver side (what the peer that receives this stream wants, RFC 7587 §6.1) */
		unsigned maxplaybackrate;   /* Hz, 8000..48000; default 48000 */
		unsigned maxaveragebitrate; /* bit/s, 6000..510000; 0 = not given */
		bool stereo;                /* receiver prefers stereo; default false */
		bool useinbandfec;          /* receiver can use in-band FEC; default false */
		bool usedtx;                /* receiver prefers DTX; default false */
		bool cbr;                   /* receiver prefers constant bitrate; default false */
		/* fmtp, sender side (what the peer sending this stream does) */
		unsigned sprop_maxcapturerate; /* Hz; default 48000 */
		bool sprop_stereo;             /* sender likely sends stereo; default false */
		/* encoder settings (not from SDP) */
		int complexity;            /* 0..10, -1 = library default (RG_OPUS_DEFAULT_COMPLEXITY) */
		unsigned bitrate;          /* bit/s, 0 = by rate: 24k at 8 kHz, 32k at 16 kHz, 48k at 48
		                              kHz (x1.5 for stereo), capped by maxaveragebitrate */
		unsigned packet_loss_perc; /* expected loss for FEC, 0..100; default 10 if FEC is on */
	} opus;

	struct rg_amr_params {
		/* fmtp (RFC 4867 §8.1) */
		bool octet_align;            /* also selects the registry entry, see rg_codec_find() */
		unsigned mode_set;           /* bit n = mode n allowed; RG_AMR_MODES_ALL */
		unsigned mode_change_period; /* 1 or 2; default 1 */
		unsigned mode_change_capability; /* 1 or 2; default 1 */
		bool mode_change_neighbor;
		bool crc;
		bool robust_sorting;
		unsigned interleaving; /* 0 = none */
		unsigned max_red;      /* ms, 0 = not given */
		/* encoder settings */
		int mode;    /* FT to encode with; -1 = highest allowed by mode_set (default) */
		bool dtx;    /* send SID frames in silence; default false */
		unsigned cmr; /* codec mode request to send (RFC 4867 §4.3.1), 15 = none (default) */
	} amr;

	struct rg_event_params {
		uint32_t events[8]; /* RFC 4733 events bitmap, bit (n % 32) of events[n / 32];
		                       default "0-15" */
	} event;
} rg_codec_params;

/* ---------------------------------------------------------------------------------------------
 * Codec types (the vtable of style.md §7) and their registry
 * ------------------------------------------------------------------------------------------ */

/* type->flags */
#define RG_CODEC_F_SAMPLE_BASED 0x01u /* any number of samples per frame (G.711, G.722) */
#define RG_CODEC_F_EVENT        0x02u /* not audio: telephone-event; no encoder/decoder */
#define RG_CODEC_F_AMR          0x04u /* AMR family: frame format is the RFC 4867 storage frame */
#define RG_CODEC_F_WIDEBAND     0x08u /* AMR-WB (with RG_CODEC_F_AMR) */
#define RG_CODEC_F_OCTET_ALIGN  0x10u /* AMR octet-aligned payload format entry */
#define RG_CODEC_F_OPUS         0x20u

/* One codec frame: non-owning view (into a payload, a rg_depkt buffer or an encoder's output). */
typedef struct rg_frame {
	const uint8_t *data;
	size_t len;
} rg_frame;

#define RG_DEPKT_MAX_FRAMES 16
#define RG_DEPKT_BUF_SIZE   1024

/* Output of a depacketize hook: the frames of one RTP payload, in time order. A frame's data
 * points into the payload or into buf (e.g. AMR bandwidth-efficient frames re-aligned to the
 * storage format). Owned by the caller (the pipeline keeps one), valid until the next use. */
typedef struct rg_depkt {
	rg_frame frame[RG_DEPKT_MAX_FRAMES];
	unsigned n;
	int cmr; /* AMR codec mode request received, 15 = none; -1 if the format has none */
	uint8_t buf[RG_DEPKT_BUF_SIZE];
} rg_depkt;

/* Payload format hooks. packetize: n frames (produced by this type's encoder, consecutive in
 * time) -> one RTP payload in out[0..cap). depacketize: one RTP payload -> frames.
 * Both return 0 or -EINVAL (malformed), -ENOBUFS (cap/RG_DEPKT_* too small), -ENOTSUP. */
typedef int (*rg_packetize_h)(const rg_codec_type *t, const rg_codec_params *p, const rg_frame *frames,
			      unsigned n, uint8_t *out, size_t cap, size_t *outlen);
typedef int (*rg_depacketize_h)(const rg_codec_type *t, const rg_codec_params *p, const uint8_t *payload,
				size_t len, rg_depkt *out);

/* The AMR entries' packetize/depacketize hooks (RFC 4867 §4.3 bandwidth-efficient, §4.4
 * octet-aligned; CMR sent = p->amr.cmr, CMR received -> rg_depkt.cmr) adapt the payload
 * functions of codecs/payload_amr.c (rg_payload.h). When that file is not built (meson defines
 * RG_HAVE_PAYLOAD_AMR when it exists) the AMR entries have no hooks and rg_pipeline_new()
 * refuses them with -ENOTSUP. */

/* A self-test vector carried by each type (libsrtp's cipher test_data idea). Run by
 * codecs/tests/test_codecs.c for every registered type. */
typedef struct rg_codec_test_vector {
	const char *desc;
	unsigned pcm_rate;    /* PCM rate to run encoder and decoder at */
	unsigned frame_ms;    /* encode this many ms per rg_enc_encode() */
	int amr_mode;         /* params.amr.mode for AMR types, else ignored */
	unsigned opus_bitrate; /* params.opus.bitrate for Opus, else ignored */
	size_t frame_len;     /* expected encoded frame length in octets, 0 = variable */
	/* optional known answer: kat_samples PCM samples encode to kat_enc (kat_samples octets or
	   fewer), and kat_enc decodes to kat_dec */
	const int16_t *kat_pcm;
	const uint8_t *kat_enc;
	const int16_t *kat_dec;
	unsigned kat_samples;
	size_t kat_enc_len;
	/* quality: a tone at tone_hz, -10 dBFS, for 1 s through encoder+decoder must keep its
	   frequency (±2 %) and reach min_snr_db (whole-signal SNR after delay and gain alignment,
	   or segmental SNR when segmental is set) */
	double tone_hz;
	double min_snr_db;
	bool segmental;
} rg_codec_test_vector;

/* The codec vtable. Entries are const statics, registered once at start-up; nothing frees them. */
struct rg_codec_type {
	const char *name;   /* RTP encoding name as in a=rtpmap ("opus", "PCMU", "AMR-WB") */
	unsigned rate;      /* RTP clock rate (G722: 8000) */
	unsigned channels;  /* rtpmap channel count (opus: 2, else 1) */
	unsigned pcm_rate;  /* PCM sample rate used by encoder and decoder; 0 = any of
	                       RG_PCM_RATES (Opus, which encodes/decodes at 8, 16 or 48 kHz) */
	unsigned flags;     /* RG_CODEC_F_* */
	/* encoder frame durations in ms, ascending, 0-terminated; {0} with RG_CODEC_F_SAMPLE_BASED.
	   Opus lists 10, 20, 40, 60 (2.5 and 5 work with rg_enc_encode but not the pipeline). */
	uint8_t frame_ms[6];
	const char *desc;

	/* fmtp text (may be NULL or "") -> *out, after rg_codec_params_default(). Unknown keys are
	   ignored; a known key with a bad value is -EINVAL. */
	int (*fmtp_parse)(const rg_codec_type *t, const char *fmtp, rg_codec_params *out);
	/* optional: does this entry serve that fmtp (AMR: octet-align=1 or not)? NULL = yes */
	bool (*fmtp_match)(const rg_codec_type *t, const char *fmtp);
	int (*decoder_new)(rg_decoder **out, const rg_codec_type *t, const rg_codec_params *p, unsigned pcm_rate,
			   unsigned channels);
	int (*encoder_new)(rg_encoder **out, const rg_codec_type *t, const rg_codec_params *p, unsigned pcm_rate,
			   unsigned channels);
	/* NULL = an RTP payload is exactly one frame (n must be 1) */
	rg_packetize_h packetize;
	rg_depacketize_h depacketize;
	const rg_codec_test_vector *test_vectors; /* terminated by an entry with desc == NULL */
};

/* PCM rates the pipeline and resampler work with. */
#define RG_PCM_RATES {8000u, 16000u, 48000u}

/* Register the built-in types: PCMU, PCMA, G722, G729, opus, AMR and AMR-WB (octet-aligned and
 * bandwidth-efficient entries when the payload hooks of codecs/payload_amr.c are built in),
 * telephone-event/8000 and /16000 and /48000. Idempotent and thread-safe. Returns 0. */
int rg_codec_init(void);

/* Register one more type (tests, extensions). t must stay valid forever (a static const).
 * At start-up only: lookups do not lock against concurrent registration.
 * -EEXIST if the same pointer is already registered, -ENOSPC if the table is full. */
int rg_codec_register(const rg_codec_type *t);

/* Look up by RTP encoding name (case-insensitive), clock rate and channels (0 = the type's
 * default). fmtp (may be NULL) selects between entries sharing a name (AMR octet-aligned vs
 * bandwidth-efficient). Calls rg_codec_init() if needed. -ENOENT if none. */
int rg_codec_find(const rg_codec_type **out, const char *name, unsigned rate, unsigned channels,
		  const char *fmtp);
/* Same with "name/rate[/channels]" as in a=rtpmap, e.g. "opus/48000/2", "PCMU/8000". */
int rg_codec_find_rtpmap(const rg_codec_type **out, const char *rtpmap, const char *fmtp);

/* Iterate over the registry: *out = entry i; -ENOENT past the end. */
int rg_codec_nth(const rg_codec_type **out, unsigned i);

/* Defaults for t (the RFC defaults of every fmtp key, plus encoder defaults), never fails. */
void rg_codec_params_default(const rg_codec_type *t, rg_codec_params *out);
/* rg_codec_params_default() then t->fmtp_parse(). */
int rg_codec_params_parse(const rg_codec_type *t, const char *fmtp, rg_codec_params *out);

/* Largest encoder frame duration of t that divides ptime_ms, 0 if none (e.g. AMR at 30 ms).
 * Sample-based types return ptime_ms. */
unsigned rg_codec_frame_ms(const rg_codec_type *t, unsigned ptime_ms);

/* AMR storage frame length in octets, header included, for frame type ft (see FRAME FORMATS);
 * -EINVAL for a reserved FT. */
int rg_amr_frame_len(bool wideband, unsigned ft);
/* bit rate of AMR mode ft in bit/s (ft 0..7, or 0..8 wideband), 0 if not a speech mode */
unsigned rg_amr_mode_bitrate(bool wideband, unsigned ft);

/* Default Opus complexity (chosen by measurement, see codecs/README.md). */
#define RG_OPUS_DEFAULT_COMPLEXITY 5

/* ---------------------------------------------------------------------------------------------
 * Encoders and decoders. Created by rg_enc_new()/rg_dec_new(), owned by the caller, freed by
 * rg_enc_free()/rg_dec_free(). No allocation after creation.
 * ------------------------------------------------------------------------------------------ */

/* pcm_rate 0 = the type's rate (Opus: 48000); a fixed-rate type refuses another rate (-EINVAL):
 * resampling is the caller's (or the pipeline's) business. channels 0 = 1. Opus takes 1 or 2
 * channels at 8000, 12000, 16000, 24000 or 48000 Hz, every other type 1 channel.
 * -ENOTSUP for an event type or a codec built without its library, -ENOMEM. */
int rg_enc_new(rg_encoder **out, const rg_codec_type *t, const rg_codec_params *p, unsigned pcm_rate,
	       unsigned channels);
void rg_enc_free(rg_encoder *e);
/* Encode one frame of `samples` samples (per channel) into out[0..cap). samples must be a frame
 * duration the codec takes (see FRAME FORMATS). -EINVAL wrong sample count, -ENOBUFS cap too
 * small, -EIO codec failure. Worst case sizes: G.711 samples, G.722 samples/2, Opus 1275 per
 * 20 ms (RG_ENC_MAX_FRAME covers every type and duration), AMR 32, AMR-WB 61. */
int rg_enc_encode(rg_encoder *e, const int16_t *pcm, unsigned samples, uint8_t *out, size_t cap, size_t *outlen);
#define RG_ENC_MAX_FRAME 4000
/* Change the target bit rate: Opus any (6000..510000); AMR picks the highest mode of its
 * mode-set whose rate is <= bps (the lowest if none is); G.711/G.722 -ENOTSUP. */
int rg_enc_set_bitrate(rg_encoder *e, unsigned bps);
unsigned rg_enc_rate(const rg_encoder *e);
unsigned rg_enc_channels(const rg_encoder *e);
const rg_codec_type *rg_enc_type(const rg_encoder *e);

int rg_dec_new(rg_decoder **out, const rg_codec_type *t, const rg_codec_params *p, unsigned pcm_rate,
	       unsigned channels);
void rg_dec_free(rg_decoder *d);
/* Decode one frame (see FRAME FORMATS) into pcm (room for cap samples per channel); *samples =
 * samples written per channel. -EINVAL malformed frame, -ENOBUFS cap too small. */
int rg_dec_decode(rg_decoder *d, const uint8_t *payload, size_t len, int16_t *pcm, unsigned cap,
		  unsigned *samples);
/* Packet loss concealment for `lost` samples that never arrived: G.711/G.722 spandsp PLC, G.729
 * bcg729's frame erasure (whole 10 ms frames; comfort noise after a SID), AMR
 * the codec's bad-frame handling (whole 20 ms frames: lost is rounded down), Opus its PLC
 * (lost rounded down to 2.5 ms). *samples = samples written (<= lost). */
int rg_dec_conceal(rg_decoder *d, unsigned lost, int16_t *pcm, unsigned cap, unsigned *samples);
/* Recover `lost` missing samples with the in-band FEC (LBRR) data of the packet that followed
 * them (Opus, RFC 7587 §4.1 / RFC 6716 §2.1.7); what FEC cannot cover is concealed. Then decode
 * `next` normally with rg_dec_decode(). -ENOTSUP for codecs without FEC (use rg_dec_conceal). */
int rg_dec_decode_fec(rg_decoder *d, const uint8_t *next, size_t len, unsigned lost, int16_t *pcm, unsigned cap,
		      unsigned *samples);
bool rg_dec_has_fec(const rg_decoder *d);
unsigned rg_dec_rate(const rg_decoder *d);
unsigned rg_dec_channels(const rg_decoder *d);
const rg_codec_type *rg_dec_type(const rg_decoder *d);

/* ---------------------------------------------------------------------------------------------
 * Resampler: 8000 <-> 16000 <-> 48000 Hz (integer ratios 2, 3, 6), windowed-sinc (Kaiser)
 * polyphase FIR, streaming (state carried across calls), no allocation after creation.
 * Passband to 0.43 x the lower rate (3.45 kHz at 8 kHz), stopband from 0.5 x (> 60 dB).
 * Delay RG_RESAMPLER_HALF_TAPS samples of the lower rate (4 ms at 8 kHz), same for up and down.
 * Owned by the caller, freed by rg_resampler_free().
 * ------------------------------------------------------------------------------------------ */

typedef struct rg_resampler rg_resampler;
#define RG_RESAMPLER_HALF_TAPS 32

/* -EINVAL unless the rates are in RG_PCM_RATES (equal rates are allowed: a copy), channels 1..2 */
int rg_resampler_new(rg_resampler **out, unsigned in_rate, unsigned out_rate, unsigned channels);
void rg_resampler_free(rg_resampler *r);
/* The most output samples (per channel) that in_samples can produce. */
unsigned rg_resampler_out_max(const rg_resampler *r, unsigned in_samples);
/* in: in_samples per channel; out: room for out_cap per channel (>= rg_resampler_out_max(),
 * else -ENOBUFS with no state change); *out_samples = written per channel. */
int rg_resample(rg_resampler *r, const int16_t *in, unsigned in_samples, int16_t *out, unsigned out_cap,
		unsigned *out_samples);
/* Delay in output samples. */
unsigned rg_resampler_delay(const rg_resampler *r);
void rg_resampler_reset(rg_resampler *r);

/* ---------------------------------------------------------------------------------------------
 * Audio files (wav.c), for prompts: not for the packet path (they allocate and read files).
 * ------------------------------------------------------------------------------------------ */

#define RG_WAV_MAX_BYTES (64 * 1024 * 1024)
/* A RIFF/WAVE file (PCM 8/16/24/32-bit, 32-bit float, A-law, mu-law; any channel count, mixed to
 * mono; 4-192 kHz) into *pcm (malloc'd, caller frees), *samples and *rate. 0 or a negative errno
 * with *err (malloc'd text, caller frees; may be NULL). */
int rg_wav_read(const char *path, int16_t **pcm, size_t *samples, unsigned *rate, char **err);
/* Any rate to any rate, whole buffer at once (windowed sinc): *out malloc'd, caller frees. */
int rg_resample_offline(const int16_t *in, size_t n, unsigned in_rate, unsigned out_rate, int16_t **out,
			size_t *out_n);

/* ---------------------------------------------------------------------------------------------
 * Transcoding pipeline: RTP payloads of one type in, RTP payloads of another out.
 * Created by rg_pipeline_new(), owned by the caller (the gateway: by the media stream that
 * transcodes), freed by rg_pipeline_free(). Everything is allocated at creation; push and pull
 * allocate nothing.
 *
 *   push(payload, rtp_ts) -> depacketize -> [gap? FEC/PLC] -> decode -> resample (only if the
 *   rates differ) -> PCM FIFO -> pull(): encode out_ptime ms -> packetize -> payload
 *
 * PCM rates: a fixed-rate side uses its rate; an Opus side uses the lowest of 8/16/48 kHz that
 * carries the content: min(other side's rate, sprop-maxcapturerate of the input, maxplaybackrate
 * of the output), rounded up to 8000, 16000 or 48000. So Opus <-> PCMU runs at 8 kHz with no
 * resampler, Opus <-> G722 at 16 kHz. Stereo only for Opus -> Opus with sprop-stereo on the input
 * and stereo=1 on the output.
 *
 * Timing: rtp_ts is the input's RTP timestamp (input clock). A forward gap up to
 * RG_PIPELINE_MAX_PLC_MS is filled by FEC (Opus, when the packet after the gap carries it) or
 * PLC; a larger gap (or a jump backwards by more than 1 s) is a resync: nothing is concealed and
 * the next pulled packet's ts_increment includes the gap, so output timestamps keep pace.
 * A packet older than what was already decoded is dropped (-EALREADY).
 * ------------------------------------------------------------------------------------------ */

typedef struct rg_pipeline rg_pipeline;
#define RG_PIPELINE_MAX_PLC_MS 200
#define RG_PIPELINE_MAX_PACKET_MS 120
#define RG_PIPELINE_BACKLOG_MS 200 /* audio that may wait in the FIFO before push refuses */
#define RG_PIPELINE_MAX_INPUTS 8   /* input codecs of one pipeline (rg_pipeline_add_input) */

typedef struct rg_pipeline_stats {
	uint64_t packets_in;       /* payloads accepted by push */
	uint64_t packets_out;      /* payloads returned by pull */
	uint64_t frames_decoded;
	uint64_t decode_errors;    /* malformed payloads/frames (push returned -EINVAL) */
	uint64_t late;             /* dropped as older than already decoded (-EALREADY) */
	uint64_t overflows;        /* dropped, FIFO full: pull was not called (-ENOBUFS) */
	uint64_t resyncs;          /* timestamp jumps not concealed */
	uint64_t samples_concealed; /* PLC, in input-decoder samples */
	uint64_t samples_fec;      /* recovered with in-band FEC, same unit */
	uint64_t samples_filled;   /* made by rg_pipeline_fill, same unit */
	uint64_t cn_payloads;      /* RFC 3389 payloads taken by rg_pipeline_push_cn */
	uint64_t new_sources;      /* rg_pipeline_new_source calls */
	uint64_t input_switches;   /* rg_pipeline_use_input changes of the input codec */
} rg_pipeline_stats;

typedef struct rg_pipeline_info {
	unsigned in_pcm_rate;  /* decoder rate (of the input in use) */
	unsigned out_pcm_rate; /* encoder rate */
	unsigned channels;
	unsigned out_ptime;    /* ms */
	unsigned out_frame_ms; /* encoder frame duration; out_ptime / out_frame_ms frames a packet */
	bool resampling;       /* of the input in use */
	unsigned input, n_inputs;   /* the input codec in use (0: rg_pipeline_new's), how many */
} rg_pipeline_info;

/* out_ptime_ms: 0 = out_p->ptime or 20. It must be a multiple of an encoder frame duration of
 * out_t (rg_codec_frame_ms() != 0) and at most RG_PIPELINE_MAX_PACKET_MS, else -EINVAL.
 * -ENOTSUP for event types or a type without its library/payload hooks. Params may be NULL
 * (defaults). The params are copied. */
int rg_pipeline_new(rg_pipeline **out, const rg_codec_type *in_t, const rg_codec_params *in_p,
		    const rg_codec_type *out_t, const rg_codec_params *out_p, unsigned out_ptime_ms);
void rg_pipeline_free(rg_pipeline *p);
/* Another input codec for the same output: a sender may switch between the codecs it negotiated
 * (RFC 3264 5.1). Its decoder and the resampler from its PCM rate to the encoder's (chosen at
 * creation, from the first input) are made now, so switching later allocates nothing. Mono
 * pipelines only. The input's index (rg_pipeline_new's codec is 0), or -ENOTSUP (event type,
 * missing library, stereo pipeline), -ENOSPC (RG_PIPELINE_MAX_INPUTS), -ENOMEM. */
int rg_pipeline_add_input(rg_pipeline *p, const rg_codec_type *t, const rg_codec_params *prm);
/* Decode the following payloads (push, push_pcm, fill, push_cn timing) as input idx. Its
 * timestamps are its own (another clock, maybe): as after rg_pipeline_new_source, the next
 * payload is neither a gap nor late, and the output stream (encoder, FIFO, timestamps) goes on
 * seamlessly. 0, or -EINVAL for an index add_input did not return. */
int rg_pipeline_use_input(rg_pipeline *p, unsigned idx);
/* The decoder PCM rate of input idx (0 for an index add_input did not return). */
unsigned rg_pipeline_input_rate(const rg_pipeline *p, unsigned idx);
/* One input RTP payload with its RTP timestamp. 0, or -EINVAL malformed (counted, nothing
 * decoded: the next packet conceals the gap), -EALREADY late, -EMSGSIZE more than
 * RG_PIPELINE_MAX_PACKET_MS of audio, -ENOBUFS FIFO full: more than RG_PIPELINE_BACKLOG_MS of
 * audio was left unpulled (call pull until -EAGAIN after each push). */
int rg_pipeline_push(rg_pipeline *p, const uint8_t *payload, size_t len, uint32_t rtp_ts);
/* Next output payload, if out_ptime ms of audio are buffered: 0 with *len and *ts_increment
 * (output RTP clock units to add to the previous output timestamp: out_ptime * clock / 1000, plus
 * any resync gap). -EAGAIN not enough audio yet, -ENOBUFS cap too small (nothing consumed). */
int rg_pipeline_pull(rg_pipeline *p, uint8_t *out, size_t cap, size_t *len, uint32_t *ts_increment);
/* Mono PCM at the decoder's rate (rg_pipeline_info.in_pcm_rate) in place of decoded audio, for
 * the n samples from input timestamp rtp_ts, timed like a payload (e.g. DTMF tones generated from
 * RFC 4733 events). Samples before what was already decoded are skipped. 0, -EALREADY all late,
 * -ENOBUFS FIFO full, -EMSGSIZE more than RG_PIPELINE_MAX_PACKET_MS, -ENOTSUP stereo pipeline. */
int rg_pipeline_push_pcm(rg_pipeline *p, const int16_t *pcm, unsigned n, uint32_t rtp_ts);
/* An RFC 3389 comfort noise payload (the sender's silence starts at rtp_ts; mono pipelines):
 * the gap before it is concealed as before audio, and rg_pipeline_fill makes Hoth noise at its
 * level until the next audio payload. 0, -EINVAL malformed (counted as a decode error). */
int rg_pipeline_push_cn(rg_pipeline *p, const uint8_t *payload, size_t len, uint32_t rtp_ts);
/* The input stopped (DTX, silence suppression, after CN, or loss the caller gave up waiting
 * for): continue it with `units` input clock units of made-up audio, as if a payload had come:
 * noise at the level of the last CN payload, else the decoder's concealment (Opus after DTX, AMR
 * after SID and G.729 after an Annex B SID make comfort noise; G.711/G.722 PLC fades to silence). The caller drives it by
 * the clock (say one output ptime at a time, then pull). The payload that ends the gap is taken
 * even if it is older than what was filled (a resync with no jump: the filled audio already
 * kept the output clock going). 0, -EAGAIN no payload yet, -ENOBUFS FIFO full, -EMSGSIZE more
 * than RG_PIPELINE_MAX_PACKET_MS at once. */
int rg_pipeline_fill(rg_pipeline *p, uint32_t units);
/* The input comes from a new source (RTP SSRC change): its timestamps have nothing to do with
 * the old ones, so the next payload is neither a gap nor late; the output goes on seamlessly. */
void rg_pipeline_new_source(rg_pipeline *p);
/* The input timestamp the next payload is expected at (after the last payload, CN or fill):
 * 0, or -EAGAIN before the first payload. */
int rg_pipeline_next_ts(const rg_pipeline *p, uint32_t *rtp_ts);
/* A read-only view of every chunk of PCM entering the FIFO (at the encoder's rate, channels
 * interleaved), e.g. for in-band DTMF detection; called from push/push_pcm. fn NULL = none. */
typedef void(rg_pipeline_tap_fn)(const int16_t *pcm, unsigned n, unsigned rate, unsigned channels, void *arg);
void rg_pipeline_set_tap(rg_pipeline *p, rg_pipeline_tap_fn *fn, void *arg);
void rg_pipeline_get_stats(const rg_pipeline *p, rg_pipeline_stats *out);
void rg_pipeline_get_info(const rg_pipeline *p, rg_pipeline_info *out);

#ifdef __cplusplus
}
#endif
#endif
