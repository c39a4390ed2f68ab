/* BUNDLE (RFC 8843): several m= lines of a WebRTC party on one ICE/DTLS transport.
 *  - /bundle/route: which m= line a packet of the shared transport belongs to (SSRC learned or from
 *    a=ssrc, the MID header extension in both RFC 8285 forms, a payload type unique in the bundle,
 *    RTCP by sender or by report block), and malformed extensions;
 *  - /bundle/tag: the BUNDLE tag of each m= line from a=group:BUNDLE;
 *  - /bundle/offer-answer: a browser's audio+video BUNDLE offer through NG to a plain SIP side and
 *    back: one transport for both m= lines toward the browser, two plain ones toward SIP. */
#include <arpa/inet.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "call.h"
#include "engine_harness.h"
#include "log.h"
#include "ng.h"
#include "ng_harness.h"
#include "webrtc.h"

/* ---- routing, on a transport built by hand ---- */

typedef struct route_fx {
	rg_webrtc wt;
	rg_media audio, video, peer_audio, peer_video;
} route_fx;

static void set_pt(rg_bundle_member *bm, unsigned pt)
{
	bm->pts[pt / 64] |= 1ull << (pt % 64);
}

static void route_fx_init(route_fx *fx)
{
	memset(fx, 0, sizeof(*fx));
	fx->audio.index = 1;
	fx->video.index = 2;
	fx->audio.wrtc = fx->video.wrtc = &fx->wt;
	fx->video.wrtc_member = true;
	fx->audio.peer = &fx->peer_audio;
	fx->video.peer = &fx->peer_video;
	fx->wt.media = &fx->audio;
	fx->wt.n_members = 2;
	fx->wt.members[0].media = &fx->audio;
	fx->wt.members[0].mid = g_strdup("0");
	fx->wt.members[1].media = &fx->video;
	fx->wt.members[1].mid = g_strdup("1");
	set_pt(&fx->wt.members[0], 111);
	set_pt(&fx->wt.members[0], 0);
	set_pt(&fx->wt.members[1], 96);
	set_pt(&fx->wt.members[1], 0);      /* PT 0 in both: not usable to route */
	fx->wt.members[1].ssrcs[0] = 0xabcdef01;
	fx->wt.members[1].n_ssrcs = 1;
	fx->wt.mid_ext_id = 4;
}

static void route_fx_clear(route_fx *fx)
{
	g_free(fx->wt.members[0].mid);
	g_free(fx->wt.members[1].mid);
}

static size_t rtp(uint8_t *b, uint8_t pt, uint32_t ssrc)
{
	memset(b, 0, 12);
	b[0] = 0x80;
	b[1] = pt;
	uint32_t s = htonl(ssrc);
	memcpy(b + 8, &s, 4);
	memset(b + 12, 0x55, 20);
	return 32;
}

/* RTP with a header extension block (profile, words of data) */
static size_t rtp_ext(uint8_t *b, uint8_t pt, uint32_t ssrc, uint16_t profile, const uint8_t *ext, size_t words)
{
	rtp(b, pt, ssrc);
	b[0] |= 0x10;
	b[12] = profile >> 8;
	b[13] = profile & 0xff;
	b[14] = 0;
	b[15] = (uint8_t)words;
	memcpy(b + 16, ext, words * 4);
	memset(b + 16 + words * 4, 0x55, 20);
	return 16 + words * 4 + 20;
}

