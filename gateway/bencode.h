/* Bencode: the payload format of rtpengine's NG control protocol (decoder + encoder).
 *
 * Decoder ownership: a be_doc is owned by the caller (usually on the stack) and freed with
 * be_doc_free(). Its nodes live in one g_malloc'd array owned by the doc; every rg_str in a node
 * points into the decoded input buffer, which is owned by the caller and must outlive the doc.
 * On failure be_decode() leaves *doc untouched and allocates nothing.
 *
 * Encoder ownership: a be_buf is owned by the caller; its GString is freed by be_buf_free() or
 * handed over by be_buf_steal() (the result is then owned by the caller and freed with g_free()).
 *
 * Hostile input: decoding is iterative, bounded to BE_MAX_DEPTH nested lists/dicts and
 * BE_MAX_NODES nodes, and never reads outside buf[0..len). Not thread-affine except that the
 * error text returned through *err lives in a thread-local buffer, valid until the next
 * be_decode() call on the same thread. */
#ifndef RG_BENCODE_H
#define RG_BENCODE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "str.h"

typedef enum { BE_STR = 1, BE_INT, BE_LIST, BE_DICT } be_type;

typedef struct be_node be_node;
struct be_node {
	be_type type;
	rg_str key;      /* when this node is a value inside a dict: its key; else unset */
	rg_str str;      /* BE_STR: the bytes, pointing into the decoded buffer */
	int64_t num;     /* BE_INT */
	be_node *child;  /* BE_LIST / BE_DICT: first item (dict: values, each with .key) */
	be_node *next;   /* next sibling in the parent list/dict */
	unsigned count;  /* BE_LIST / BE_DICT: number of items */
};

/* A decoded document: an arena of nodes. Owned by the caller (usually on the stack), freed with
 * be_doc_free(); the nodes point into the input buffer, which must outlive the doc. */
typedef struct be_doc {
	be_node *nodes;
	unsigned n, cap;
	be_node *root;
} be_doc;

#define BE_MAX_DEPTH 32    /* max nested lists/dicts; the root container is depth 1 */
#define BE_MAX_NODES 8192  /* max nodes (strings, integers, lists, dicts; dict keys not counted) */

/* Decode exactly one value that fills buf[0..len) completely (trailing bytes are an error).
 * Returns 0, or -EINVAL (syntax), -E2BIG (too many nodes), -ELOOP (too deep); on error *err (if
 * non-NULL) points to a thread-local human-readable text such as
 * "bencode: expected ':' after string length at offset 12". */
int be_decode(const char *buf, size_t len, be_doc *doc, const char **err);
/* Frees the node array and zeroes the doc; NULL-safe and idempotent. */
void be_doc_free(be_doc *doc);

/* Dict lookup, key compared with rg_str_flag_eq (' ' '-' '_' alike); when a key repeats, the LAST
 * one wins. NULL if dict is NULL/not a dict/absent. */
const be_node *be_dict_get(const be_node *dict, const char *key);
/* String at key (BE_STR only). */
bool be_dict_str(const be_node *dict, const char *key, rg_str *out);
/* Number at key: BE_INT, or a BE_STR holding an optional '-' and decimal digits only (Kamailio
 * sends numbers as strings). False on absence, other types, junk or int64 overflow. */
bool be_dict_int(const be_node *dict, const char *key, int64_t *out);
/* Same number rules for a single node (NULL-safe). */
bool be_node_int(const be_node *n, int64_t *out);

/* Encoder: a growable buffer (GString). Owned by the caller; be_buf_free() or be_buf_steal().
 * depth counts the dicts/lists opened and not yet closed. */
typedef struct be_buf {
	GString *s;
	int depth;
} be_buf;

void be_buf_init(be_buf *b);
void be_buf_free(be_buf *b);
char *be_buf_steal(be_buf *b, size_t *len);   /* g_free() the result; NUL-terminated */
void be_dict_open(be_buf *b);
void be_list_open(be_buf *b);
void be_close(be_buf *b);                      /* closes the innermost dict/list ('e') */
void be_str(be_buf *b, rg_str s);              /* <len>:<bytes> */
void be_cstr(be_buf *b, const char *s);        /* NULL encodes as "0:" */
void be_int(be_buf *b, int64_t v);             /* i<v>e */
void be_key(be_buf *b, const char *key);       /* a dict key (same as be_cstr) */
void be_kv_str(be_buf *b, const char *key, rg_str v);
void be_kv_cstr(be_buf *b, const char *key, const char *v);
void be_kv_int(be_buf *b, const char *key, int64_t v);
/* Re-encode a decoded node (used by tests and to echo values). A node's own .key is not written
 * (the caller writes it with be_key() when needed); keys of its dict children are. For a decoded
 * document, be_node_encode(b, doc.root) reproduces the input byte for byte. */
void be_node_encode(be_buf *b, const be_node *n);

#endif
