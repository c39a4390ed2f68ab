/* libFuzzer target for gateway/bencode.c: decode; on success re-encode (which must reproduce the
 * input byte for byte, since the decoder accepts only canonical integers/lengths and keeps key
 * order and duplicates), decode that again and compare; also exercise the lookup helpers. */
#include "bencode.h"

#include <stdlib.h>
#include <string.h>

static char *encode(const be_node *root, size_t *len)
{
	be_buf b;
	be_buf_init(&b);
	be_node_encode(&b, root);
	if (b.depth != 0)
		abort();
	return be_buf_steal(&b, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	be_doc doc, doc2;
	const char *err = NULL;
	int rc = be_decode((const char *)data, size, &doc, &err);

	if (rc != 0) {
		if (rc != -EINVAL && rc != -E2BIG && rc != -ELOOP)
			abort();
		if (!err || strncmp(err, "bencode: ", 9) != 0)
			abort();
		return 0;
	}
	if (!doc.root || doc.n == 0 || doc.n > BE_MAX_NODES || doc.n > size)
		abort();

	/* lookups and number conversion on every node */
	int64_t num;
	rg_str s;
	for (unsigned i = 0; i < doc.n; i++) {
		const be_node *n = &doc.nodes[i];
		(void)be_node_int(n, &num);
		if (n->type == BE_DICT) {
			unsigned cnt = 0;
			for (const be_node *c = n->child; c; c = c->next, cnt++) {
				/* bounded, to keep huge dicts from going quadratic */
				if (cnt >= 64 || memchr(c->key.s, '\0', c->key.len))
					continue;
				char *k = rg_str_dup(c->key);
				/* the last matching key wins: never an earlier item than c */
				const be_node *f = be_dict_get(n, k);
				if (!f || f < c)
					abort();
				g_free(k);
			}
			if (cnt != n->count)
				abort();
			(void)be_dict_str(n, "command", &s);
			(void)be_dict_int(n, "ttl", &num);
		} else if (n->type == BE_LIST) {
			unsigned cnt = 0;
			for (const be_node *c = n->child; c; c = c->next)
				cnt++;
			if (cnt != n->count)
				abort();
		}
	}

	size_t len1, len2;
	char *enc1 = encode(doc.root, &len1);
	if (len1 != size || memcmp(enc1, data, size) != 0)
		abort();
	if (be_decode(enc1, len1, &doc2, &err) != 0)
		abort();
	if (doc2.n != doc.n)
		abort();
	char *enc2 = encode(doc2.root, &len2);
	if (len2 != len1 || memcmp(enc1, enc2, len1) != 0)
		abort();

	g_free(enc2);
	g_free(enc1);
	be_doc_free(&doc2);
	be_doc_free(&doc);
	return 0;
}