static void test_route(void)
{
	route_fx fx;
	route_fx_init(&fx);
	rg_webrtc *wt = &fx.wt;
	uint8_t b[256];
	size_t n;

	/* a payload type only one m= line has, then the SSRC is remembered for it */
	n = rtp(b, 111, 1000);
	g_assert_true(rg_webrtc_route(wt, b, n, false) == &fx.audio);
	n = rtp(b, 96, 2000);
	g_assert_true(rg_webrtc_route(wt, b, n, false) == &fx.video);
	n = rtp(b, 0, 2000);           /* ambiguous PT, known SSRC */
	g_assert_true(rg_webrtc_route(wt, b, n, false) == &fx.video);

	/* ambiguous PT, unknown SSRC, no extension: the owner, counted */
	n = rtp(b, 0, 3000);
	g_assert_true(rg_webrtc_route(wt, b, n, false) == &fx.audio);
	g_assert_cmpuint(wt->bundle_unrouted, ==, 1);

	/* a=ssrc of the video m= line */
	n = rtp(b, 0, 0xabcdef01);
	g_assert_true(rg_webrtc_route(wt, b, n, false) == &fx.video);

	/* MID extension, one-byte form: padding, another element (id 3, 3 bytes), mid "1" (id 4) */
	const uint8_t one[8] = { 0x00, 0x32, 0xaa, 0xbb, 0xcc, 0x40, '1', 0x00 };
	n = rtp_ext(b, 0, 4000, 0xBEDE, one, 2);
	g_assert_true(rg_webrtc_route(wt, b, n, false) == &fx.video);
	n = rtp(b, 0, 4000);           /* the same SSRC without the extension: learned */
	g_assert_true(rg_webrtc_route(wt, b, n, false) == &fx.video);

	/* two-byte form (RFC 8285 4.3): id 4, length 1, "0" */
	const uint8_t two[4] = { 0x04, 0x01, '0', 0x00 };
	n = rtp_ext(b, 0, 5000, 0x1000, two, 1);
	g_assert_true(rg_webrtc_route(wt, b, n, false) == &fx.audio);
	g_assert_cmpuint(wt->bundle_unrouted, ==, 1);

	/* an unknown mid value, an element running past the block, a block longer than the packet:
	 * no route from the extension (the owner), and nothing read out of bounds (ASan) */
	const uint8_t unknown[4] = { 0x41, '7', '7', 0x00 };
	n = rtp_ext(b, 0, 6000, 0xBEDE, unknown, 1);
	g_assert_true(rg_webrtc_route(wt, b, n, false) == &fx.audio);
	const uint8_t past[4] = { 0x4f, '1', 0x00, 0x00 };   /* says 16 bytes, has 3 */
	n = rtp_ext(b, 0, 6001, 0xBEDE, past, 1);
	g_assert_true(rg_webrtc_route(wt, b, n, false) == &fx.audio);
	n = rtp_ext(b, 0, 6002, 0xBEDE, one, 2);
	b[15] = 200;                   /* 800 bytes of extension claimed */
	g_assert_true(rg_webrtc_route(wt, b, n, false) == &fx.audio);
	n = rtp_ext(b, 0, 6003, 0xBEDE, one, 2);
	g_assert_true(rg_webrtc_route(wt, b, 14, false) == &fx.audio);   /* cut inside the header */
	g_assert_cmpuint(wt->bundle_unrouted, ==, 5);

	/* RTCP: an SR from a known SSRC goes with that SSRC's m= line */
	uint8_t r[64] = { 0x80, 200, 0, 6 };
	uint32_t s = htonl(2000);
	memcpy(r + 4, &s, 4);
	g_assert_true(rg_webrtc_route(wt, r, 28, true) == &fx.video);
	/* an RR from a receive-only SSRC: by the SSRC its report block is about, which is what the
	 * peer leg of that m= line sends */
	fx.peer_audio.rtp.ssrc = 0x5151;
	fx.peer_audio.rtp.seen_ssrc = true;
	uint8_t rr[32] = { 0x81, 201, 0, 7 };
	s = htonl(1);
	memcpy(rr + 4, &s, 4);
	s = htonl(0x5151);
	memcpy(rr + 8, &s, 4);
	g_assert_true(rg_webrtc_route(wt, rr, 32, true) == &fx.audio);
	fx.peer_video.rtp.ssrc = 0x6161;
	fx.peer_video.rtp.seen_ssrc = true;
	s = htonl(0x6161);
	memcpy(rr + 8, &s, 4);
	g_assert_true(rg_webrtc_route(wt, rr, 32, true) == &fx.video);
	g_assert_true(rg_webrtc_route(wt, rr, 12, true) == &fx.audio);   /* report block cut off */

	/* more SSRCs than the table holds: the oldest are forgotten, routing still works */
	for (uint32_t i = 0; i < 40; i++) {
		n = rtp(b, i % 2 ? 96 : 111, 10000 + i);
		g_assert_true(rg_webrtc_route(wt, b, n, false) == (i % 2 ? &fx.video : &fx.audio));
	}
	g_assert_cmpuint(wt->n_bound, ==, G_N_ELEMENTS(wt->bound));

	/* one member: everything to the owner */
	wt->n_members = 1;
	n = rtp(b, 96, 2000);
	g_assert_true(rg_webrtc_route(wt, b, n, false) == &fx.audio);
	wt->n_members = 2;
	route_fx_clear(&fx);
}

