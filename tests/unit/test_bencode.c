/* Unit tests for gateway/bencode.c. Every buffer handed to be_decode() is an exact-size heap copy
 * so that ASan catches any read past len. */
#include "bencode.h"

#include <glib.h>
#include <string.h>

/* A small real-world SDP from a SIP phone, offered towards a WebRTC client. */
static const char sip_sdp[] =
	"v=0\r\n"
	"o=- 1545997027 1 IN IP4 198.51.100.1\r\n"
	"s=tester\r\n"
	"t=0 0\r\n"
	"m=audio 2000 RTP/AVP 0 8 101\r\n"
	"c=IN IP4 198.51.100.1\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-16\r\n"
	"a=sendrecv\r\n";

/* Kamailio rtpengine_offer() as sent on the wire (without the cookie). */
static char *kamailio_offer(size_t *len)
{
	GString *s = g_string_new("d8:supportsl10:load limite3:sdp");
	g_string_append_printf(s, "%zu:%s", strlen(sip_sdp), sip_sdp);
	g_string_append(s,
		"3:ICE5:force4:DTLS7:passive9:directionl8:internale5:flagsl13:trust-address9:symmetrice"
		"7:replacel6:origin18:session-connectione5:codecd5:stripl3:alle9:transcodel4:PCMUee"
		"18:transport-protocol9:RTP/SAVPF8:rtcp-muxl5:demuxe7:call-id31:a84b4c76e66710@pc33.example.org"
		"13:received-froml3:IP49:127.0.0.2e8:from-tag10:19283017747:command5:offere");
	*len = s->len;
	return g_string_free(s, FALSE);
}

/* Kamailio rtpengine_answer() for the same call, from a WebRTC client. */
static const char kamailio_answer[] =
	"d3:sdp213:v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	"m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n"
	"a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\na=rtcp-mux\r\na=sendrecv\r\n"
	"5:flagsl13:trust-addresse7:replacel6:origin18:session-connectione"
	"18:transport-protocol7:RTP/AVP7:call-id31:a84b4c76e66710@pc33.example.org"
	"13:received-froml3:IP49:127.0.0.3e8:from-tag10:19283017746:to-tag8:a6c85cf17:command6:answere";

typedef struct decoded {
	char *copy;
	be_doc doc;
	int rc;
	const char *err;
} decoded;

static decoded decode(const char *buf, size_t len)
{
	decoded d = { 0 };
	d.copy = g_malloc(len ? len : 1);
	if (len)
		memcpy(d.copy, buf, len);
	d.rc = be_decode(d.copy, len, &d.doc, &d.err);
	return d;
}

static void decoded_free(decoded *d)
{
	if (d->rc == 0)
		be_doc_free(&d->doc);
	g_free(d->copy);
}

static int decode_rc(const char *buf, size_t len, const char **err)
{
	decoded d = decode(buf, len);
	int rc = d.rc;
	if (err)
		*err = d.err;
	decoded_free(&d);
	return rc;
}

static void assert_reencodes(const be_node *root, const char *buf, size_t len)
{
	be_buf b;
	size_t olen;
	be_buf_init(&b);
	be_node_encode(&b, root);
	g_assert_cmpint(b.depth, ==, 0);
	char *out = be_buf_steal(&b, &olen);
	g_assert_cmpmem(out, olen, buf, len);
	g_free(out);
}

