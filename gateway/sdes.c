#include "sdes.h"
#include "log.h"

#include <string.h>

bool rg_sdes_sdp_has(const sdp_session *s, const sdp_media *sm)
{
	return sm->port && sm->proto && strstr(sm->proto, "SAVP") && sdp_attr_has(sm->attrs, "crypto") &&
	       !sdp_attr_value(sm->attrs, "fingerprint") && !sdp_attr_value(s->attrs, "fingerprint");
}

rg_sdes *rg_sdes_new(rg_media *m)
{
	if (!m->sdes)
		m->sdes = g_new0(rg_sdes, 1);
	return m->sdes;
}

void rg_sdes_free(rg_sdes *sd)
{
	if (!sd)
		return;
	if (sd->srtp)
		rg_srtp_free(sd->srtp);
	for (unsigned i = 0; i < sd->n_offered; i++)
		rg_sdes_crypto_wipe(&sd->offered[i]);
	rg_sdes_crypto_wipe(&sd->local);
	rg_sdes_crypto_wipe(&sd->remote);
	g_free(sd);
}

/* NG "SDES" list: off, no-<suite>, only-<suite> (checked against the suite's a=crypto name) */
static bool suite_allowed(const ng_req *r, enum rg_srtp_suite suite)
{
	const struct rg_srtp_suite_info *si = rg_srtp_suite_info(suite);
	if (!si || !rg_srtp_suite_supported(suite))
		return false;
	bool any_only = false, in_only = false;
	for (unsigned i = 0; i < r->n_sdes; i++) {
		rg_str v = r->sdes[i], rest;
		if (rg_str_prefix(v, "no-", &rest) && rg_str_eq_c(rest, si->sdes_name))
			return false;
		if (rg_str_prefix(v, "only-", &rest)) {
			any_only = true;
			in_only |= rg_str_eq_c(rest, si->sdes_name);
		}
	}
	return !any_only || in_only;
}

static const char *make_session(rg_media *m)
{
	rg_sdes *sd = m->sdes;
	rg_srtp_keys keys;
	if (rg_sdes_keys(&keys, &sd->local, &sd->remote) < 0)
		return "SDES: the answer's suite differs from ours";
	if (sd->srtp)
		rg_srtp_free(sd->srtp);
	sd->srtp = NULL;
	int e = rg_srtp_new(&sd->srtp, &keys, true);
	rg_srtp_keys_wipe(&keys);
	if (e < 0)
		return "SDES: cannot create the SRTP session";
	const struct rg_srtp_suite_info *si = rg_srtp_suite_info(sd->local.suite);
	rg_clog(RG_LOG_INFO, m->party->call->call_id, "media %u: SDES-SRTP keyed (%s)", m->index,
		si ? si->sdes_name : "?");
	return NULL;
}

const char *rg_sdes_take_offer(rg_media *m, const sdp_media *sm, const ng_req *r)
{
	rg_sdes *sd = rg_sdes_new(m);
	for (guint i = 0; i < sm->attrs->len; i++) {
		sdp_attr *a = sm->attrs->pdata[i];
		if (strcmp(a->name, "crypto") != 0 || !a->value)
			continue;
		rg_sdes_crypto c;
		if (rg_sdes_parse(a->value, strlen(a->value), &c) < 0)
			continue;   /* a suite we do not know: the next line may be one we do */
		if (!suite_allowed(r, c.suite)) {
			rg_sdes_crypto_wipe(&c);
			continue;
		}
		/* a re-offer with the same key keeps the session (and its replay state) */
		if (sd->have_remote && sd->srtp && sd->remote.suite == c.suite &&
		    memcmp(&sd->remote.key, &c.key, sizeof(c.key)) == 0) {
			rg_sdes_crypto_wipe(&c);
			return NULL;
		}
		rg_sdes_crypto_wipe(&sd->remote);
		sd->remote = c;
		sd->have_remote = true;
		if (!sd->have_local || sd->local.suite != c.suite || sd->local.tag != c.tag) {
			rg_sdes_crypto_wipe(&sd->local);
			if (rg_sdes_generate(&sd->local, c.tag, c.suite) < 0)
				return "SDES: cannot generate a key";
			sd->have_local = true;
		}
		return make_session(m);
	}
	return "SDES: no a=crypto line with a supported suite";
}

const char *rg_sdes_take_answer(rg_media *m, const sdp_media *sm)
{
	rg_sdes *sd = m->sdes;
	const char *v = sdp_attr_value(sm->attrs, "crypto");
	if (!sd || !v)
		return "SDES: the answer has no a=crypto";
	rg_sdes_crypto c;
	if (rg_sdes_parse(v, strlen(v), &c) < 0)
		return "SDES: the answer's a=crypto does not parse";
	for (unsigned i = 0; i < sd->n_offered; i++) {
		if (sd->offered[i].tag != c.tag)
			continue;
		if (sd->offered[i].suite != c.suite) {
			rg_sdes_crypto_wipe(&c);
			return "SDES: the answer's a=crypto tag and suite do not match our offer";
		}
		rg_sdes_crypto_wipe(&sd->local);
		sd->local = sd->offered[i];
		sd->have_local = true;
		rg_sdes_crypto_wipe(&sd->remote);
		sd->remote = c;
		sd->have_remote = true;
		return make_session(m);
	}
	rg_sdes_crypto_wipe(&c);
	return "SDES: the answer's a=crypto tag was not offered";
}

void rg_sdes_write_sdp(rg_media *m, sdp_media *sm, bool is_answer, const ng_req *r)
{
	rg_sdes *sd = m->sdes;
	char v[256];
	sdp_attr_remove(sm->attrs, "crypto");
	sdp_attr_remove(sm->attrs, "fingerprint");
	sdp_attr_remove(sm->attrs, "setup");
	if (!strstr(sm->proto, "SAVP") || strstr(sm->proto, "TLS")) {
		bool avpf = strstr(sm->proto, "AVPF") != NULL;
		g_free(sm->proto);
		sm->proto = g_strdup(avpf ? "RTP/SAVPF" : "RTP/SAVP");
	}
	if (is_answer) {
		if (sd->have_local && rg_sdes_format(&sd->local, v, sizeof(v)) == 0)
			sdp_attr_add(sm->attrs, "crypto", v);
		return;
	}
	if (sd->n_offered == 0) {
		/* strongest first, as rtpengine orders them */
		static const enum rg_srtp_suite order[] = {
			RG_SRTP_AEAD_AES_256_GCM, RG_SRTP_AEAD_AES_128_GCM, RG_SRTP_AES_256_CM_HMAC_SHA1_80,
			RG_SRTP_AES_256_CM_HMAC_SHA1_32, RG_SRTP_AES_CM_128_HMAC_SHA1_80,
			RG_SRTP_AES_CM_128_HMAC_SHA1_32,
		};
		for (size_t i = 0; i < G_N_ELEMENTS(order); i++) {
			if (!suite_allowed(r, order[i]))
				continue;
			if (rg_sdes_generate(&sd->offered[sd->n_offered], sd->n_offered + 1, order[i]) == 0)
				sd->n_offered++;
		}
	}
	for (unsigned i = 0; i < sd->n_offered; i++)
		if (rg_sdes_format(&sd->offered[i], v, sizeof(v)) == 0)
			sdp_attr_add(sm->attrs, "crypto", v);
}
