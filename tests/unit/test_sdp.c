/* Unit tests for gateway/sdp.c: corpus round trips (every .sdp file in tests/sdp/), field checks, helpers, error
 * cases. Each test owns what it allocates and frees it before returning. */
#include "sdp.h"

#include <errno.h>
#include <string.h>

#include <glib.h>

#define CORPUS_DIR RG_TEST_SRCDIR "/tests/sdp"

/* ---- helpers ---- */

static char *read_corpus(const char *name, size_t *len)
{
	char *path = g_build_filename(CORPUS_DIR, name, NULL);
	char *buf = NULL;
	gsize n = 0;
	GError *gerr = NULL;
	if (!g_file_get_contents(path, &buf, &n, &gerr))
		g_error("cannot read %s: %s", path, gerr->message);
	g_free(path);
	*len = n;
	return buf;
}

/* LF-only text to CRLF (lines already ending in CRLF are left alone). */
static char *to_crlf(const char *buf, size_t len, size_t *out_len)
{
	GString *g = g_string_sized_new(len + 64);
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r'))
			g_string_append_c(g, '\r');
		g_string_append_c(g, buf[i]);
	}
	*out_len = g->len;
	return g_string_free(g, FALSE);
}

static sdp_session *parse_ok(const char *text)
{
	sdp_session *s = NULL;
	const char *err = NULL;
	int rc = sdp_parse(text, strlen(text), &s, &err);
	if (rc != 0)
		g_error("unexpected parse failure: %s\n%s", err ? err : "(null)", text);
	g_assert_nonnull(s);
	return s;
}

static sdp_session *parse_file(const char *name)
{
	size_t len;
	char *buf = read_corpus(name, &len);
	sdp_session *s = NULL;
	const char *err = NULL;
	if (sdp_parse(buf, len, &s, &err) != 0)
		g_error("%s: %s", name, err);
	g_free(buf);
	return s;
}

/* Parse must fail with -EINVAL and exactly this error text; *out must stay untouched. */
static void expect_err_len(const char *text, size_t len, const char *want)
{
	sdp_session *sentinel = (sdp_session *)(uintptr_t)0x1;
	sdp_session *s = sentinel;
	const char *err = NULL;
	int rc = sdp_parse(text, len, &s, &err);
	g_assert_cmpint(rc, ==, -EINVAL);
	g_assert_true(s == sentinel);
	g_assert_nonnull(err);
	g_assert_cmpstr(err, ==, want);
}

static void expect_err(const char *text, const char *want)
{
	expect_err_len(text, strlen(text), want);
}

static void assert_roundtrip(const char *text, size_t len, const char *what)
{
	sdp_session *s = NULL;
	const char *err = NULL;
	if (sdp_parse(text, len, &s, &err) != 0)
		g_error("%s: %s", what, err);
	size_t olen = 0;
	char *out = sdp_write(s, &olen);
	g_assert_cmpuint(olen, ==, strlen(out));
	if (olen != len || memcmp(out, text, len) != 0)
		g_error("%s: round trip differs\n--- in\n%.*s--- out\n%s", what, (int)len, text, out);
	g_free(out);
	sdp_free(s);
}

static void assert_same_session(const sdp_session *a, const sdp_session *b)
{
	char *wa = sdp_write(a, NULL), *wb = sdp_write(b, NULL);
	g_assert_cmpstr(wa, ==, wb);
	g_free(wa);
	g_free(wb);
	g_assert_cmpstr(a->v, ==, b->v);
	g_assert_cmpstr(a->o_user, ==, b->o_user);
	g_assert_cmpstr(a->o_sess_id, ==, b->o_sess_id);
	g_assert_cmpuint(a->o_version, ==, b->o_version);
	g_assert_cmpstr(a->s, ==, b->s);
	g_assert_cmpuint(a->lines->len, ==, b->lines->len);
	g_assert_cmpuint(a->attrs->len, ==, b->attrs->len);
	g_assert_cmpuint(a->media->len, ==, b->media->len);
	g_assert_cmpint(a->conn.set, ==, b->conn.set);
	for (guint i = 0; i < a->attrs->len; i++) {
		const sdp_attr *x = g_ptr_array_index(a->attrs, i), *y = g_ptr_array_index(b->attrs, i);
		g_assert_true(x != y);
		g_assert_true(x->name != y->name);
		g_assert_cmpstr(x->name, ==, y->name);
		g_assert_cmpstr(x->value, ==, y->value);
	}
	for (guint i = 0; i < a->media->len; i++) {
		const sdp_media *x = g_ptr_array_index(a->media, i), *y = g_ptr_array_index(b->media, i);
		g_assert_true(x != y);
		g_assert_cmpstr(x->media, ==, y->media);
		g_assert_cmpuint(x->port, ==, y->port);
		g_assert_cmpuint(x->num_ports, ==, y->num_ports);
		g_assert_cmpstr(x->proto, ==, y->proto);
		g_assert_cmpuint(x->fmts->len, ==, y->fmts->len);
		for (guint j = 0; j < x->fmts->len; j++) {
			g_assert_true(g_ptr_array_index(x->fmts, j) != g_ptr_array_index(y->fmts, j));
			g_assert_cmpstr(g_ptr_array_index(x->fmts, j), ==, g_ptr_array_index(y->fmts, j));
		}
		g_assert_cmpuint(x->lines->len, ==, y->lines->len);
		g_assert_cmpuint(x->attrs->len, ==, y->attrs->len);
		g_assert_cmpint(x->conn.set, ==, y->conn.set);
		if (x->conn.set) {
			g_assert_true(x->conn.addr != y->conn.addr);
			g_assert_cmpstr(x->conn.addr, ==, y->conn.addr);
		}
	}
}

static const char *fmt_at(const sdp_media *m, guint i)
{
	g_assert_cmpuint(i, <, m->fmts->len);
	return g_ptr_array_index(m->fmts, i);
}

static sdp_media *media_at(const sdp_session *s, guint i)
{
	g_assert_cmpuint(i, <, s->media->len);
	return g_ptr_array_index(s->media, i);
}

/* ---- corpus round trip ---- */