static void test_offer(void)
{
	size_t len;
	char *msg = kamailio_offer(&len);
	decoded d = decode(msg, len);
	g_assert_cmpint(d.rc, ==, 0);
	const be_node *root = d.doc.root;

	g_assert_nonnull(root);
	g_assert_cmpint(root->type, ==, BE_DICT);
	g_assert_cmpuint(root->count, ==, 14);
	g_assert_true(root->key.s == NULL);

	rg_str v;
	g_assert_true(be_dict_str(root, "command", &v));
	g_assert_true(rg_str_eq_c(v, "offer"));
	g_assert_true(be_dict_str(root, "call-id", &v));
	g_assert_true(rg_str_eq_c(v, "a84b4c76e66710@pc33.example.org"));
	g_assert_true(be_dict_str(root, "from tag", &v));
	g_assert_true(rg_str_eq_c(v, "1928301774"));
	g_assert_true(be_dict_str(root, "sdp", &v));
	g_assert_cmpmem(v.s, v.len, sip_sdp, strlen(sip_sdp));
	g_assert_true(v.s >= d.copy && v.s + v.len <= d.copy + len);  /* points into the input */
	g_assert_true(be_dict_str(root, "ICE", &v));
	g_assert_true(rg_str_eq_c(v, "force"));
	g_assert_false(be_dict_str(root, "ice", &v));  /* case-sensitive */
	g_assert_true(be_dict_str(root, "transport_protocol", &v));
	g_assert_true(rg_str_eq_c(v, "RTP/SAVPF"));

	/* "received from" == "received-from" == "received_from" */
	const be_node *rf = be_dict_get(root, "received from");
	g_assert_nonnull(rf);
	g_assert_true(rf == be_dict_get(root, "received-from"));
	g_assert_true(rf == be_dict_get(root, "received_from"));
	g_assert_true(rg_str_eq_c(rf->key, "received-from"));
	g_assert_cmpint(rf->type, ==, BE_LIST);
	g_assert_cmpuint(rf->count, ==, 2);
	g_assert_true(rg_str_eq_c(rf->child->str, "IP4"));
	g_assert_true(rg_str_eq_c(rf->child->next->str, "127.0.0.2"));
	g_assert_null(rf->child->next->next);
	g_assert_true(rf->child->key.s == NULL);  /* list items have no key */
	g_assert_false(be_dict_str(root, "received from", &v));  /* a list, not a string */
	g_assert_null(be_dict_get(root, "receivedfrom"));
	g_assert_null(be_dict_get(rf, "IP4"));  /* not a dict */

	const be_node *flags = be_dict_get(root, "flags");
	g_assert_cmpuint(flags->count, ==, 2);
	g_assert_true(rg_str_eq_c(flags->child->str, "trust-address"));
	g_assert_true(rg_str_eq_c(flags->child->next->str, "symmetric"));

	const be_node *codec = be_dict_get(root, "codec");
	g_assert_cmpint(codec->type, ==, BE_DICT);
	const be_node *tc = be_dict_get(codec, "transcode");
	g_assert_nonnull(tc);
	g_assert_cmpuint(tc->count, ==, 1);
	g_assert_true(rg_str_eq_c(tc->child->str, "PCMU"));
	const be_node *strip = be_dict_get(codec, "strip");
	g_assert_true(rg_str_eq_c(strip->child->str, "all"));

	/* the last item of the root: next chain ends */
	const be_node *last = root->child;
	unsigned n = 1;
	while (last->next) {
		last = last->next;
		n++;
	}
	g_assert_cmpuint(n, ==, root->count);
	g_assert_true(rg_str_eq_c(last->key, "command"));

	assert_reencodes(root, msg, len);

	/* the same message built with the encoder API is byte-identical */
	be_buf b;
	be_buf_init(&b);
	be_dict_open(&b);
	be_key(&b, "supports");
	be_list_open(&b);
	be_cstr(&b, "load limit");
	be_close(&b);
	be_kv_str(&b, "sdp", rg_str_from(sip_sdp));
	be_kv_cstr(&b, "ICE", "force");
	be_kv_cstr(&b, "DTLS", "passive");
	be_key(&b, "direction");
	be_list_open(&b);
	be_cstr(&b, "internal");
	be_close(&b);
	be_key(&b, "flags");
	be_list_open(&b);
	be_cstr(&b, "trust-address");
	be_cstr(&b, "symmetric");
	be_close(&b);
	be_key(&b, "replace");
	be_list_open(&b);
	be_cstr(&b, "origin");
	be_cstr(&b, "session-connection");
	be_close(&b);
	be_key(&b, "codec");
	be_dict_open(&b);
	be_key(&b, "strip");
	be_list_open(&b);
	be_cstr(&b, "all");
	be_close(&b);
	be_key(&b, "transcode");
	be_list_open(&b);
	be_cstr(&b, "PCMU");
	be_close(&b);
	be_close(&b);
	be_kv_cstr(&b, "transport-protocol", "RTP/SAVPF");
	be_key(&b, "rtcp-mux");
	be_list_open(&b);
	be_cstr(&b, "demux");
	be_close(&b);
	be_kv_cstr(&b, "call-id", "a84b4c76e66710@pc33.example.org");
	be_key(&b, "received-from");
	be_list_open(&b);
	be_cstr(&b, "IP4");
	be_cstr(&b, "127.0.0.2");
	be_close(&b);
	be_kv_cstr(&b, "from-tag", "1928301774");
	be_kv_cstr(&b, "command", "offer");
	be_close(&b);
	g_assert_cmpint(b.depth, ==, 0);
	size_t blen;
	char *built = be_buf_steal(&b, &blen);
	g_assert_null(b.s);
	g_assert_cmpmem(built, blen, msg, len);
	g_assert_cmpint(built[blen], ==, '\0');
	g_free(built);

	decoded_free(&d);
	g_free(msg);
}

