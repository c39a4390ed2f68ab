#!/usr/bin/env python3
"""Tiny NG-protocol client (rtpengine control protocol), stdlib only.

Wire format (see docs ng-protocol.md section 1): one UDP datagram
``<cookie> <bencoded dict>`` per request, the reply carries the same cookie.

Usage as a module::

    from ngclient import NGClient
    ng = NGClient("127.0.0.1", 2223)
    ng.ping()                      # -> True
    ng.list_calls()                # -> [b"callid1", ...]
    ng.query("callid")             # -> reply dict (keys/values are bytes)
    ng.command("statistics")       # -> reply dict

Usage from the shell::

    python3 ngclient.py 127.0.0.1:2223 ping
    python3 ngclient.py 127.0.0.1:2223 list
    python3 ngclient.py 127.0.0.1:2223 query CALL-ID
    python3 ngclient.py 127.0.0.1:2223 delete CALL-ID
    python3 ngclient.py 127.0.0.1:2223 statistics

Decoded strings are ``bytes`` (bencode is binary safe); use :func:`text` to get
``str`` recursively.
"""

import json
import os
import socket
import sys
import time

__all__ = ["bencode", "bdecode", "text", "NGClient", "NGError", "NGTimeout"]


# --------------------------------------------------------------------------
# bencode
# --------------------------------------------------------------------------

def bencode(obj):
    """Encode str/bytes/int/list/tuple/dict to bencode bytes.

    Dictionary keys are emitted in insertion order (like Kamailio does), not
    sorted: the NG protocol does not require sorting.
    """
    out = bytearray()
    _enc(obj, out)
    return bytes(out)


def _enc(obj, out):
    if isinstance(obj, bool):
        obj = int(obj)
    if isinstance(obj, int):
        out += b"i%de" % obj
    elif isinstance(obj, str):
        b = obj.encode("utf-8")
        out += b"%d:" % len(b) + b
    elif isinstance(obj, (bytes, bytearray)):
        out += b"%d:" % len(obj) + bytes(obj)
    elif isinstance(obj, (list, tuple)):
        out += b"l"
        for item in obj:
            _enc(item, out)
        out += b"e"
    elif isinstance(obj, dict):
        out += b"d"
        for k, v in obj.items():
            if not isinstance(k, (str, bytes, bytearray)):
                raise TypeError("bencode dict keys must be strings, got %r" % (k,))
            _enc(k, out)
            _enc(v, out)
        out += b"e"
    else:
        raise TypeError("cannot bencode %r" % type(obj))


class BDecodeError(ValueError):
    pass