static void test_roundtrip_file(gconstpointer data)
{
	const char *name = data;
	size_t len, clen;
	char *buf = read_corpus(name, &len);
	char *crlf = to_crlf(buf, len, &clen);
	/* An LF-only (or mixed) file must parse too, and write back as its CRLF version. */
	sdp_session *s = NULL;
	const char *err = NULL;
	if (sdp_parse(buf, len, &s, &err) != 0)
		g_error("%s: %s", name, err);
	size_t olen;
	char *out = sdp_write(s, &olen);
	if (olen != clen || memcmp(out, crlf, clen) != 0)
		g_error("%s: round trip differs\n--- in\n%s--- out\n%s", name, crlf, out);
	g_free(out);

	/* Copy writes the same, and parsing the output again gives the same output. */
	sdp_session *c = sdp_copy(s);
	assert_same_session(s, c);
	sdp_free(c);
	assert_roundtrip(crlf, clen, name);

	/* The same text with LF-only line ends writes back as CRLF. */
	GString *lf = g_string_new(NULL);
	for (size_t i = 0; i < clen; i++)
		if (crlf[i] != '\r')
			g_string_append_c(lf, crlf[i]);
	sdp_session *s2 = NULL;
	g_assert_cmpint(sdp_parse(lf->str, lf->len, &s2, &err), ==, 0);
	out = sdp_write(s2, &olen);
	g_assert_cmpuint(olen, ==, clen);
	g_assert_true(memcmp(out, crlf, clen) == 0);
	g_free(out);
	sdp_free(s2);
	g_string_free(lf, TRUE);

	sdp_free(s);
	g_free(crlf);
	g_free(buf);
}

static void test_corpus_present(gconstpointer data)
{
	/* Keep the corpus from silently vanishing. */
	g_assert_cmpuint(GPOINTER_TO_UINT(data), >=, 15);
}

/* ---- field checks ---- */

static void test_fields_chromium(void)
{
	sdp_session *s = parse_file("chromium-156-audio-opus-offer.sdp");
	g_assert_cmpstr(s->v, ==, "0");
	g_assert_cmpstr(s->o_user, ==, "-");
	g_assert_cmpstr(s->o_sess_id, ==, "2123717276442178985");
	g_assert_cmpuint(s->o_version, ==, 2);
	g_assert_cmpstr(s->o_nettype, ==, "IN");
	g_assert_cmpstr(s->o_addrtype, ==, "IP4");
	g_assert_cmpstr(s->o_addr, ==, "127.0.0.1");
	g_assert_cmpstr(s->s, ==, "-");
	g_assert_false(s->conn.set);
	g_assert_cmpuint(s->lines->len, ==, 1);
	sdp_line *t = g_ptr_array_index(s->lines, 0);
	g_assert_cmpint(t->type, ==, 't');
	g_assert_cmpstr(t->value, ==, "0 0");

	g_assert_cmpstr(sdp_attr_value(s->attrs, "group"), ==, "BUNDLE 0");
	g_assert_cmpstr(sdp_attr_value(s->attrs, "extmap-allow-mixed"), ==, "");
	sdp_attr *ms = sdp_attr_find(s->attrs, "msid-semantic");
	g_assert_nonnull(ms);
	g_assert_cmpstr(ms->value, ==, " WMS a52b8cc1-a563-48a7-8b22-ecde061b5f68");

	g_assert_cmpuint(s->media->len, ==, 1);
	sdp_media *m = media_at(s, 0);
	g_assert_cmpstr(m->media, ==, "audio");
	g_assert_cmpuint(m->port, ==, 37300);
	g_assert_cmpuint(m->num_ports, ==, 0);
	g_assert_cmpstr(m->proto, ==, "UDP/TLS/RTP/SAVPF");
	g_assert_cmpuint(m->fmts->len, ==, 1);
	g_assert_cmpstr(fmt_at(m, 0), ==, "111");
	g_assert_true(m->conn.set);
	g_assert_cmpstr(m->conn.nettype, ==, "IN");
	g_assert_cmpstr(m->conn.addrtype, ==, "IP4");
	g_assert_cmpstr(m->conn.addr, ==, "127.0.0.1");
	g_assert_true(sdp_media_conn(s, m) == &m->conn);
	g_assert_cmpint(sdp_media_dir(s, m), ==, SDP_SENDRECV);
	g_assert_true(sdp_attr_has(m->attrs, "rtcp-mux"));
	g_assert_cmpstr(sdp_attr_value(m->attrs, "rtpmap"), ==, "111 opus/48000/2");
	g_assert_cmpstr(sdp_attr_value(m->attrs, "candidate"), ==,
	                "2033338778 1 udp 2122260223 127.0.0.1 37300 typ host generation 0 network-id 1 network-cost 50");

	unsigned port = 0;
	const char *at = "x", *addr = "x";
	g_assert_true(sdp_media_rtcp(m, &port, &at, &addr));
	g_assert_cmpuint(port, ==, 9);
	g_assert_cmpstr(at, ==, "IP4");
	g_assert_cmpstr(addr, ==, "0.0.0.0");
	sdp_free(s);
}

static void test_fields_aiortc_video(void)
{
	sdp_session *s = parse_file("aiortc-1.4-video-h264-offer.sdp");
	g_assert_cmpuint(s->o_version, ==, 4004601012u);
	g_assert_cmpstr(sdp_attr_value(s->attrs, "msid-semantic"), ==, "WMS *");
	sdp_media *m = media_at(s, 0);
	g_assert_cmpstr(m->media, ==, "video");
	g_assert_cmpuint(m->port, ==, 37249);
	g_assert_cmpuint(m->fmts->len, ==, 4);
	g_assert_cmpstr(fmt_at(m, 0), ==, "99");
	g_assert_cmpstr(fmt_at(m, 3), ==, "102");
	g_assert_cmpint(sdp_media_dir(s, m), ==, SDP_SENDONLY);
	g_assert_cmpstr(sdp_attr_value(m->attrs, "ssrc-group"), ==, "FID 4113094549 2878106284");
	sdp_free(s);
}

static void test_fields_sipp(void)
{
	sdp_session *s = parse_file("sipp-uac-offer.sdp");
	g_assert_cmpstr(s->o_user, ==, "user1");
	g_assert_cmpstr(s->o_sess_id, ==, "53655765");
	g_assert_cmpuint(s->o_version, ==, 2353687637u);
	g_assert_true(s->conn.set);
	g_assert_cmpstr(s->conn.addr, ==, "127.0.0.1");
	g_assert_cmpuint(s->media->len, ==, 1);
	sdp_media *m = media_at(s, 0);
	g_assert_cmpuint(m->port, ==, 6000);
	g_assert_cmpstr(m->proto, ==, "RTP/AVP");
	g_assert_cmpuint(m->fmts->len, ==, 1);
	g_assert_cmpstr(fmt_at(m, 0), ==, "0");
	g_assert_false(m->conn.set);
	g_assert_true(sdp_media_conn(s, m) == &s->conn);
	g_assert_false(sdp_media_rtcp(m, NULL, NULL, NULL));
	g_assert_cmpint(sdp_media_dir(s, m), ==, SDP_SENDRECV);
	sdp_free(s);
}