static void test_answer(void)
{
	size_t len = sizeof(kamailio_answer) - 1;
	decoded d = decode(kamailio_answer, len);
	g_assert_cmpint(d.rc, ==, 0);
	rg_str v;
	g_assert_true(be_dict_str(d.doc.root, "command", &v));
	g_assert_true(rg_str_eq_c(v, "answer"));
	g_assert_true(be_dict_str(d.doc.root, "to-tag", &v));
	g_assert_true(rg_str_eq_c(v, "a6c85cf1"));
	g_assert_true(be_dict_str(d.doc.root, "sdp", &v));
	g_assert_cmpuint(v.len, ==, 213);
	g_assert_true(g_str_has_prefix(v.s, "v=0\r\n"));
	g_assert_true(v.s[v.len - 1] == '\n');
	assert_reencodes(d.doc.root, kamailio_answer, len);
	decoded_free(&d);
}

static void test_small_messages(void)
{
	static const char *ok[] = {
		"d7:command4:pinge",
		"d6:result4:ponge",
		"d6:result2:oke",
		"d6:result5:error12:error-reason15:Unknown call-ide",
		"d6:result2:ok7:createdi1700000000e11:last signali1700000100e4:tagsd8:a6c85cf1d3:tag8:a6c85cf1eee",
		"0:",
		"i0e",
		"i-1e",
		"i9223372036854775807e",
		"i-9223372036854775808e",
		"le",
		"de",
		"lllleeee",
		"d0:0:e",
		"l0:0:i0ee",
		"4:spam",
		"d3:cow3:moo4:spam4:eggse",
		"l4:spami42ee",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
		decoded d = decode(ok[i], strlen(ok[i]));
		if (d.rc != 0)
			g_error("%s: %s", ok[i], d.err);
		assert_reencodes(d.doc.root, ok[i], strlen(ok[i]));
		decoded_free(&d);
	}

	decoded d = decode("i-9223372036854775808e", 22);
	g_assert_cmpint(d.rc, ==, 0);
	g_assert_cmpint(d.doc.root->type, ==, BE_INT);
	g_assert_cmpint(d.doc.root->num, ==, INT64_MIN);
	decoded_free(&d);

	/* binary-safe strings: NUL and 'e' inside */
	static const char bin[] = "l3:a\0e1:\xff" "e";
	d = decode(bin, sizeof(bin) - 1);
	g_assert_cmpint(d.rc, ==, 0);
	g_assert_cmpmem(d.doc.root->child->str.s, 3, "a\0e", 3);
	g_assert_cmpint((unsigned char)d.doc.root->child->next->str.s[0], ==, 0xff);
	decoded_free(&d);
}

static void test_duplicates(void)
{
	static const char msg[] = "d7:command5:offer4:flagl1:ae4:flag3:two8:from_tag1:x8:from-tag1:y7:command6:answere";
	decoded d = decode(msg, sizeof(msg) - 1);
	g_assert_cmpint(d.rc, ==, 0);
	g_assert_cmpuint(d.doc.root->count, ==, 6);
	rg_str v;
	g_assert_true(be_dict_str(d.doc.root, "command", &v));
	g_assert_true(rg_str_eq_c(v, "answer"));
	g_assert_true(be_dict_str(d.doc.root, "flag", &v));  /* last one (a string) wins over the list */
	g_assert_true(rg_str_eq_c(v, "two"));
	/* "from_tag" and "from-tag" are the same key: the later wins */
	g_assert_true(be_dict_str(d.doc.root, "from tag", &v));
	g_assert_true(rg_str_eq_c(v, "y"));
	assert_reencodes(d.doc.root, msg, sizeof(msg) - 1);
	decoded_free(&d);
}