def bdecode(data):
    """Decode one bencoded value from bytes; trailing garbage is an error."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    val, pos = _dec(data, 0)
    if pos != len(data):
        raise BDecodeError("trailing data at offset %d" % pos)
    return val


def _dec(data, pos):
    if pos >= len(data):
        raise BDecodeError("unexpected end of data")
    c = data[pos:pos + 1]
    if c == b"i":
        end = data.index(b"e", pos)
        return int(data[pos + 1:end]), end + 1
    if c == b"l":
        pos += 1
        items = []
        while data[pos:pos + 1] != b"e":
            if pos >= len(data):
                raise BDecodeError("unterminated list")
            v, pos = _dec(data, pos)
            items.append(v)
        return items, pos + 1
    if c == b"d":
        pos += 1
        d = {}
        while data[pos:pos + 1] != b"e":
            if pos >= len(data):
                raise BDecodeError("unterminated dict")
            k, pos = _dec(data, pos)
            if not isinstance(k, bytes):
                raise BDecodeError("dict key is not a string")
            v, pos = _dec(data, pos)
            d[k] = v  # duplicate keys: last one wins (like rtpengine)
        return d, pos + 1
    if c.isdigit():
        colon = data.index(b":", pos)
        n = int(data[pos:colon])
        start = colon + 1
        if start + n > len(data):
            raise BDecodeError("string overruns data")
        return data[start:start + n], start + n
    raise BDecodeError("bad bencode byte %r at offset %d" % (c, pos))


def text(obj):
    """Recursively turn bytes into str (utf-8, replacement on errors)."""
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).decode("utf-8", "replace")
    if isinstance(obj, list):
        return [text(x) for x in obj]
    if isinstance(obj, dict):
        return {text(k): text(v) for k, v in obj.items()}
    return obj


# --------------------------------------------------------------------------
# client
# --------------------------------------------------------------------------

class NGError(Exception):
    """The daemon answered result=error (error-reason in .reason)."""

    def __init__(self, reply):
        self.reply = reply
        self.reason = text(reply.get(b"error-reason", b"")) if isinstance(reply, dict) else ""
        Exception.__init__(self, "NG error: %s" % self.reason)


class NGTimeout(Exception):
    """No (matching) reply within the timeout."""


class NGClient:
    def __init__(self, host="127.0.0.1", port=2223, timeout=2.0, retries=1):
        self.addr = (host, int(port))
        self.timeout = timeout
        self.retries = retries
        self._seq = 0
        self._prefix = "t%d_%d" % (os.getpid(), int(time.time()) % 100000)

    def _cookie(self):
        self._seq += 1
        return "%s_%d" % (self._prefix, self._seq)

    def request(self, msg, timeout=None):
        """Send a dict, return the decoded reply dict (any result).

        The socket is connect()ed, so only replies from the daemon's exact
        address are accepted (that is also what Kamailio requires). The
        same bytes are resent ``retries`` times on timeout.
        """
        timeout = self.timeout if timeout is None else timeout
        cookie = self._cookie().encode()
        payload = cookie + b" " + bencode(msg)
        fam = socket.AF_INET6 if ":" in self.addr[0] else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            s.connect(self.addr)
            for _attempt in range(self.retries + 1):
                try:
                    s.send(payload)
                except ConnectionRefusedError:
                    pass
                deadline = time.monotonic() + timeout
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    s.settimeout(left)
                    try:
                        data = s.recv(65536)
                    except socket.timeout:
                        break
                    except ConnectionRefusedError:
                        # ICMP port unreachable: nobody listens (yet)
                        time.sleep(min(0.05, max(left, 0)))
                        continue
                    sp = data.find(b" ")
                    if sp < 0 or data[:sp] != cookie:
                        continue  # stale or foreign reply
                    return bdecode(data[sp + 1:])
            raise NGTimeout("no reply from %s:%d to %r" % (self.addr[0], self.addr[1],
                                                         msg.get("command")))
        finally:
            s.close()

    def command(self, command, **kw):
        """Send ``command`` with extra keys (underscores in names become
        hyphens: call_id= -> call-id). Raises NGError on result=error."""
        msg = {}
        for k, v in kw.items():
            msg[k.replace("_", "-")] = v
        msg["command"] = command
        reply = self.request(msg)
        if reply.get(b"result") == b"error":
            raise NGError(reply)
        return reply

    # convenience wrappers -------------------------------------------------
    def ping(self, timeout=None):
        reply = self.request({"command": "ping"}, timeout=timeout)
        return reply.get(b"result") == b"pong"

    def wait_ready(self, total=10.0, step=0.2):
        """Ping until pong or ``total`` seconds have passed; return bool."""
        end = time.monotonic() + total
        while time.monotonic() < end:
            try:
                if self.ping(timeout=step):
                    return True
            except (NGTimeout, OSError):
                pass
            time.sleep(step / 2)
        return False

    def list_calls(self, limit=1000):
        reply = self.command("list", limit=limit)
        return reply.get(b"calls", [])

    def query(self, call_id, from_tag=None, to_tag=None):
        kw = {"call_id": call_id}
        if from_tag:
            kw["from_tag"] = from_tag
        if to_tag:
            kw["to_tag"] = to_tag
        return self.command("query", **kw)

    def delete(self, call_id, from_tag=None):
        kw = {"call_id": call_id}
        if from_tag:
            kw["from_tag"] = from_tag
        return self.command("delete", **kw)

    def statistics(self):
        return self.command("statistics")


def _main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: %s HOST:PORT ping|list|statistics|query CALLID|delete CALLID"
                         " | raw JSON-DICT\n" % argv[0])
        return 2
    host, _, port = argv[1].rpartition(":")
    ng = NGClient(host.strip("[]") or "127.0.0.1", int(port))
    cmd = argv[2]
    try:
        if cmd == "raw":
            reply = ng.request(json.loads(argv[3]))
        elif cmd in ("query", "delete"):
            reply = ng.command(cmd, call_id=argv[3])
        elif cmd == "list":
            reply = ng.command("list", limit=1000)
        else:
            reply = ng.request({"command": cmd})
    except NGError as e:
        reply = e.reply
    except NGTimeout as e:
        sys.stderr.write("%s\n" % e)
        return 1
    print(json.dumps(text(reply), indent=2))
    return 0 if reply.get(b"result") in (b"ok", b"pong") else 1


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