static void test_tag(void)
{
	static const char *sdp_text =
		"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
		"a=group:LS 0 1\r\na=group:BUNDLE a v\r\n"
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:a\r\n"
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:v\r\n"
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:x\r\n"
		"m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\n";
	sdp_session *s = NULL;
	const char *err = NULL;
	g_assert_cmpint(sdp_parse(sdp_text, strlen(sdp_text), &s, &err), ==, 0);
	g_assert_cmpint(rg_webrtc_bundle_tag(s, 0), ==, 0);
	g_assert_cmpint(rg_webrtc_bundle_tag(s, 1), ==, 0);
	g_assert_cmpint(rg_webrtc_bundle_tag(s, 2), ==, 2);   /* not in the group */
	g_assert_cmpint(rg_webrtc_bundle_tag(s, 3), ==, 3);   /* no mid */
	sdp_free(s);

	/* the tag names no m= line: -1 */
	static const char *bad =
		"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE z a\r\n"
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:a\r\n";
	g_assert_cmpint(sdp_parse(bad, strlen(bad), &s, &err), ==, 0);
	g_assert_cmpint(rg_webrtc_bundle_tag(s, 0), ==, -1);
	sdp_free(s);
}

/* ---- through NG ---- */

/* A browser's audio+video offer in the shape Chromium writes it with BUNDLE (its candidates point
 * to a port nobody answers on: this test looks at the SDPs only). */