static void test_numbers(void)
{
	static const char *const strs[][2] = {
		{ "ttls", "30" }, { "delay", "-15" }, { "zeropad", "007" }, { "neg", "-0" }, { "junk", "12a" },
		{ "empty", "" }, { "dash", "-" }, { "plus", "+5" }, { "space", " 12" },
		{ "max", "9223372036854775807" }, { "min", "-9223372036854775808" },
		{ "over1", "9223372036854775808" }, { "over2", "-9223372036854775809" },
	};
	be_buf b;
	be_buf_init(&b);
	be_dict_open(&b);
	be_kv_int(&b, "ttl", 30);
	for (size_t i = 0; i < G_N_ELEMENTS(strs); i++)
		be_kv_cstr(&b, strs[i][0], strs[i][1]);
	be_key(&b, "list");
	be_list_open(&b);
	be_int(&b, 1);
	be_close(&b);
	be_kv_int(&b, "bigi", INT64_MAX);
	be_close(&b);
	size_t len;
	char *msg = be_buf_steal(&b, &len);
	decoded d = decode(msg, len);
	g_free(msg);
	if (d.rc)
		g_error("%s", d.err);
	const be_node *r = d.doc.root;
	int64_t n = 42;
	g_assert_true(be_dict_int(r, "ttl", &n));
	g_assert_cmpint(n, ==, 30);
	g_assert_true(be_dict_int(r, "ttls", &n));
	g_assert_cmpint(n, ==, 30);
	g_assert_true(be_dict_int(r, "delay", &n));
	g_assert_cmpint(n, ==, -15);
	g_assert_true(be_dict_int(r, "zeropad", &n));
	g_assert_cmpint(n, ==, 7);
	g_assert_true(be_dict_int(r, "neg", &n));
	g_assert_cmpint(n, ==, 0);
	g_assert_true(be_dict_int(r, "max", &n));
	g_assert_cmpint(n, ==, INT64_MAX);
	g_assert_true(be_dict_int(r, "min", &n));
	g_assert_cmpint(n, ==, INT64_MIN);
	g_assert_true(be_dict_int(r, "bigi", &n));
	g_assert_cmpint(n, ==, INT64_MAX);
	n = 42;
	g_assert_false(be_dict_int(r, "junk", &n));
	g_assert_false(be_dict_int(r, "empty", &n));
	g_assert_false(be_dict_int(r, "dash", &n));
	g_assert_false(be_dict_int(r, "plus", &n));
	g_assert_false(be_dict_int(r, "space", &n));
	g_assert_false(be_dict_int(r, "over1", &n));
	g_assert_false(be_dict_int(r, "over2", &n));
	g_assert_false(be_dict_int(r, "list", &n));
	g_assert_false(be_dict_int(r, "absent", &n));
	g_assert_false(be_dict_int(NULL, "ttl", &n));
	g_assert_cmpint(n, ==, 42);  /* untouched on failure */
	g_assert_true(be_node_int(be_dict_get(r, "list")->child, &n));
	g_assert_cmpint(n, ==, 1);
	g_assert_false(be_node_int(NULL, &n));
	rg_str s = RG_STR_C("untouched");
	g_assert_false(be_dict_str(r, "ttl", &s));  /* an integer, not a string */
	g_assert_true(rg_str_eq_c(s, "untouched"));
	decoded_free(&d);
}

static void test_truncated(void)
{
	size_t len;
	char *msg = kamailio_offer(&len);
	for (size_t i = 0; i < len; i++) {
		const char *err = NULL;
		int rc = decode_rc(msg, i, &err);
		if (rc != -EINVAL)
			g_error("prefix of %zu bytes: rc %d", i, rc);
		g_assert_nonnull(err);
		g_assert_true(g_str_has_prefix(err, "bencode: "));
	}
	/* also every prefix of the answer, and every single-byte deletion of it */
	size_t alen = sizeof(kamailio_answer) - 1;
	for (size_t i = 0; i < alen; i++) {
		g_assert_cmpint(decode_rc(kamailio_answer, i, NULL), ==, -EINVAL);
		char *cut = g_malloc(alen - 1);
		memcpy(cut, kamailio_answer, i);
		memcpy(cut + i, kamailio_answer + i + 1, alen - i - 1);
		decoded d = decode(cut, alen - 1);
		if (d.rc == 0)  /* can only succeed if a string length byte became another valid one */
			assert_reencodes(d.doc.root, cut, alen - 1);
		decoded_free(&d);
		g_free(cut);
	}
	g_free(msg);
}