static void test_fields_baresip(void)
{
	sdp_session *s = parse_file("baresip-offer.sdp");
	g_assert_cmpstr(sdp_attr_value(s->attrs, "tool"), ==, "baresip 3.10.1");
	sdp_media *m = media_at(s, 0);
	g_assert_cmpuint(m->fmts->len, ==, 5);
	g_assert_cmpstr(fmt_at(m, 4), ==, "101");
	g_assert_cmpuint(m->lines->len, ==, 1);
	sdp_line *b = g_ptr_array_index(m->lines, 0);
	g_assert_cmpint(b->type, ==, 'b');
	g_assert_cmpstr(b->value, ==, "AS:128");
	unsigned port = 0;
	const char *at = "x", *addr = "x";
	g_assert_true(sdp_media_rtcp(m, &port, &at, &addr));
	g_assert_cmpuint(port, ==, 10647);
	g_assert_null(at);
	g_assert_null(addr);
	g_assert_cmpstr(sdp_attr_value(m->attrs, "ptime"), ==, "20");
	sdp_free(s);
}

static void test_fields_ims(void)
{
	sdp_session *s = parse_file("ims-volte-offer.sdp");
	g_assert_cmpstr(s->o_addrtype, ==, "IP6");
	g_assert_cmpstr(s->conn.addrtype, ==, "IP6");
	g_assert_cmpstr(s->conn.addr, ==, "2001:db8:10::15");
	g_assert_cmpuint(s->lines->len, ==, 2); /* b=AS:49, t=0 0 */
	sdp_media *m = media_at(s, 0);
	g_assert_cmpuint(m->fmts->len, ==, 6);
	g_assert_cmpuint(m->lines->len, ==, 3);
	g_assert_cmpstr(((sdp_line *)g_ptr_array_index(m->lines, 2))->value, ==, "RR:2000");
	g_assert_cmpstr(sdp_attr_value(m->attrs, "curr"), ==, "qos local none");
	g_assert_cmpstr(sdp_attr_value(m->attrs, "des"), ==, "qos mandatory local sendrecv");
	g_assert_cmpstr(sdp_attr_value(m->attrs, "maxptime"), ==, "240");
	sdp_free(s);
}

static void test_fields_datachannel(void)
{
	sdp_session *s = parse_file("webrtc-av-datachannel-offer.sdp");
	g_assert_cmpuint(s->media->len, ==, 3);
	g_assert_cmpstr(media_at(s, 0)->media, ==, "audio");
	g_assert_cmpuint(media_at(s, 0)->fmts->len, ==, 8);
	g_assert_cmpstr(media_at(s, 1)->media, ==, "video");
	sdp_media *m = media_at(s, 2);
	g_assert_cmpstr(m->media, ==, "application");
	g_assert_cmpuint(m->port, ==, 9);
	g_assert_cmpstr(m->proto, ==, "UDP/DTLS/SCTP");
	g_assert_cmpuint(m->fmts->len, ==, 1);
	g_assert_cmpstr(fmt_at(m, 0), ==, "webrtc-datachannel");
	g_assert_cmpstr(sdp_attr_value(m->attrs, "sctp-port"), ==, "5000");
	g_assert_false(sdp_media_rtcp(m, NULL, NULL, NULL));
	sdp_free(s);
}

static void test_fields_bundle_answer(void)
{
	sdp_session *s = parse_file("webrtc-bundle-answer.sdp");
	g_assert_cmpuint(s->media->len, ==, 2);
	g_assert_cmpint(sdp_media_dir(s, media_at(s, 0)), ==, SDP_SENDRECV);
	g_assert_cmpint(sdp_media_dir(s, media_at(s, 1)), ==, SDP_RECVONLY);
	g_assert_cmpstr(sdp_attr_value(media_at(s, 1)->attrs, "setup"), ==, "active");
	g_assert_cmpstr(sdp_media_conn(s, media_at(s, 1))->addr, ==, "0.0.0.0");
	sdp_free(s);
}

static void test_fields_hold(void)
{
	sdp_session *s = parse_file("hold-reoffer-sendonly.sdp");
	g_assert_cmpint(sdp_media_dir(s, media_at(s, 0)), ==, SDP_SENDONLY);
	g_assert_cmpuint(s->o_version, ==, 3384316186u);
	sdp_free(s);

	s = parse_file("hold-reoffer-zero-addr.sdp");
	g_assert_cmpint(sdp_media_dir(s, media_at(s, 0)), ==, SDP_SENDRECV);
	const sdp_conn *c = sdp_media_conn(s, media_at(s, 0));
	g_assert_nonnull(c);
	g_assert_cmpstr(c->addr, ==, "0.0.0.0");
	sdp_free(s);
}

static void test_fields_rejected(void)
{
	sdp_session *s = parse_file("rejected-video-answer.sdp");
	g_assert_cmpuint(s->media->len, ==, 2);
	g_assert_cmpuint(media_at(s, 0)->port, ==, 16384);
	sdp_media *v = media_at(s, 1);
	g_assert_cmpstr(v->media, ==, "video");
	g_assert_cmpuint(v->port, ==, 0);
	g_assert_cmpuint(v->fmts->len, ==, 1);
	g_assert_cmpuint(v->attrs->len, ==, 0);
	sdp_free(s);
}

static void test_fields_ipv6(void)
{
	sdp_session *s = parse_file("ipv6-offer.sdp");
	g_assert_cmpstr(s->s, ==, " ");
	g_assert_cmpstr(s->o_addr, ==, "::1");
	g_assert_cmpstr(s->conn.addrtype, ==, "IP6");
	g_assert_cmpstr(s->conn.addr, ==, "::1");
	unsigned port = 0;
	const char *at = NULL, *addr = NULL;
	g_assert_true(sdp_media_rtcp(media_at(s, 0), &port, &at, &addr));
	g_assert_cmpuint(port, ==, 49171);
	g_assert_cmpstr(at, ==, "IP6");
	g_assert_cmpstr(addr, ==, "::1");
	sdp_free(s);
}

static void test_fields_rtpengine(void)
{
	sdp_session *s = parse_file("rtpengine-answer.sdp");
	g_assert_cmpstr(s->s, ==, "tester");
	sdp_media *m = media_at(s, 0);
	unsigned port = 0;
	const char *at = "x", *addr = "x";
	g_assert_true(sdp_media_rtcp(m, &port, &at, &addr));
	g_assert_cmpuint(port, ==, 30001);
	g_assert_null(at);
	g_assert_null(addr);
	g_assert_cmpstr(sdp_attr_value(m->attrs, "fmtp"), ==, "101 0-16");
	sdp_free(s);
}