static char *browser_offer(void)
{
	static const char *media[2][3] = {
		{ "audio", "111 0", "a=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\na=ssrc:1111 cname:x\r\n" },
		{ "video", "96 97", "a=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
				    "a=ssrc:2222 cname:x\r\n" },
	};
	GString *g = g_string_new("v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
				  "a=group:BUNDLE 0 1\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n");
	for (int i = 0; i < 2; i++)
		g_string_append_printf(g,
			"m=%s 9 UDP/TLS/RTP/SAVPF %s\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n"
			"a=candidate:1 1 udp 2113937151 127.0.0.1 9 typ host\r\n"
			"a=ice-ufrag:Br0w\r\na=ice-pwd:browserpasswordbrowserpw\r\na=ice-options:trickle\r\n"
			"a=fingerprint:sha-256 9D:29:D8:74:2F:E1:1D:77:DE:54:F6:95:10:A8:50:B7:95:2C:70:B3:FA:D8:39:3F:DC:AE:23:64:C1:A2:BB:71\r\n"
			"a=setup:actpass\r\na=mid:%d\r\na=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
			"a=sendrecv\r\na=rtcp-mux\r\n%s",
			media[i][0], media[i][1], i, media[i][2]);
	return g_string_free(g, FALSE);
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_offer_answer(void)
{
	g_autofree char *offer = browser_offer();
	g_autoptr(reply) o = ng("offer", "call-id", "bundle-1", "from-tag", "browser", "sdp", offer,
				"ICE", "remove", "DTLS", "off", "transport-protocol", "RTP/AVP",
				"rtcp-mux", "[demux", "SDES", "[off", "flags", "[trust-address", NULL);
	assert_result(o, "ok");
	g_autofree char *plain = rstr(o, "sdp");
	/* the SIP side: two plain m= lines on ports of their own, nothing of BUNDLE or ICE */
	g_assert_cmpuint(count(plain, "m="), ==, 2);
	g_assert_cmpuint(count(plain, "RTP/AVP "), ==, 2);
	g_assert_cmpuint(sdp_port(plain, 0), !=, sdp_port(plain, 1));
	g_assert_null(strstr(plain, "BUNDLE"));
	g_assert_null(strstr(plain, "a=candidate"));
	g_assert_null(strstr(plain, "a=fingerprint"));

	g_autofree char *answer = g_strdup_printf(
		"v=0\r\no=- 77 1 IN IP4 127.0.0.1\r\ns=phone\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		"m=audio %u RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
		"m=video %u RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\na=sendrecv\r\n", 40000, 40002);
	g_autoptr(reply) a = ng("answer", "call-id", "bundle-1", "from-tag", "browser", "to-tag", "phone",
				"sdp", answer, "ICE", "force", "transport-protocol", "UDP/TLS/RTP/SAVPF",
				"rtcp-mux", "[require", NULL);
	assert_result(a, "ok");
	g_autofree char *tob = rstr(a, "sdp");
	/* toward the browser: one transport for both m= lines, the group, the browser's mids */
	g_assert_nonnull(strstr(tob, "a=group:BUNDLE 0 1\r\n"));
	g_assert_cmpuint(sdp_port(tob, 0), ==, sdp_port(tob, 1));
	g_assert_cmpuint(sdp_port(tob, 0), !=, 0);
	g_assert_nonnull(strstr(tob, "a=mid:0\r\n"));
	g_assert_nonnull(strstr(tob, "a=mid:1\r\n"));
	const char *u1 = strstr(tob, "a=ice-ufrag:");
	g_assert_nonnull(u1);
	const char *u2 = strstr(u1 + 1, "a=ice-ufrag:");
	g_assert_nonnull(u2);
	g_assert_cmpint(strcspn(u1, "\r"), ==, strcspn(u2, "\r"));
	g_assert_cmpint(strncmp(u1, u2, strcspn(u1, "\r")), ==, 0);
	g_assert_cmpuint(count(tob, "a=setup:passive"), ==, 2);
	g_assert_cmpuint(count(tob, "a=rtcp-mux"), ==, 2);

	/* the call has one ICE agent for the browser's two m= lines */
	rg_call *c = rg_call_get("bundle-1");
	g_assert_nonnull(c);
	g_mutex_lock(&c->lock);
	rg_party *p = rg_party_find(c, "browser");
	g_assert_nonnull(p);
	g_assert_cmpuint(p->medias->len, ==, 2);
	rg_media *m0 = p->medias->pdata[0], *m1 = p->medias->pdata[1];
	g_assert_nonnull(m0->wrtc);
	g_assert_true(m0->wrtc == m1->wrtc);
	g_assert_false(m0->wrtc_member);
	g_assert_true(m1->wrtc_member);
	g_assert_cmpuint(m0->wrtc->n_members, ==, 2);
	g_assert_cmpuint(m0->wrtc->mid_ext_id, ==, 4);
	g_assert_cmpuint(rg_webrtc_member(m1)->ssrcs[0], ==, 2222);
	g_mutex_unlock(&c->lock);
	rg_call_unref(c);

	/* a re-offer from the browser keeps the bundle and the port */
	g_autoptr(reply) o2 = ng("offer", "call-id", "bundle-1", "from-tag", "browser", "sdp", offer,
				 "ICE", "remove", "DTLS", "off", "transport-protocol", "RTP/AVP",
				 "rtcp-mux", "[demux", "SDES", "[off", "flags", "[trust-address", NULL);
	assert_result(o2, "ok");
	g_autoptr(reply) a2 = ng("answer", "call-id", "bundle-1", "from-tag", "browser", "to-tag", "phone",
				 "sdp", answer, "ICE", "force", "transport-protocol", "UDP/TLS/RTP/SAVPF",
				 "rtcp-mux", "[require", NULL);
	assert_result(a2, "ok");
	g_autofree char *tob2 = rstr(a2, "sdp");
	g_assert_cmpuint(sdp_port(tob2, 0), ==, sdp_port(tob, 0));
	g_assert_cmpuint(sdp_port(tob2, 1), ==, sdp_port(tob, 0));
	g_assert_nonnull(strstr(tob2, "a=group:BUNDLE 0 1\r\n"));

	g_autoptr(reply) d = ng("delete", "call-id", "bundle-1", NULL);
	assert_result(d, "ok");
}

/* A SIP phone offers audio + video; the browser gets one transport for both (a=group:BUNDLE),
 * as max-bundle browsers require, and its bundled answer is taken. */
static void test_offer_to_browser(void)
{
	static const char *phone =
		"v=0\r\no=- 5 1 IN IP4 127.0.0.1\r\ns=phone\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
		"m=video 40002 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\na=sendrecv\r\n";
	g_autoptr(reply) o = ng("offer", "call-id", "bundle-2", "from-tag", "phone", "sdp", phone,
				"ICE", "force", "DTLS", "passive", "transport-protocol", "UDP/TLS/RTP/SAVPF",
				"rtcp-mux", "[offer require", "SDES", "[off", "flags", "[trust-address generate-mid", NULL);
	assert_result(o, "ok");
	g_autofree char *tob = rstr(o, "sdp");
	g_assert_nonnull(strstr(tob, "a=group:BUNDLE 0 1\r\n"));
	g_assert_cmpuint(sdp_port(tob, 0), ==, sdp_port(tob, 1));
	g_assert_cmpuint(count(tob, "a=ice-ufrag:"), ==, 2);
	g_assert_cmpuint(count(tob, "a=setup:actpass"), ==, 2);
	const char *u1 = strstr(tob, "a=ice-ufrag:"), *u2 = strstr(u1 + 1, "a=ice-ufrag:");
	g_assert_cmpint(strncmp(u1, u2, strcspn(u1, "\r")), ==, 0);

	/* the browser answers bundled (its transport on the first m= line) */
	g_autofree char *ans = browser_offer();
	gchar **parts = g_strsplit(ans, "a=setup:actpass", -1);
	g_autofree char *ans2 = g_strjoinv("a=setup:active", parts);
	g_strfreev(parts);
	g_autoptr(reply) a = ng("answer", "call-id", "bundle-2", "from-tag", "phone", "to-tag", "browser",
				"sdp", ans2, "ICE", "remove", "transport-protocol", "RTP/AVP", "rtcp-mux", "[demux", NULL);
	assert_result(a, "ok");
	g_autofree char *warn = rstr(a, "warning");
	g_assert_null(warn);
	rg_call *c = rg_call_get("bundle-2");
	g_assert_nonnull(c);
	g_mutex_lock(&c->lock);
	rg_party *b = rg_party_find(c, "browser");
	g_assert_nonnull(b);
	rg_media *m0 = b->medias->pdata[0], *m1 = b->medias->pdata[1];
	g_assert_true(m0->wrtc && m0->wrtc == m1->wrtc && m1->wrtc_member);
	g_assert_cmpstr(rg_webrtc_member(m1)->mid, ==, "1");
	g_mutex_unlock(&c->lock);
	rg_call_unref(c);
	g_autoptr(reply) d = ng("delete", "call-id", "bundle-2", NULL);

	/* an answer that does not bundle: the video m= line has no transport, and the reply says so */
	g_autoptr(reply) o3 = ng("offer", "call-id", "bundle-3", "from-tag", "phone", "sdp", phone,
				 "ICE", "force", "DTLS", "passive", "transport-protocol", "UDP/TLS/RTP/SAVPF",
				 "rtcp-mux", "[offer require", "SDES", "[off", "flags", "[trust-address generate-mid", NULL);
	assert_result(o3, "ok");
	gchar **p3 = g_strsplit(ans2, "a=group:BUNDLE 0 1\r\n", -1);
	g_autofree char *ans3 = g_strjoinv("", p3);
	g_strfreev(p3);
	g_autoptr(reply) a3 = ng("answer", "call-id", "bundle-3", "from-tag", "phone", "to-tag", "browser",
				 "sdp", ans3, "ICE", "remove", "transport-protocol", "RTP/AVP", "rtcp-mux", "[demux", NULL);
	assert_result(a3, "ok");
	g_autofree char *warn3 = rstr(a3, "warning");
	g_assert_nonnull(warn3);
	g_assert_nonnull(strstr(warn3, "answer without BUNDLE"));
	g_autoptr(reply) d3 = ng("delete", "call-id", "bundle-3", NULL);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	rg_log_init(true, RG_LOG_ERR, "test_bundle");
	g_autofree char *listen = g_strdup_printf("--listen-ng=127.0.0.1:%d", 20500 + (getpid() % 400));
	rg_config cfg = { 0 };
	test_engine_start(&cfg, "--config-file=none", "--interface=127.0.0.1", listen, "--port-min=21100",
			  "--port-max=21163", "--num-threads=1", "--delete-delay=0", NULL);
	g_test_add_func("/bundle/route", test_route);
	g_test_add_func("/bundle/tag", test_tag);
	g_test_add_func("/bundle/offer-answer", test_offer_answer);
	g_test_add_func("/bundle/offer-to-browser", test_offer_to_browser);
	int ret = g_test_run();
	test_engine_stop(&cfg);
	return ret;
}