static void test_hostile(void)
{
#define CASE(lit) (lit), sizeof(lit) - 1
	static const struct {
		const char *in;
		size_t len;
		int rc;
		const char *err;  /* substring of the error text */
	} cases[] = {
		{ CASE(""), -EINVAL, "empty input at offset 0" },
		{ CASE("99999999999999999999:x"), -EINVAL, "string length exceeds input" },
		{ CASE("18446744073709551616:x"), -EINVAL, "string length exceeds input" },
		{ CASE("18446744073709551615:x"), -EINVAL, "string length exceeds input" },
		{ CASE("2:x"), -EINVAL, "string length exceeds input" },
		{ CASE("l5:abce"), -EINVAL, "string length exceeds input" },
		{ CASE("01:x"), -EINVAL, "leading zero in string length" },
		{ CASE("00:"), -EINVAL, "leading zero" },
		{ CASE("-1:x"), -EINVAL, "unexpected byte 0x2d" },
		{ CASE("+1:x"), -EINVAL, "unexpected byte 0x2b" },
		{ CASE("1x"), -EINVAL, "expected ':' after string length at offset 1" },
		{ CASE("12"), -EINVAL, "string length exceeds input at offset 0" },
		{ CASE("1"), -EINVAL, "expected ':' after string length at offset 1" },
		{ CASE("3:ab"), -EINVAL, "string length exceeds input at offset 0" },
		{ CASE("ie"), -EINVAL, "expected digit" },
		{ CASE("i-e"), -EINVAL, "expected digit" },
		{ CASE("i-0e"), -EINVAL, "negative zero" },
		{ CASE("i00e"), -EINVAL, "leading zero in integer" },
		{ CASE("i01e"), -EINVAL, "leading zero in integer" },
		{ CASE("i-01e"), -EINVAL, "negative zero" },
		{ CASE("i+1e"), -EINVAL, "expected digit" },
		{ CASE("i1.5e"), -EINVAL, "expected 'e'" },
		{ CASE("i 1e"), -EINVAL, "expected digit" },
		{ CASE("i1"), -EINVAL, "expected 'e'" },
		{ CASE("i"), -EINVAL, "expected digit" },
		{ CASE("i9223372036854775808e"), -EINVAL, "integer overflow" },
		{ CASE("i-9223372036854775809e"), -EINVAL, "integer overflow" },
		{ CASE("i99999999999999999999999e"), -EINVAL, "integer overflow" },
		{ CASE("di1ei2ee"), -EINVAL, "dict key must be a string at offset 1" },
		{ CASE("dlei1ee"), -EINVAL, "dict key must be a string" },
		{ CASE("ddee1:xe"), -EINVAL, "dict key must be a string" },
		{ CASE("d3:keye"), -EINVAL, "dict key without value at offset 6" },
		{ CASE("d3:key"), -EINVAL, "dict key without value" },
		{ CASE("d"), -EINVAL, "unterminated dict at offset 1" },
		{ CASE("l"), -EINVAL, "unterminated list at offset 1" },
		{ CASE("l1:a"), -EINVAL, "unterminated list" },
		{ CASE("e"), -EINVAL, "unexpected byte 0x65" },
		{ CASE("x"), -EINVAL, "unexpected byte 0x78" },
		{ CASE("i1ex"), -EINVAL, "trailing data after value at offset 3" },
		{ CASE("dee"), -EINVAL, "trailing data after value at offset 2" },
		{ CASE("lee"), -EINVAL, "trailing data" },
		{ CASE("0:0:"), -EINVAL, "trailing data" },
		{ CASE("d7:command4:pinge\n"), -EINVAL, "trailing data after value at offset 17" },
		{ CASE(" d7:command4:pinge"), -EINVAL, "unexpected byte 0x20 at offset 0" },
		{ CASE("d7:command4:pingee"), -EINVAL, "trailing data" },
		{ CASE("l\0e"), -EINVAL, "unexpected byte 0x00" },
	};
#undef CASE
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		const char *err = NULL;
		int rc = decode_rc(cases[i].in, cases[i].len, &err);
		if (rc != cases[i].rc || !err || !strstr(err, cases[i].err))
			g_error("case %zu \"%s\": rc %d err \"%s\", expected rc %d \"%s\"", i, cases[i].in, rc,
				err ? err : "(null)", cases[i].rc, cases[i].err);
	}

	/* NULL arguments */
	be_doc doc;
	g_assert_cmpint(be_decode(NULL, 0, &doc, NULL), ==, -EINVAL);
	g_assert_cmpint(be_decode(NULL, 5, &doc, NULL), ==, -EINVAL);
	g_assert_cmpint(be_decode("i1e", 3, NULL, NULL), ==, -EINVAL);

	/* failure leaves *doc untouched */
	memset(&doc, 0xa5, sizeof(doc));
	be_doc before = doc;
	g_assert_cmpint(be_decode("l", 1, &doc, NULL), ==, -EINVAL);
	g_assert_cmpmem(&doc, sizeof(doc), &before, sizeof(before));
}