static void test_fields_linphone(void)
{
	sdp_session *s = parse_file("linphone-offer.sdp");
	g_assert_cmpstr(s->s, ==, "Talk");
	g_assert_cmpstr(sdp_attr_value(s->attrs, "rtcp-xr"), ==,
	                "rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics");
	g_assert_cmpuint(s->media->len, ==, 2);
	g_assert_cmpuint(media_at(s, 0)->fmts->len, ==, 9);
	g_assert_cmpstr(sdp_attr_value(media_at(s, 1)->attrs, "rtcp-fb"), ==, "* trr-int 1000");
	unsigned port = 0;
	g_assert_true(sdp_media_rtcp(media_at(s, 1), &port, NULL, NULL));
	g_assert_cmpuint(port, ==, 9079);
	sdp_free(s);
}

/* ---- parsing details ---- */

static void test_lf_and_trailing(void)
{
	/* LF ends, trailing spaces/tabs, trailing empty lines, no final newline on a later variant. */
	const char *in = "v=0\n"
	                 "o=- 1 2 IN IP4 192.0.2.1 \n"
	                 "s=-\t\n"
	                 "t=0 0\n"
	                 "m=audio 4000 RTP/AVP 0\n"
	                 "a=sendrecv  \n"
	                 "\n";
	const char *want = "v=0\r\n"
	                   "o=- 1 2 IN IP4 192.0.2.1\r\n"
	                   "s=-\r\n"
	                   "t=0 0\r\n"
	                   "m=audio 4000 RTP/AVP 0\r\n"
	                   "a=sendrecv\r\n";
	sdp_session *s = parse_ok(in);
	g_assert_cmpstr(sdp_attr_value(media_at(s, 0)->attrs, "sendrecv"), ==, "");
	g_assert_null(sdp_attr_find(media_at(s, 0)->attrs, "sendrecv")->value);
	char *out = sdp_write(s, NULL);
	g_assert_cmpstr(out, ==, want);
	g_free(out);
	sdp_free(s);

	/* No final line end; CRLF and LF mixed; several trailing empty lines. */
	s = parse_ok("v=0\r\no=- 1 2 IN IP4 192.0.2.1\ns=-\r\nt=0 0");
	out = sdp_write(s, NULL);
	g_assert_cmpstr(out, ==, "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n");
	g_free(out);
	sdp_free(s);
	s = parse_ok("v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\n\r\n\r\n  \r\n");
	sdp_free(s);
}

static void test_session_name_space(void)
{
	sdp_session *s = parse_ok("v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns= \r\nt=0 0\r\n");
	g_assert_cmpstr(s->s, ==, " ");
	char *out = sdp_write(s, NULL);
	g_assert_cmpstr(out, ==, "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns= \r\nt=0 0\r\n");
	g_free(out);
	sdp_free(s);
	/* Several spaces shrink to one; an empty s= is tolerated and kept empty. */
	s = parse_ok("v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=   \r\n");
	g_assert_cmpstr(s->s, ==, " ");
	sdp_free(s);
	s = parse_ok("v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=\r\n");
	g_assert_cmpstr(s->s, ==, "");
	sdp_free(s);
	/* Spaces inside the name are kept. */
	s = parse_ok("v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=My  Call \r\n");
	g_assert_cmpstr(s->s, ==, "My  Call");
	sdp_free(s);
}

static void test_attr_split(void)
{
	sdp_session *s = parse_ok("v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\n"
	                          "a=msid-semantic: WMS\r\n"
	                          "a=x:a:b:c\r\n"
	                          "a=empty:\r\n"
	                          "a=flag\r\n"
	                          "a=with space\r\n");
	sdp_attr *a = g_ptr_array_index(s->attrs, 0);
	g_assert_cmpstr(a->name, ==, "msid-semantic");
	g_assert_cmpstr(a->value, ==, " WMS");
	a = g_ptr_array_index(s->attrs, 1);
	g_assert_cmpstr(a->name, ==, "x");
	g_assert_cmpstr(a->value, ==, "a:b:c");
	a = g_ptr_array_index(s->attrs, 2);
	g_assert_cmpstr(a->name, ==, "empty");
	g_assert_cmpstr(a->value, ==, "");
	a = g_ptr_array_index(s->attrs, 3);
	g_assert_cmpstr(a->name, ==, "flag");
	g_assert_null(a->value);
	a = g_ptr_array_index(s->attrs, 4);
	g_assert_cmpstr(a->name, ==, "with space");
	g_assert_null(a->value);
	char *out = sdp_write(s, NULL);
	g_assert_cmpstr(out, ==, "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\n"
	                         "a=msid-semantic: WMS\r\na=x:a:b:c\r\na=empty:\r\na=flag\r\na=with space\r\n");
	g_free(out);
	sdp_free(s);
}

static void test_media_variants(void)
{
	/* port/n, rejected media without fmts, multiple spaces between tokens, c= with TTL suffix. */
	sdp_session *s = parse_ok("v=0\r\no=- 1 18446744073709551615 IN IP4 192.0.2.1\r\ns=-\r\n"
	                          "m=video 49170/2 RTP/AVP  31   32\r\n"
	                          "c=IN IP4 233.252.0.1/127/3\r\n"
	                          "m=audio 0 RTP/AVP\r\n"
	                          "m=audio 65535 RTP/AVP 0\r\n");
	g_assert_cmpuint(s->o_version, ==, G_MAXUINT64);
	sdp_media *m = media_at(s, 0);
	g_assert_cmpuint(m->port, ==, 49170);
	g_assert_cmpuint(m->num_ports, ==, 2);
	g_assert_cmpuint(m->fmts->len, ==, 2);
	g_assert_cmpstr(fmt_at(m, 1), ==, "32");
	g_assert_cmpstr(m->conn.addr, ==, "233.252.0.1/127/3");
	g_assert_cmpuint(media_at(s, 1)->port, ==, 0);
	g_assert_cmpuint(media_at(s, 1)->fmts->len, ==, 0);
	g_assert_cmpuint(media_at(s, 2)->port, ==, 65535);
	char *out = sdp_write(s, NULL);
	g_assert_cmpstr(out, ==, "v=0\r\no=- 1 18446744073709551615 IN IP4 192.0.2.1\r\ns=-\r\n"
	                         "m=video 49170/2 RTP/AVP 31 32\r\n"
	                         "c=IN IP4 233.252.0.1/127/3\r\n"
	                         "m=audio 0 RTP/AVP\r\n"
	                         "m=audio 65535 RTP/AVP 0\r\n");
	g_free(out);
	sdp_free(s);
}

