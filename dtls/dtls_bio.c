/* dtls_bio.c: a datagram BIO between OpenSSL and the caller, no socket.
 *
 * Read side: one datagram at a time (d->rx), set by rg_dtls_input() for the length of one
 * SSL_do_handshake()/SSL_read() call, returned whole by one BIO_read (datagram semantics, so a
 * malformed datagram cannot swallow the next one as a byte-stream memory BIO would).
 * Write side: records are packed into d->tx up to RG_DTLS_MTU (RFC 6347 section 4.1.1 allows
 * several records per datagram; OpenSSL sizes its fragments with BIO_wpending) and handed to
 * d->send on BIO_flush, when the next record would not fit, or by rg_dtls_bio_flush() after
 * every OpenSSL call.
 */
#include "dtls_priv.h"

#include <limits.h>
#include <pthread.h>
#include <string.h>

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

void rg_dtls_bio_flush(struct rg_dtls *d)
{
	if (!d->tx_len)
		return;
	size_t n = d->tx_len;
	d->tx_len = 0; /* before the callback: it may re-enter nothing, but be safe */
	d->stats.tx_datagrams++;
	d->send(d->arg, d->tx, n);
}

static int bio_write(BIO *b, const char *buf, int len)
{
	struct rg_dtls *d = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	if (d->tx_len + (size_t)len > sizeof(d->tx))
		rg_dtls_bio_flush(d);
	if ((size_t)len > sizeof(d->tx)) {
		/* a record larger than our MTU (never for handshake messages, which OpenSSL
		 * fragments to d1->mtu): send it alone */
		d->stats.tx_datagrams++;
		d->send(d->arg, (const uint8_t *)buf, (size_t)len);
		return len;
	}
	memcpy(d->tx + d->tx_len, buf, (size_t)len);
	d->tx_len += (size_t)len;
	return len;
}

static int bio_read(BIO *b, char *buf, int len)
{
	struct rg_dtls *d = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (!d->rx) {
		BIO_set_retry_read(b);
		return -1;
	}
	/* datagram semantics: what does not fit is lost (OpenSSL reads with a buffer larger than
	 * any record, so this only cuts oversized garbage) */
	size_t n = d->rx_len < (size_t)len ? d->rx_len : (size_t)len;
	memcpy(buf, d->rx, n);
	d->rx = NULL;
	d->rx_len = 0;
	return (int)n;
}

static int bio_puts(BIO *b, const char *str)
{
	size_t n = strlen(str);
	return bio_write(b, str, n > INT_MAX ? INT_MAX : (int)n);
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct rg_dtls *d = BIO_get_data(b);
	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		rg_dtls_bio_flush(d);
		return 1;
	case BIO_CTRL_WPENDING:
		return (long)d->tx_len;
	case BIO_CTRL_PENDING:
		return d->rx ? (long)d->rx_len : 0;
	case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
		/* SSL_set_mtu() is given the payload size directly */
		return 0;
	case BIO_CTRL_DGRAM_QUERY_MTU:
	case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
		return RG_DTLS_MTU;
	default:
		/* SET_NEXT_TIMEOUT, MTU_EXCEEDED, GET_PEER, ...: nothing to do without a socket */
		return 0;
	}
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static int bio_destroy(BIO *b)
{
	/* the data pointer is the rg_dtls, which owns us, not the reverse */
	BIO_set_data(b, NULL);
	return 1;
}

static void bio_method_init(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "rgdtls datagram");
	if (!m)
		return;
	if (!BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
	    !BIO_meth_set_puts(m, bio_puts) || !BIO_meth_set_ctrl(m, bio_ctrl) ||
	    !BIO_meth_set_create(m, bio_create) || !BIO_meth_set_destroy(m, bio_destroy)) {
		BIO_meth_free(m);
		return;
	}
	bio_method = m; /* process lifetime */
}

BIO *rg_dtls_bio_new(struct rg_dtls *d)
{
	pthread_once(&bio_once, bio_method_init);
	if (!bio_method)
		return NULL;
	BIO *b = BIO_new(bio_method);
	if (b)
		BIO_set_data(b, d);
	return b;
}