static void test_deep(void)
{
	const char *err = NULL;
	/* 10000 deep: fails at depth BE_MAX_DEPTH + 1, without recursion */
	GString *s = g_string_new(NULL);
	for (int i = 0; i < 10000; i++)
		g_string_append_c(s, 'l');
	g_assert_cmpint(decode_rc(s->str, s->len, &err), ==, -ELOOP);
	g_assert_nonnull(strstr(err, "nesting too deep at offset 32"));
	for (int i = 0; i < 10000; i++)
		g_string_append_c(s, 'e');
	g_assert_cmpint(decode_rc(s->str, s->len, NULL), ==, -ELOOP);
	g_string_free(s, TRUE);

	/* dicts count too */
	s = g_string_new("d");
	for (int i = 0; i < 100; i++)
		g_string_append(s, "1:kd");
	g_assert_cmpint(decode_rc(s->str, s->len, NULL), ==, -ELOOP);
	g_string_free(s, TRUE);

	/* exactly BE_MAX_DEPTH is fine, and re-encodes */
	s = g_string_new(NULL);
	for (int i = 0; i < BE_MAX_DEPTH; i++)
		g_string_append(s, i % 2 ? "d1:k" : "l");
	g_string_append(s, "i7e");
	for (int i = BE_MAX_DEPTH - 1; i >= 0; i--)
		g_string_append_c(s, 'e');
	decoded d = decode(s->str, s->len);
	g_assert_cmpint(d.rc, ==, 0);
	g_assert_cmpuint(d.doc.n, ==, BE_MAX_DEPTH + 1);
	const be_node *n = d.doc.root;
	for (int i = 0; i < BE_MAX_DEPTH; i++) {
		g_assert_cmpint(n->type, ==, i % 2 ? BE_DICT : BE_LIST);
		g_assert_cmpuint(n->count, ==, 1);
		n = n->child;
	}
	g_assert_cmpint(n->num, ==, 7);
	assert_reencodes(d.doc.root, s->str, s->len);
	decoded_free(&d);

	/* one more level fails */
	g_string_prepend_c(s, 'l');
	g_string_append_c(s, 'e');
	g_assert_cmpint(decode_rc(s->str, s->len, NULL), ==, -ELOOP);
	g_string_free(s, TRUE);
}

static void test_many_nodes(void)
{
	const char *err = NULL;
	/* 100000 tiny items */
	GString *s = g_string_new("l");
	for (int i = 0; i < 100000; i++)
		g_string_append(s, "i0e");
	g_string_append_c(s, 'e');
	g_assert_cmpint(decode_rc(s->str, s->len, &err), ==, -E2BIG);
	g_assert_nonnull(strstr(err, "too many nodes"));
	g_string_free(s, TRUE);

	s = g_string_new("l");
	for (int i = 0; i < 100000; i++)
		g_string_append(s, "0:");
	g_assert_cmpint(decode_rc(s->str, s->len, NULL), ==, -E2BIG);  /* even unterminated */
	g_string_free(s, TRUE);

	/* exactly BE_MAX_NODES (root + 8191 items) is fine; one more is not */
	s = g_string_new("d");
	for (int i = 0; i < BE_MAX_NODES - 1; i++)
		g_string_append(s, "0:le");
	g_string_append_c(s, 'e');
	decoded d = decode(s->str, s->len);
	g_assert_cmpint(d.rc, ==, 0);
	g_assert_cmpuint(d.doc.n, ==, BE_MAX_NODES);
	g_assert_cmpuint(d.doc.root->count, ==, BE_MAX_NODES - 1);
	g_assert_nonnull(be_dict_get(d.doc.root, ""));
	g_assert_true(be_dict_get(d.doc.root, "") == &d.doc.nodes[BE_MAX_NODES - 1]);
	assert_reencodes(d.doc.root, s->str, s->len);
	decoded_free(&d);
	g_string_insert(s, 1, "0:i1e");
	g_assert_cmpint(decode_rc(s->str, s->len, NULL), ==, -E2BIG);
	g_string_free(s, TRUE);
}