static void test_line_order(void)
{
	/* Out-of-order input is written in RFC order; unknown types follow the line before them. */
	sdp_session *s = parse_ok("v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\n"
	                          "x=first\r\n"
	                          "t=0 0\r\n"
	                          "a=tool:t\r\n"
	                          "c=IN IP4 192.0.2.1\r\n"
	                          "i=info\r\n"
	                          "y=after-info\r\n"
	                          "m=audio 1 RTP/AVP 0\r\n"
	                          "a=rtpmap:0 PCMU/8000\r\n"
	                          "b=AS:64\r\n"
	                          "c=IN IP4 192.0.2.2\r\n"
	                          "i=media info\r\n"
	                          "k=prompt\r\n");
	char *out = sdp_write(s, NULL);
	g_assert_cmpstr(out, ==, "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\n"
	                         "x=first\r\n"
	                         "i=info\r\n"
	                         "y=after-info\r\n"
	                         "c=IN IP4 192.0.2.1\r\n"
	                         "t=0 0\r\n"
	                         "a=tool:t\r\n"
	                         "m=audio 1 RTP/AVP 0\r\n"
	                         "i=media info\r\n"
	                         "c=IN IP4 192.0.2.2\r\n"
	                         "b=AS:64\r\n"
	                         "k=prompt\r\n"
	                         "a=rtpmap:0 PCMU/8000\r\n");
	/* Writing is idempotent. */
	sdp_session *s2 = parse_ok(out);
	char *out2 = sdp_write(s2, NULL);
	g_assert_cmpstr(out, ==, out2);
	g_free(out2);
	sdp_free(s2);
	g_free(out);
	sdp_free(s);

	/* Full RFC order at session level round-trips exactly, unknown lines included. */
	const char *full = "v=0\r\no=jdoe 2890844526 2890842807 IN IP4 198.51.100.1\r\ns=SDP Seminar\r\n"
	                   "i=A Seminar on the session description protocol\r\n"
	                   "u=http://www.example.com/seminars/sdp.pdf\r\n"
	                   "e=j.doe@example.com (Jane Doe)\r\n"
	                   "p=+1 617 555-6011\r\n"
	                   "c=IN IP4 233.252.0.1/127\r\n"
	                   "b=CT:128\r\n"
	                   "t=2873397496 2873404696\r\n"
	                   "r=604800 3600 0 90000\r\n"
	                   "z=2882844526 -1h 2898848070 0\r\n"
	                   "k=prompt\r\n"
	                   "w=unknown after k\r\n"
	                   "a=recvonly\r\n"
	                   "m=audio 49170 RTP/AVP 0\r\n"
	                   "i=audio\r\n"
	                   "q=unknown in media\r\n"
	                   "c=IN IP4 233.252.0.2/127\r\n"
	                   "b=AS:64\r\n"
	                   "m=video 51372 RTP/AVP 99\r\n"
	                   "a=rtpmap:99 h263-1998/90000\r\n";
	assert_roundtrip(full, strlen(full), "rfc8866 example");
	s = parse_ok(full);
	g_assert_cmpuint(s->lines->len, ==, 10);
	g_assert_cmpint(sdp_media_dir(s, media_at(s, 0)), ==, SDP_RECVONLY); /* session-level fallback */
	g_assert_cmpuint(media_at(s, 0)->lines->len, ==, 3);
	sdp_free(s);
}

/* ---- helper functions ---- */

static void test_attr_helpers(void)
{
	sdp_session *s = parse_ok("v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\n"
	                          "m=audio 1 RTP/AVP 0 8\r\n"
	                          "a=rtpmap:0 PCMU/8000\r\n"
	                          "a=ptime:20\r\n"
	                          "a=rtpmap:8 PCMA/8000\r\n"
	                          "a=rtcp-mux\r\n");
	GPtrArray *a = media_at(s, 0)->attrs;
	g_assert_null(sdp_attr_find(a, "rtcp"));
	g_assert_null(sdp_attr_find(a, "rtpma"));
	g_assert_null(sdp_attr_find(NULL, "x"));
	g_assert_null(sdp_attr_value(NULL, "x"));
	g_assert_false(sdp_attr_has(NULL, "x"));
	g_assert_cmpuint(sdp_attr_remove(NULL, "x"), ==, 0);
	g_assert_cmpstr(sdp_attr_find(a, "rtpmap")->value, ==, "0 PCMU/8000");
	g_assert_cmpstr(sdp_attr_value(a, "rtcp-mux"), ==, "");
	g_assert_null(sdp_attr_value(a, "sendonly"));
	g_assert_true(sdp_attr_has(a, "ptime"));

	sdp_attr_set(a, "ptime", "30");
	g_assert_cmpstr(sdp_attr_value(a, "ptime"), ==, "30");
	g_assert_cmpuint(a->len, ==, 4);
	sdp_attr_set(a, "maxptime", "60");
	g_assert_cmpuint(a->len, ==, 5);
	g_assert_cmpstr(((sdp_attr *)g_ptr_array_index(a, 4))->name, ==, "maxptime");
	/* Setting from its own value must not read freed memory. */
	sdp_attr_set(a, "maxptime", sdp_attr_value(a, "maxptime"));
	g_assert_cmpstr(sdp_attr_value(a, "maxptime"), ==, "60");
	sdp_attr_set(a, "rtcp-mux", NULL);
	g_assert_cmpstr(sdp_attr_value(a, "rtcp-mux"), ==, "");

	g_assert_cmpuint(sdp_attr_remove(a, "rtpmap"), ==, 2);
	g_assert_cmpuint(sdp_attr_remove(a, "rtpmap"), ==, 0);
	g_assert_cmpuint(a->len, ==, 3);
	sdp_attr_add(a, "sendonly", NULL);
	sdp_attr_add(a, "fmtp", "0 x=1");
	g_assert_cmpint(sdp_media_dir(s, media_at(s, 0)), ==, SDP_SENDONLY);

	sdp_media *m = media_at(s, 0);
	g_assert_true(sdp_media_conn(s, m) == NULL);
	sdp_conn_set(&s->conn, "IP4", "192.0.2.9");
	g_assert_true(sdp_media_conn(s, m) == &s->conn);
	sdp_conn_set(&m->conn, "IP6", "2001:db8::1");
	sdp_conn_set(&m->conn, "IP6", m->conn.addr); /* self-assignment is safe */
	g_assert_true(sdp_media_conn(s, m) == &m->conn);
	g_assert_cmpstr(m->conn.nettype, ==, "IN");
	g_assert_cmpstr(m->conn.addr, ==, "2001:db8::1");

	sdp_line_add(m->lines, 'b', "AS:64");
	sdp_media *nm = sdp_media_new("video", 0, "RTP/AVP");
	g_ptr_array_add(nm->fmts, g_strdup("96"));
	g_ptr_array_add(s->media, nm);
	sdp_media *tmp = sdp_media_new("audio", 1, "RTP/AVP");
	sdp_media_free(tmp);

	char *out = sdp_write(s, NULL);
	g_assert_cmpstr(out, ==, "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\n"
	                         "c=IN IP4 192.0.2.9\r\n"
	                         "m=audio 1 RTP/AVP 0 8\r\n"
	                         "c=IN IP6 2001:db8::1\r\n"
	                         "b=AS:64\r\n"
	                         "a=ptime:30\r\n"
	                         "a=rtcp-mux\r\n"
	                         "a=maxptime:60\r\n"
	                         "a=sendonly\r\n"
	                         "a=fmtp:0 x=1\r\n"
	                         "m=video 0 RTP/AVP 96\r\n");
	g_free(out);
	/* g_ptr_array_remove_index frees the element (arrays own their elements). */
	g_ptr_array_remove_index(s->media, 1);
	g_ptr_array_remove_index(m->attrs, 0);
	sdp_free(s);
}

static void test_dir(void)
{
	g_assert_cmpstr(sdp_dir_name(SDP_SENDRECV), ==, "sendrecv");
	g_assert_cmpstr(sdp_dir_name(SDP_SENDONLY), ==, "sendonly");
	g_assert_cmpstr(sdp_dir_name(SDP_RECVONLY), ==, "recvonly");
	g_assert_cmpstr(sdp_dir_name(SDP_INACTIVE), ==, "inactive");
	sdp_session *s = parse_ok("v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\na=inactive\r\n"
	                          "m=audio 1 RTP/AVP 0\r\n"
	                          "m=audio 2 RTP/AVP 0\r\na=recvonly\r\na=sendonly\r\n");
	g_assert_cmpint(sdp_media_dir(s, media_at(s, 0)), ==, SDP_INACTIVE);
	g_assert_cmpint(sdp_media_dir(s, media_at(s, 1)), ==, SDP_RECVONLY);
	g_assert_cmpint(sdp_media_dir(NULL, NULL), ==, SDP_SENDRECV);
	sdp_free(s);
}

static void test_rtcp_attr(void)
{
	static const struct {
		const char *value;
		bool ok;
		unsigned port;
		const char *at, *addr;
	} cases[] = {
		{ "9 IN IP4 0.0.0.0", true, 9, "IP4", "0.0.0.0" },
		{ "53020", true, 53020, NULL, NULL },
		{ "53020 IN IP6 2001:db8::7", true, 53020, "IP6", "2001:db8::7" },
		{ "65535", true, 65535, NULL, NULL },
		{ "0", false, 0, NULL, NULL },
		{ "65536", false, 0, NULL, NULL },
		{ "", false, 0, NULL, NULL },
		{ "abc", false, 0, NULL, NULL },
		{ "9 IN IP4", false, 0, NULL, NULL },
		{ "9 IN", false, 0, NULL, NULL },
		{ "9 IN IPX 1.2.3.4", false, 0, NULL, NULL },
		{ "9 XX IP4 1.2.3.4", false, 0, NULL, NULL },
		{ "9 IN IP4 1.2.3.4 extra", false, 0, NULL, NULL },
		{ "9 IN IP4 1.2.3.4 ", false, 0, NULL, NULL },
		{ "-1", false, 0, NULL, NULL },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		sdp_media *m = sdp_media_new("audio", 1000, "RTP/AVP");
		sdp_attr_add(m->attrs, "rtcp-mux", NULL);
		sdp_attr_add(m->attrs, "rtcp", cases[i].value);
		unsigned port = 12345;
		const char *at = "unset", *addr = "unset";
		bool ok = sdp_media_rtcp(m, &port, &at, &addr);
		if (ok != cases[i].ok)
			g_error("a=rtcp:%s: expected %d", cases[i].value, cases[i].ok);
		if (ok) {
			g_assert_cmpuint(port, ==, cases[i].port);
			g_assert_cmpstr(at, ==, cases[i].at);
			g_assert_cmpstr(addr, ==, cases[i].addr);
			/* All out-params optional. */
			g_assert_true(sdp_media_rtcp(m, NULL, NULL, NULL));
		} else {
			g_assert_cmpuint(port, ==, 12345);
			g_assert_cmpstr(at, ==, "unset");
			g_assert_cmpstr(addr, ==, "unset");
		}
		sdp_media_free(m);
	}
	/* Flag attribute and absent attribute. */
	sdp_media *m = sdp_media_new("audio", 1000, "RTP/AVP");
	g_assert_false(sdp_media_rtcp(m, NULL, NULL, NULL));
	sdp_attr_add(m->attrs, "rtcp", NULL);
	g_assert_false(sdp_media_rtcp(m, NULL, NULL, NULL));
	sdp_media_free(m);
	g_assert_false(sdp_media_rtcp(NULL, NULL, NULL, NULL));
}

static void test_copy(void)
{
	size_t len;
	char *buf = read_corpus("webrtc-av-datachannel-offer.sdp", &len);
	sdp_session *s = NULL;
	g_assert_cmpint(sdp_parse(buf, len, &s, NULL), ==, 0);
	sdp_session *c = sdp_copy(s);
	assert_same_session(s, c);
	/* Deep: changing the copy leaves the original alone. */
	sdp_attr_set(media_at(c, 0)->attrs, "mid", "changed");
	sdp_conn_set(&media_at(c, 0)->conn, "IP4", "192.0.2.77");
	g_ptr_array_remove_index(c->media, 2);
	g_assert_cmpstr(sdp_attr_value(media_at(s, 0)->attrs, "mid"), ==, "0");
	g_assert_cmpstr(media_at(s, 0)->conn.addr, ==, "0.0.0.0");
	g_assert_cmpuint(s->media->len, ==, 3);
	char *out = sdp_write(s, NULL);
	g_assert_cmpuint(strlen(out), ==, len);
	g_assert_true(memcmp(out, buf, len) == 0);
	g_free(out);
	sdp_free(c);
	sdp_free(s);
	g_free(buf);
	g_assert_null(sdp_copy(NULL));
	sdp_free(NULL);
}

static void test_write_defensive(void)
{
	/* A hand-built session with NULL fields and a CR/LF in a value still writes one line per field. */
	sdp_session *s = parse_ok("v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\n");
	g_free(s->o_user);
	s->o_user = NULL;
	g_free(s->s);
	s->s = NULL;
	sdp_attr_add(s->attrs, "evil", "x\r\na=injected");
	size_t len = 0;
	char *out = sdp_write(s, &len);
	g_assert_cmpstr(out, ==, "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=\r\na=evil:x  a=injected\r\n");
	g_assert_cmpuint(len, ==, strlen(out));
	g_free(out);
	sdp_free(s);
	out = sdp_write(NULL, &len);
	g_assert_cmpstr(out, ==, "");
	g_assert_cmpuint(len, ==, 0);
	g_free(out);
}