static void test_encoder(void)
{
	be_buf b;
	be_buf_init(&b);
	be_dict_open(&b);
	be_kv_cstr(&b, "result", "ok");
	be_kv_int(&b, "a", 0);
	be_kv_int(&b, "b", -17);
	be_kv_int(&b, "c", INT64_MAX);
	be_kv_int(&b, "d", INT64_MIN);
	be_kv_str(&b, "e", RG_STR_NULL);
	be_kv_cstr(&b, "f", NULL);
	be_kv_str(&b, "g", rg_str_mk("x\0y", 3));
	be_key(&b, "h");
	be_list_open(&b);
	be_list_open(&b);
	be_close(&b);
	be_dict_open(&b);
	be_close(&b);
	be_int(&b, 5);
	be_close(&b);
	be_close(&b);
	g_assert_cmpint(b.depth, ==, 0);
	size_t len;
	char *out = be_buf_steal(&b, &len);
	static const char want[] = "d6:result2:ok1:ai0e1:bi-17e1:ci9223372036854775807e"
		"1:di-9223372036854775808e1:e0:1:f0:1:g3:x\0y1:hlledei5eee";
	g_assert_cmpmem(out, len, want, sizeof(want) - 1);

	decoded d = decode(out, len);
	g_assert_cmpint(d.rc, ==, 0);
	int64_t n;
	g_assert_true(be_dict_int(d.doc.root, "d", &n));
	g_assert_cmpint(n, ==, INT64_MIN);
	decoded_free(&d);
	g_free(out);

	/* be_buf_free on a used and on a freed buffer */
	be_buf_init(&b);
	be_cstr(&b, "abc");
	be_buf_free(&b);
	be_buf_free(&b);

	/* hand-built tree deeper than BE_MAX_DEPTH: output stays valid bencode */
	be_node nodes[BE_MAX_DEPTH + 2];
	memset(nodes, 0, sizeof(nodes));
	for (int i = 0; i < BE_MAX_DEPTH + 1; i++) {
		nodes[i].type = BE_LIST;
		nodes[i].child = &nodes[i + 1];
		nodes[i].count = 1;
	}
	nodes[BE_MAX_DEPTH + 1].type = BE_INT;
	be_buf_init(&b);
	g_test_expect_message(G_LOG_DOMAIN, G_LOG_LEVEL_WARNING, "*deeper*");
	be_node_encode(&b, &nodes[0]);
	g_test_assert_expected_messages();
	out = be_buf_steal(&b, &len);
	g_assert_cmpint(decode_rc(out, len, NULL), ==, 0);
	GString *want_deep = g_string_new(NULL);
	for (int i = 0; i < BE_MAX_DEPTH; i++)
		g_string_append_c(want_deep, 'l');
	g_string_append(want_deep, "0:");
	for (int i = 0; i < BE_MAX_DEPTH; i++)
		g_string_append_c(want_deep, 'e');
	g_assert_cmpmem(out, len, want_deep->str, want_deep->len);
	g_string_free(want_deep, TRUE);
	g_free(out);

	be_buf_init(&b);
	be_node_encode(&b, NULL);
	g_assert_cmpuint(b.s->len, ==, 0);
	be_buf_free(&b);

	be_doc_free(NULL);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/bencode/offer", test_offer);
	g_test_add_func("/bencode/answer", test_answer);
	g_test_add_func("/bencode/small", test_small_messages);
	g_test_add_func("/bencode/duplicates", test_duplicates);
	g_test_add_func("/bencode/numbers", test_numbers);
	g_test_add_func("/bencode/truncated", test_truncated);
	g_test_add_func("/bencode/hostile", test_hostile);
	g_test_add_func("/bencode/deep", test_deep);
	g_test_add_func("/bencode/many_nodes", test_many_nodes);
	g_test_add_func("/bencode/encoder", test_encoder);
	return g_test_run();
}