/* ---- errors ---- */

#define HDR "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\n"

static void test_errors(void)
{
	expect_err_len(NULL, 0, "SDP: empty");
	expect_err("", "SDP: empty");
	expect_err("\r\n\r\n", "SDP: empty");
	expect_err("o=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\n", "SDP line 1: SDP must start with v=");
	expect_err("s=-\r\nv=0\r\n", "SDP line 1: SDP must start with v=");
	expect_err("v=0\r\ns=-\r\n", "SDP: no o= line");
	expect_err("v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\n", "SDP: no s= line");
	expect_err(HDR "v=0\r\n", "SDP line 4: duplicate v=");
	expect_err(HDR "o=- 1 2 IN IP4 192.0.2.1\r\n", "SDP line 4: duplicate o=");
	expect_err(HDR "s=x\r\n", "SDP line 4: duplicate s=");
	expect_err("v=0\r\no=- 1 2 IN IP4\r\ns=-\r\n", "SDP line 2: o= needs 6 fields");
	expect_err("v=0\r\no=- 1 2 IN IP4 1.2.3.4 x\r\ns=-\r\n", "SDP line 2: o= needs 6 fields");
	expect_err("v=0\r\no=- 1 x2 IN IP4 1.2.3.4\r\ns=-\r\n", "SDP line 2: o= version is not a number");
	expect_err("v=0\r\no=- 1 18446744073709551616 IN IP4 1.2.3.4\r\ns=-\r\n",
	           "SDP line 2: o= version is not a number");
	expect_err(HDR "m=audio 70000 RTP/AVP 0\r\n", "SDP line 4: m= has a bad port");
	expect_err(HDR "m=audio 65536 RTP/AVP 0\r\n", "SDP line 4: m= has a bad port");
	expect_err(HDR "m=audio -1 RTP/AVP 0\r\n", "SDP line 4: m= has a bad port");
	expect_err(HDR "m=audio /2 RTP/AVP 0\r\n", "SDP line 4: m= has a bad port");
	expect_err(HDR "m=audio 1000/0 RTP/AVP 0\r\n", "SDP line 4: m= has a bad port count");
	expect_err(HDR "m=audio 1000/ RTP/AVP 0\r\n", "SDP line 4: m= has a bad port count");
	expect_err(HDR "m=audio 1000/2/3 RTP/AVP 0\r\n", "SDP line 4: m= has a bad port count");
	expect_err(HDR "m=audio 6000\r\n", "SDP line 4: m= needs media, port and proto");
	expect_err(HDR "m=audio\r\n", "SDP line 4: m= needs media, port and proto");
	expect_err(HDR "m=\r\n", "SDP line 4: m= needs media, port and proto");
	expect_err(HDR "m=audio 6000 RTP/AVP\r\n", "SDP line 4: m= needs at least one format");
	expect_err(HDR "c=IN IP4\r\n", "SDP line 4: c= needs 3 fields");
	expect_err(HDR "c=IN IP4 1.2.3.4 5\r\n", "SDP line 4: c= needs 3 fields");
	expect_err(HDR "m=audio 1 RTP/AVP 0\r\nc=IN IP4\r\n", "SDP line 5: c= needs 3 fields");
	expect_err(HDR "c=IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\n", "SDP line 5: duplicate c=");
	expect_err(HDR "m=audio 1 RTP/AVP 0\r\no=- 1 2 IN IP4 192.0.2.1\r\n", "SDP line 5: o= in a media section");
	expect_err(HDR "m=audio 1 RTP/AVP 0\r\ns=x\r\n", "SDP line 5: s= in a media section");
	expect_err(HDR "a=\r\n", "SDP line 4: a= needs a name");
	expect_err(HDR "a=:x\r\n", "SDP line 4: a= needs a name");
	expect_err(HDR "hello\r\n", "SDP line 4: not a type=value line");
	expect_err(HDR "A=x\r\n", "SDP line 4: not a type=value line");
	expect_err(HDR "1=x\r\n", "SDP line 4: not a type=value line");
	expect_err(HDR "ab=x\r\n", "SDP line 4: not a type=value line");
	expect_err(HDR " a=x\r\n", "SDP line 4: not a type=value line");
	expect_err(HDR "a\r\n", "SDP line 4: not a type=value line");
	expect_err(HDR "\r\nt=0 0\r\n", "SDP line 4: empty line");
	expect_err("\r\n" HDR, "SDP line 1: empty line");
	expect_err(HDR "a=x\ry\r\n", "SDP line 4: CR not followed by LF");
	expect_err(HDR "a=x\r\r\n", "SDP line 4: CR not followed by LF");

	/* Binary junk. */
	static const char junk[] = "\x00\x01\x02\xff\xfe\x80garbage\x00\n\x7f";
	expect_err_len(junk, sizeof(junk) - 1, "SDP line 1: NUL byte");
	static const char junk2[] = "\xde\xad\xbe\xef\x13\x37\n";
	expect_err_len(junk2, sizeof(junk2) - 1, "SDP line 1: not a type=value line");
	static const char nul_in_attr[] = HDR "a=ice-pwd:ab\x00" "cd\r\n";
	expect_err_len(nul_in_attr, sizeof(nul_in_attr) - 1, "SDP line 4: NUL byte");
	/* A NUL past len must not matter, and len must be honoured (no NUL terminator needed). */
	char *nonul = g_malloc(sizeof(HDR) - 1);
	memcpy(nonul, HDR, sizeof(HDR) - 1);
	sdp_session *s = NULL;
	g_assert_cmpint(sdp_parse(nonul, sizeof(HDR) - 1, &s, NULL), ==, 0);
	sdp_free(s);
	g_assert_cmpint(sdp_parse(nonul, sizeof(HDR) - 5, &s, NULL), ==, -EINVAL); /* ends in "s" */
	g_free(nonul);
	/* err may be NULL. */
	g_assert_cmpint(sdp_parse("x", 1, &s, NULL), ==, -EINVAL);
}

static void test_limits(void)
{
	/* 64 m= lines are fine, the 65th is not. */
	GString *g = g_string_new(HDR);
	for (int i = 0; i < 64; i++)
		g_string_append_printf(g, "m=audio %d RTP/AVP 0\r\n", 10000 + 2 * i);
	sdp_session *s = parse_ok(g->str);
	g_assert_cmpuint(s->media->len, ==, 64);
	sdp_free(s);
	g_string_append(g, "m=audio 20000 RTP/AVP 0\r\n");
	expect_err(g->str, "SDP line 68: more than 64 m= lines");
	g_string_free(g, TRUE);

	/* 4096 lines are fine, 4097 are not. */
	g = g_string_new(HDR);
	for (int i = 3; i < SDP_MAX_LINES; i++)
		g_string_append(g, "a=x\r\n");
	s = parse_ok(g->str);
	g_assert_cmpuint(s->attrs->len, ==, SDP_MAX_LINES - 3);
	sdp_free(s);
	g_string_append(g, "a=x\r\n");
	expect_err(g->str, "SDP line 4097: too many lines");
	g_string_free(g, TRUE);

	/* 1 MiB of input is fine, one byte more is not. */
	g = g_string_new(HDR "a=big:");
	while (g->len < SDP_MAX_LEN - 2)
		g_string_append_c(g, 'x');
	g_string_append(g, "\r\n");
	g_assert_cmpuint(g->len, ==, SDP_MAX_LEN);
	s = parse_ok(g->str);
	sdp_free(s);
	g_string_insert_c(g, g->len - 2, 'x');
	expect_err(g->str, "SDP: too large (over 1 MiB)");
	g_string_free(g, TRUE);

	/* Format token cap. */
	g = g_string_new(HDR "m=audio 1 RTP/AVP");
	for (int i = 0; i < SDP_MAX_FMTS; i++)
		g_string_append(g, " 0");
	s = parse_ok(g->str);
	g_assert_cmpuint(media_at(s, 0)->fmts->len, ==, SDP_MAX_FMTS);
	sdp_free(s);
	g_string_append(g, " 0");
	expect_err(g->str, "SDP line 4: m= has too many formats");
	g_string_free(g, TRUE);
}

static void test_truncated(void)
{
	expect_err("v=0\r\no=- 1", "SDP line 2: o= needs 6 fields");
	expect_err("v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\n", "SDP: no s= line");
	expect_err("v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns", "SDP line 3: not a type=value line");
	expect_err(HDR "m=aud", "SDP line 4: m= needs media, port and proto");
	expect_err(HDR "m=audio 60", "SDP line 4: m= needs media, port and proto");
	expect_err(HDR "m=audio 6000 RTP/AVP", "SDP line 4: m= needs at least one format");
	expect_err(HDR "c=IN IP", "SDP line 4: c= needs 3 fields");
	expect_err("v", "SDP line 1: not a type=value line");

	/* Every prefix of every corpus file either parses or fails cleanly, and if it parses it writes
	 * something that parses to the same text. */
	GDir *dir = g_dir_open(CORPUS_DIR, 0, NULL);
	g_assert_nonnull(dir);
	const char *name;
	while ((name = g_dir_read_name(dir))) {
		if (!g_str_has_suffix(name, ".sdp"))
			continue;
		size_t len;
		char *buf = read_corpus(name, &len);
		for (size_t n = 0; n <= len; n++) {
			/* Exact-size copy so ASan catches any read past the end. */
			char *p = g_memdup2(buf, n);
			sdp_session *s = NULL;
			const char *err = NULL;
			int rc = sdp_parse(p, n, &s, &err);
			if (rc == 0) {
				size_t olen;
				char *out = sdp_write(s, &olen);
				assert_roundtrip(out, olen, name);
				g_free(out);
				sdp_free(s);
			} else {
				g_assert_cmpint(rc, ==, -EINVAL);
				g_assert_nonnull(err);
				g_assert_true(g_str_has_prefix(err, "SDP"));
			}
			g_free(p);
		}
		g_free(buf);
	}
	g_dir_close(dir);
}

static gint cmp_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	/* One round-trip test per corpus file, in name order. */
	GDir *dir = g_dir_open(CORPUS_DIR, 0, NULL);
	if (!dir)
		g_error("cannot open %s", CORPUS_DIR);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const char *name;
	while ((name = g_dir_read_name(dir)))
		if (g_str_has_suffix(name, ".sdp"))
			g_ptr_array_add(names, g_strdup(name));
	g_dir_close(dir);
	g_ptr_array_sort(names, cmp_names);
	for (guint i = 0; i < names->len; i++) {
		char *path = g_strdup_printf("/sdp/roundtrip/%s", (char *)g_ptr_array_index(names, i));
		g_test_add_data_func(path, g_ptr_array_index(names, i), test_roundtrip_file);
		g_free(path);
	}
	g_test_add_data_func("/sdp/corpus-present", GUINT_TO_POINTER(names->len), test_corpus_present);

	g_test_add_func("/sdp/fields/chromium", test_fields_chromium);
	g_test_add_func("/sdp/fields/aiortc-video", test_fields_aiortc_video);
	g_test_add_func("/sdp/fields/sipp", test_fields_sipp);
	g_test_add_func("/sdp/fields/baresip", test_fields_baresip);
	g_test_add_func("/sdp/fields/linphone", test_fields_linphone);
	g_test_add_func("/sdp/fields/ims", test_fields_ims);
	g_test_add_func("/sdp/fields/datachannel", test_fields_datachannel);
	g_test_add_func("/sdp/fields/bundle-answer", test_fields_bundle_answer);
	g_test_add_func("/sdp/fields/hold", test_fields_hold);
	g_test_add_func("/sdp/fields/rejected", test_fields_rejected);
	g_test_add_func("/sdp/fields/ipv6", test_fields_ipv6);
	g_test_add_func("/sdp/fields/rtpengine", test_fields_rtpengine);
	g_test_add_func("/sdp/parse/lf-and-trailing", test_lf_and_trailing);
	g_test_add_func("/sdp/parse/session-name-space", test_session_name_space);
	g_test_add_func("/sdp/parse/attr-split", test_attr_split);
	g_test_add_func("/sdp/parse/media-variants", test_media_variants);
	g_test_add_func("/sdp/write/line-order", test_line_order);
	g_test_add_func("/sdp/write/defensive", test_write_defensive);
	g_test_add_func("/sdp/helpers/attrs", test_attr_helpers);
	g_test_add_func("/sdp/helpers/dir", test_dir);
	g_test_add_func("/sdp/helpers/rtcp", test_rtcp_attr);
	g_test_add_func("/sdp/copy", test_copy);
	g_test_add_func("/sdp/errors/basic", test_errors);
	g_test_add_func("/sdp/errors/limits", test_limits);
	g_test_add_func("/sdp/errors/truncated", test_truncated);

	int rc = g_test_run();
	g_ptr_array_unref(names);
	return rc;
}
