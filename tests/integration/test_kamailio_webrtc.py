#!/usr/bin/python3
"""WebRTC <-> plain SIP through a real Kamailio 5.6 (rtpengine module), media on rtpgate.

Everything on loopback (127.0.0.1, distinct ports):

    plain SIP phone  --SIP-->  kamailio (conf/kamailio-webrtc.cfg)  --SIP-->  WebRTC phone
    (Python UAC/UAS,              | NG                                       (Python UAC/UAS,
     PCMU RTP, 1000 Hz)           v                                         aiortc, 440 Hz)
                  <--RTP-->  rtpgate (or rtpengine)  <--ICE/DTLS-SRTP-->

The SIP user agents are minimal ones written here (UDP, no auth, one call each); the
WebRTC one's media is aiortc (Debian python3-aiortc), the plain one's is a PCMU tone
over a UDP socket. Kamailio chooses the rtpengine flags per direction:
  toward the browser: "ICE=force UDP/TLS/RTP/SAVPF DTLS=passive rtcp-mux-offer
                       rtcp-mux-require SDES-off replace-origin replace-session-connection generate-mid"
  toward SIP:         "ICE=remove RTP/AVP rtcp-mux-demux DTLS=off SDES-off replace-origin
                       replace-session-connection"
and calls rtpengine_delete() on BYE.

Cases (RG_CASES, comma list, default both):
  sip-to-webrtc   plain UAC calls the WebRTC UAS (offer toward the browser, answer toward SIP)
  webrtc-to-sip   WebRTC UAC calls a plain UAS (offer toward SIP, answer toward the browser)

Checks per case: the SDP the WebRTC side received has ICE/DTLS (UDP/TLS/RTP/SAVPF, candidate,
ice-ufrag/pwd, fingerprint, setup:passive, rtcp-mux) on an rtpgate port; the SDP the plain side
received is RTP/AVP without ICE/DTLS/rtcp-mux, c=/o= = rtpgate, port in rtpgate's range; ICE+DTLS
connect; the plain side hears 440 Hz (PCMU), the browser hears 1000 Hz; NG `list` is empty after
the BYE; Kamailio's $rtpstat saw packets; no ERROR in Kamailio's log; both daemons still run.

Environment:
  RG_BIN        rtpgate binary (default build/gateway/rtpgate)
  RG_DAEMON     rtpgate (default) | rtpengine (reference run of the harness; RG_BIN defaults
                to /usr/bin/rtpengine then)
  RG_CASES      see above
  RG_MEDIA_SECONDS  seconds of tone each way (default 4)
  RG_KEEP_TMP   1: keep the work directory (logs) even on success
  RG_ALLOW_SKIP 1: exit 77 instead of failing when kamailio or aiortc is missing
  RG_KAMAILIO   kamailio binary (default: from PATH, /usr/sbin/kamailio)
  RG_AIORTC_DEBUG 1: aiortc/aioice debug logging (ICE checks, DTLS state) on stdout

Notes: aiortc's host candidates are restricted to 127.0.0.1 (aioice leaves loopback out by
default), and aiortc 1.4 is handed "a=rtcp:PORT IN IP4 ADDR" for a bare "a=rtcp:PORT" it cannot
parse (the checks use the SDP as received). With RG_DAEMON=rtpengine (10.5) the webrtc-to-sip case
fails the DTLS handshake: rtpengine starts DTLS as client right after the browser's offer (ICE
already works then) and only switches to passive on the answer; aiortc gets its ClientHello.

Run:  RG_BIN=build/gateway/rtpgate /usr/bin/python3 tests/integration/test_kamailio_webrtc.py
Exit 0 when every check passed; the last line is ``N passed, N failed``.
"""

import asyncio
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

from ngclient import NGClient, NGError, NGTimeout  # noqa: E402

KAMAILIO_CFG = os.path.join(REPO, "conf", "kamailio-webrtc.cfg")
KAMAILIO = os.environ.get("RG_KAMAILIO") or shutil.which("kamailio") or "/usr/sbin/kamailio"
IP = "127.0.0.1"
MEDIA_SECONDS = float(os.environ.get("RG_MEDIA_SECONDS", "4"))
TONE_PLAIN = 1000.0   # sent by the plain SIP side
TONE_WEBRTC = 440.0   # sent by the browser (aiortc)
TOL_PLAIN_RX = 15.0   # Hz, what the plain side hears (440)
TOL_WEBRTC_RX = 20.0  # Hz, what the browser hears (1000)

# ---------------------------------------------------------------------------
# reporting
# ---------------------------------------------------------------------------

RESULTS = []


def check(case, name, ok, detail=""):
    RESULTS.append(bool(ok))
    print("%s [%s] %s%s" % ("PASS" if ok else "FAIL", case, name, (": " + detail) if detail else ""),
          flush=True)
    return ok


def info(msg):
    print("     " + msg, flush=True)


# ---------------------------------------------------------------------------
# processes (own session each, stopped by process group)
# ---------------------------------------------------------------------------

class Proc:
    def __init__(self, name, cmd, logpath):
        self.name = name
        self.logpath = logpath
        self._log = open(logpath, "wb")
        self.p = subprocess.Popen([str(c) for c in cmd], stdin=subprocess.DEVNULL, stdout=self._log,
                                  stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self):
        return self.p.poll() is None

    def stop(self, grace=5.0):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.p.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.p.wait(grace)
                break
            except subprocess.TimeoutExpired:
                continue
        # the leader may be gone while children of its group live on
        try:
            os.killpg(self.p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if not self._log.closed:
            self._log.close()

    def output(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


class Interrupted(Exception):
    pass


def _on_signal(signum, frame):
    raise Interrupted("signal %d" % signum)


# ---------------------------------------------------------------------------
# ports: control ports below the ephemeral range, probed by bind()
# ---------------------------------------------------------------------------

_TAKEN = set()


def _udp_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((IP, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port(low=20000, high=24999, count=1, even=False):
    for _ in range(1000):
        p = random.randint(low, high - count)
        if even:
            p &= ~1
        rng = range(p, p + count)
        if any(x in _TAKEN for x in rng):
            continue
        if all(_udp_free(x) for x in rng):
            _TAKEN.update(rng)
            return p
    raise RuntimeError("no free UDP port in %d-%d" % (low, high))


# ---------------------------------------------------------------------------
# SDP helpers
# ---------------------------------------------------------------------------

def sdp_info(sdp):
    d = {"o_addr": None, "c_addr": None, "port": None, "proto": None, "pts": [], "attrs": []}
    sess_c = media_c = None
    in_media = False
    for ln in sdp.replace("\r\n", "\n").split("\n"):
        ln = ln.strip()
        if ln.startswith("o="):
            parts = ln[2:].split()
            if len(parts) >= 6:
                d["o_addr"] = parts[5]
        elif ln.startswith("c="):
            parts = ln[2:].split()
            addr = parts[2].split("/")[0] if len(parts) >= 3 else None
            if in_media:
                media_c = addr
            else:
                sess_c = addr
        elif ln.startswith("m="):
            if d["port"] is not None:
                break  # first m= only
            in_media = True
            parts = ln[2:].split()
            if len(parts) >= 3:
                d["port"], d["proto"], d["pts"] = int(parts[1]), parts[2], parts[3:]
        elif ln.startswith("a=") and in_media:
            d["attrs"].append(ln[2:])
    d["c_addr"] = media_c or sess_c
    return d


def has_attr(d, prefix):
    return any(a == prefix or a.startswith(prefix) for a in d["attrs"])


def one_line(sdp):
    return sdp.strip().replace("\r\n", " | ")


# ---------------------------------------------------------------------------
# minimal SIP over UDP
# ---------------------------------------------------------------------------

COMPACT = {"i": "call-id", "v": "via", "f": "from", "t": "to", "m": "contact",
           "l": "content-length", "c": "content-type", "r": "refer-to"}


class SipMsg:
    def __init__(self, first, headers, body):
        self.first = first
        self.headers = headers  # list of (lower-case name, value)
        self.body = body

    @classmethod
    def parse(cls, data):
        try:
            txt = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if "\r\n\r\n" not in txt:
            return None
        head, body = txt.split("\r\n\r\n", 1)
        lines = head.split("\r\n")
        if not (lines[0].startswith("SIP/2.0 ") or lines[0].endswith(" SIP/2.0")):
            return None
        hdrs = []
        for ln in lines[1:]:
            if ln[:1] in (" ", "\t") and hdrs:      # folded line
                hdrs[-1] = (hdrs[-1][0], hdrs[-1][1] + " " + ln.strip())
                continue
            if ":" not in ln:
                continue
            k, v = ln.split(":", 1)
            k = k.strip().lower()
            hdrs.append((COMPACT.get(k, k), v.strip()))
        return cls(lines[0], hdrs, body)

    @property
    def is_request(self):
        return not self.first.startswith("SIP/2.0 ")

    @property
    def method(self):
        return self.first.split()[0] if self.is_request else self.cseq[1]

    @property
    def status(self):
        return 0 if self.is_request else int(self.first.split()[1])

    def all(self, name):
        return [v for k, v in self.headers if k == name]

    def get(self, name, default=""):
        v = self.all(name)
        return v[0] if v else default

    @property
    def cseq(self):
        parts = self.get("cseq").split()
        return (int(parts[0]), parts[1].upper()) if len(parts) == 2 else (0, "")

    @property
    def call_id(self):
        return self.get("call-id")


def split_header_list(values):
    """Comma-separated header values (Record-Route, Route) -> list of entries."""
    out = []
    for v in values:
        cur, depth = "", 0
        for ch in v:
            if ch == "<":
                depth += 1
            elif ch == ">":
                depth -= 1
            if ch == "," and depth == 0:
                out.append(cur.strip())
                cur = ""
            else:
                cur += ch
        if cur.strip():
            out.append(cur.strip())
    return out


def uri_of(nameaddr):
    m = re.search(r"<([^>]*)>", nameaddr)
    return m.group(1) if m else nameaddr.split(";")[0].strip()


def tag_of(value):
    m = re.search(r";\s*tag=([^;>\s]+)", value)
    return m.group(1) if m else None


def build(first, headers, body=""):
    b = body.encode() if body else b""
    lines = [first] + ["%s: %s" % (k, v) for k, v in headers]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append("Content-Length: %d" % len(b))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + b


def rand_token(n=10):
    return "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


class SipAgent(asyncio.DatagramProtocol):
    """UDP socket + a log of every SIP message in and out."""

    def __init__(self, name, port):
        self.name = name
        self.port = port
        self.transport = None
        self.trace = []

    def connection_made(self, transport):
        self.transport = transport

    def send(self, data, addr):
        self.trace.append(("out", addr, data))
        self.transport.sendto(data, addr)

    def datagram_received(self, data, addr):
        self.trace.append(("in", addr, data))
        msg = SipMsg.parse(data)
        if msg is not None:
            self.on_message(msg, addr)

    def on_message(self, msg, addr):
        raise NotImplementedError

    def reply(self, req, addr, code, reason, extra=(), body="", to_tag=None):
        hdrs = [("Via", v) for v in req.all("via")]
        to = req.get("to")
        if to_tag and tag_of(to) is None:
            to += ";tag=" + to_tag
        hdrs += [("From", req.get("from")), ("To", to), ("Call-ID", req.call_id),
                 ("CSeq", req.get("cseq"))]
        hdrs += list(extra)
        data = build("SIP/2.0 %d %s" % (code, reason), hdrs, body)
        self.send(data, addr)
        return data

    def dump(self):
        out = []
        for d, addr, data in self.trace:
            first = data.split(b"\r\n", 1)[0].decode("utf-8", "replace")
            out.append("%s %s %s:%d %s" % (self.name, "<-" if d == "in" else "->", addr[0], addr[1], first))
        return out


class UAS(SipAgent):
    """Answers one INVITE (100, then 200 with the media's answer, retransmitted until ACK),
    takes the ACK, answers BYE with 200."""

    def __init__(self, name, port, media):
        super().__init__(name, port)
        self.media = media
        self.to_tag = rand_token()
        self.invite = None
        self.offer_sdp = None
        self.answer_sdp = None
        self.final = None
        self.acked = asyncio.Event()
        self.bye = asyncio.Event()
        self.answered = asyncio.Event()
        self.error = None

    def on_message(self, msg, addr):
        if not msg.is_request:
            return
        m = msg.method
        if m == "INVITE":
            if self.invite is not None and msg.call_id == self.invite.call_id:
                if self.final:            # retransmission: repeat the last answer
                    self.send(self.final, addr)
                return
            self.invite = msg
            self.offer_sdp = msg.body
            self.reply(msg, addr, 100, "Trying")
            asyncio.ensure_future(self._answer(msg, addr))
        elif m == "ACK":
            self.acked.set()
        elif m == "BYE":
            self.reply(msg, addr, 200, "OK")
            self.bye.set()
        elif m == "CANCEL":
            self.reply(msg, addr, 200, "OK")
        else:
            self.reply(msg, addr, 405, "Method Not Allowed")

    async def _answer(self, inv, addr):
        try:
            self.answer_sdp = await self.media.answer(inv.body)
        except Exception as e:  # noqa: BLE001
            self.error = repr(e)
            self.final = self.reply(inv, addr, 488, "Not Acceptable Here", to_tag=self.to_tag)
            self.answered.set()
            return
        extra = [("Record-Route", v) for v in inv.all("record-route")]
        extra.append(("Contact", "<sip:%s@%s:%d>" % (self.name, IP, self.port)))
        self.final = self.reply(inv, addr, 200, "OK", extra=extra, body=self.answer_sdp,
                                to_tag=self.to_tag)
        self.answered.set()
        t = 0.5
        while not self.acked.is_set() and t <= 4:
            try:
                await asyncio.wait_for(self.acked.wait(), t)
            except asyncio.TimeoutError:
                self.send(self.final, addr)
                t *= 2


class UAC(SipAgent):
    """Places one call through the proxy: INVITE (offer from the media), ACK, re-INVITEs
    (reinvite()), later BYE."""

    def __init__(self, name, port, proxy, target_uri, media):
        super().__init__(name, port)
        self.proxy = proxy
        self.target_uri = target_uri
        self.media = media
        self.call_id = "%s-%s@%s" % (name, rand_token(12), IP)
        self.from_tag = rand_token()
        self.responses = asyncio.Queue()
        self.ack = None
        self.acks = {}          # CSeq number of each INVITE answered 2xx -> its ACK
        self.cseq = 1
        self.route = []
        self.remote_target = None
        self.to_hdr = None
        self.answer_sdp = None
        self.offer_sdp = None

    def _from(self):
        return "<sip:%s@%s:%d>;tag=%s" % (self.name, IP, self.port, self.from_tag)

    def on_message(self, msg, addr):
        if msg.is_request:
            if msg.method == "BYE":
                self.reply(msg, addr, 200, "OK")
            elif msg.method != "ACK":
                self.reply(msg, addr, 405, "Method Not Allowed")
            return
        if msg.call_id != self.call_id:
            return
        if msg.cseq[1] == "INVITE" and msg.status >= 200 and msg.cseq[0] in self.acks:
            self.send(self.acks[msg.cseq[0]], self.proxy)     # 2xx retransmission: ACK again
            return
        self.responses.put_nowait(msg)

    async def _transaction(self, data, method, total=10.0):
        """Send, retransmit (UDP timer A/E, T1 = 0.5 s) until a response, return the final one."""
        self.send(data, self.proxy)
        t, got_any = 0.5, False
        end = time.monotonic() + total
        while time.monotonic() < end:
            try:
                r = await asyncio.wait_for(self.responses.get(), t if not got_any else end - time.monotonic())
            except asyncio.TimeoutError:
                if not got_any:
                    self.send(data, self.proxy)
                    t = min(t * 2, 4.0)
                continue
            if r.cseq[1] != method:
                continue
            got_any = True
            if r.status >= 200:
                return r
        return None

    async def invite(self):
        self.offer_sdp = await self.media.offer()
        branch = "z9hG4bK-" + rand_token(16)
        hdrs = [("Via", "SIP/2.0/UDP %s:%d;branch=%s;rport" % (IP, self.port, branch)),
                ("Max-Forwards", "70"),
                ("From", self._from()),
                ("To", "<%s>" % self.target_uri),
                ("Call-ID", self.call_id),
                ("CSeq", "1 INVITE"),
                ("Contact", "<sip:%s@%s:%d>" % (self.name, IP, self.port))]
        r = await self._transaction(build("INVITE %s SIP/2.0" % self.target_uri, hdrs, self.offer_sdp), "INVITE")
        if r is None or r.status != 200:
            return r
        self.to_hdr = r.get("to")
        self.route = list(reversed(split_header_list(r.all("record-route"))))
        self.remote_target = uri_of(r.get("contact"))
        self.answer_sdp = r.body
        self.ack = self.acks[1] = self._in_dialog("ACK", 1)
        self.send(self.ack, self.proxy)
        await self.media.set_answer(r.body)
        return r

    async def reinvite(self, sdp):
        """An in-dialog INVITE with `sdp`, ACKed when answered 2xx; the final response (or None)."""
        self.cseq += 1
        cseq = self.cseq
        r = await self._transaction(self._in_dialog("INVITE", cseq, sdp), "INVITE")
        if r is not None and 200 <= r.status < 300:
            self.acks[cseq] = self._in_dialog("ACK", cseq)
            self.send(self.acks[cseq], self.proxy)
            await self.media.set_answer(r.body)
        return r

    def _in_dialog(self, method, cseq, body=""):
        branch = "z9hG4bK-" + rand_token(16)
        hdrs = [("Via", "SIP/2.0/UDP %s:%d;branch=%s;rport" % (IP, self.port, branch)),
                ("Max-Forwards", "70")]
        hdrs += [("Route", r) for r in self.route]
        hdrs += [("From", self._from()), ("To", self.to_hdr), ("Call-ID", self.call_id),
                 ("CSeq", "%d %s" % (cseq, method))]
        if method == "INVITE":
            hdrs.append(("Contact", "<sip:%s@%s:%d>" % (self.name, IP, self.port)))
        return build("%s %s SIP/2.0" % (method, self.remote_target), hdrs, body)

    async def bye(self):
        self.cseq += 1
        return await self._transaction(self._in_dialog("BYE", self.cseq), "BYE")


# ---------------------------------------------------------------------------
# media: a plain PCMU phone and an aiortc "browser"
# ---------------------------------------------------------------------------

class PlainMedia:
    """PCMU/8000 over UDP: sends a 1000 Hz tone, decodes what arrives."""

    def __init__(self):
        # an even port pair below the ephemeral range; RTCP (demuxed by the gateway) on +1
        self.port = free_port(20000, 24999, count=2, even=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((IP, self.port))
        self.sock.setblocking(False)
        self.rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtcp.bind((IP, self.port + 1))
        self.rtcp.setblocking(False)
        self.dest = None
        self.pcm = bytearray()
        self.rx = 0
        self.rx_other_pt = 0
        self.rx_rtcp = 0
        self.tx = 0
        self.sources = set()

    def close(self):
        self.sock.close()
        self.rtcp.close()

    def sdp(self):
        return ("v=0\r\no=phone %d 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
                % (random.randint(1, 1 << 30), IP, IP, self.port))

    def _learn(self, sdp):
        d = sdp_info(sdp)
        if d["c_addr"] and d["port"]:
            self.dest = (d["c_addr"], d["port"])

    async def offer(self):
        return self.sdp()

    async def set_answer(self, sdp):
        self._learn(sdp)

    async def answer(self, offer):
        d = sdp_info(offer)
        if "0" not in d["pts"]:
            raise RuntimeError("offer without PCMU: %s" % one_line(offer))
        self._learn(offer)
        return self.sdp()

    def pcm_frame(self, i):
        """The i-th 20 ms of the tone: 160 samples, 16-bit native order."""
        import numpy as np
        t = (np.arange(160) + i * 160) / 8000.0
        return (8000 * np.sin(2 * np.pi * TONE_PLAIN * t)).astype(np.int16).tobytes()

    async def run(self, seconds=None):
        """Send pcm_frame() as PCMU every 20 ms (once the peer's address is known) and take what
        arrives, for `seconds` or until cancelled."""
        import audioop
        seq, ts, ssrc = random.randint(0, 65535), random.randint(0, 1 << 31), random.randint(1, 1 << 31)
        start = time.monotonic()
        i = 0
        while seconds is None or time.monotonic() - start < seconds:
            pkt = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + \
                audioop.lin2ulaw(self.pcm_frame(i), 2)
            if self.dest:
                self.sock.sendto(pkt, self.dest)
                self.tx += 1
            seq, ts, i = seq + 1, ts + 160, i + 1
            self._drain()
            await asyncio.sleep(max(0.0, start + i * 0.02 - time.monotonic()))
        self._drain()

    def on_rtp(self, data):
        """One RTP packet received (version 2, at least the fixed header)."""
        import audioop
        cc = data[0] & 0x0F
        if data[1] & 0x7F == 0:
            self.rx += 1
            self.pcm += audioop.ulaw2lin(data[12 + 4 * cc:], 2)
        else:
            self.rx_other_pt += 1

    def _drain(self):
        while True:
            try:
                data, src = self.sock.recvfrom(4096)
            except (BlockingIOError, InterruptedError):
                break
            if len(data) < 12 or data[0] >> 6 != 2:
                continue
            self.sources.add(src)
            self.on_rtp(data)
        while True:
            try:
                self.rtcp.recvfrom(2048)
                self.rx_rtcp += 1
            except (BlockingIOError, InterruptedError):
                break


def for_aiortc(sdp):
    """aiortc 1.4 cannot parse "a=rtcp:PORT" without the address part (RFC 3605 makes it
    optional; browsers accept it). Add the connection address; the SDP checks of this test
    are made on the SDP exactly as received."""
    d = sdp_info(sdp)
    return re.sub(r"(?m)^a=rtcp:(\d+)(?=\r?$)", lambda m: "a=rtcp:%s IN IP4 %s" % (m.group(1), d["c_addr"] or IP),
                  sdp)


class WebRTCMedia:
    """aiortc peer connection sending a 440 Hz tone, collecting what it receives."""

    def __init__(self):
        from aiortc import RTCConfiguration, RTCPeerConnection
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.frames = []
        self.track = None

        @self.pc.on("track")
        def _on_track(track):
            if track.kind == "audio" and self.track is None:
                self.track = track

    async def offer(self):
        self.pc.addTrack(ToneTrack(TONE_WEBRTC))
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def set_answer(self, sdp):
        from aiortc import RTCSessionDescription
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=for_aiortc(sdp), type="answer"))

    async def answer(self, offer):
        from aiortc import RTCSessionDescription
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=for_aiortc(offer), type="offer"))
        for t in self.pc.getTransceivers():
            t.direction = "sendrecv"
        self.pc.addTrack(ToneTrack(TONE_WEBRTC))   # takes the offer's audio transceiver
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    def receiver_track(self):
        if self.track is not None:
            return self.track
        for t in self.pc.getTransceivers():
            if t.receiver and t.receiver.track:
                return t.receiver.track
        return None

    async def wait_connected(self, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.pc.connectionState in ("connected", "failed", "closed"):
                break
            await asyncio.sleep(0.05)
        return self.pc.connectionState

    async def collect(self, seconds):
        track = self.receiver_track()
        if track is None:
            await asyncio.sleep(seconds)
            return
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                frame = await asyncio.wait_for(track.recv(), timeout=min(1.0, max(0.05, end - time.monotonic())))
            except asyncio.TimeoutError:
                continue
            except Exception:  # noqa: BLE001  (track ended)
                break
            arr = frame.to_ndarray().reshape(-1)
            if len(frame.layout.channels) == 2:
                arr = arr[::2]
            self.frames.append((frame.sample_rate, arr))

    async def close(self):
        await self.pc.close()


def _tone_track_class():
    import fractions
    import av
    import numpy as np
    from aiortc.mediastreams import MediaStreamTrack

    class _ToneTrack(MediaStreamTrack):
        kind = "audio"

        def __init__(self, freq):
            super().__init__()
            self.freq = freq
            self.pts = 0
            self.start = None

        async def recv(self):
            rate, n = 48000, 960
            if self.start is None:
                self.start = time.time()
            wait = self.start + self.pts / rate - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            t = (np.arange(n) + self.pts) / rate
            pcm = (8000 * np.sin(2 * np.pi * self.freq * t)).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = rate
            frame.pts = self.pts
            frame.time_base = fractions.Fraction(1, rate)
            self.pts += n
            return frame

    return _ToneTrack


ToneTrack = None  # set by preflight() once aiortc is known to import


def dominant_freq(samples, rate):
    import numpy as np
    x = np.asarray(samples, dtype=np.float64)
    if len(x) < rate // 4:
        return 0.0
    x = x - x.mean()
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    k = int(np.argmax(spec[1:])) + 1
    return k * rate / len(x)


# ---------------------------------------------------------------------------
# one call
# ---------------------------------------------------------------------------

class Env:
    def __init__(self, kind, workdir, ng, ng_port, sip_port, pmin, pmax, daemon, kamailio, uas_port,
                 rtpp_port=None):
        self.kind = kind
        self.workdir = workdir
        self.ng = ng
        self.ng_port = ng_port
        self.sip_port = sip_port
        self.pmin, self.pmax = pmin, pmax
        self.daemon = daemon
        self.kamailio = kamailio
        self.uas_port = uas_port
        self.rtpp_port = rtpp_port   # rtpgate's rtpproxy control port


def check_webrtc_sdp(case, who, sdp, env, is_offer):
    d = sdp_info(sdp or "")
    check(case, "%s got UDP/TLS/RTP/SAVPF with c= of rtpgate" % who,
          d["proto"] == "UDP/TLS/RTP/SAVPF" and d["c_addr"] == IP and d["port"],
          "m= %s %s, c= %s" % (d["port"], d["proto"], d["c_addr"]))
    check(case, "%s got an m= port inside rtpgate's --port-min/--port-max" % who,
          d["port"] is not None and env.pmin <= d["port"] <= env.pmax,
          "m= port %s, range %d-%d" % (d["port"], env.pmin, env.pmax))
    need = ["ice-ufrag:", "ice-pwd:", "candidate:", "fingerprint:sha-256 ", "rtcp-mux"]
    missing = [a for a in need if not has_attr(d, a)]
    check(case, "%s got ICE, a DTLS fingerprint and rtcp-mux" % who, not missing,
          ("missing %s; " % missing if missing else "") + one_line(sdp or ""))
    setup = [a for a in d["attrs"] if a.startswith("setup:")]
    # DTLS=passive: the answer takes the passive role; an offer may say passive or (RFC 5763)
    # actpass, which is what rtpengine 10.5 puts in an offer even with DTLS=passive
    ok_roles = ("setup:passive", "setup:actpass") if is_offer else ("setup:passive",)
    check(case, "%s got a=%s (DTLS=passive)" % (who, "/".join(r[6:] for r in ok_roles)),
          len(setup) == 1 and setup[0] in ok_roles, "%s" % setup)
    cands = [a for a in d["attrs"] if a.startswith("candidate:")]
    good = [c for c in cands if len(c.split()) >= 6 and c.split()[4] == IP
            and c.split()[5] == str(d["port"])]
    check(case, "%s got a host candidate = c=/m= address" % who, bool(good), "; ".join(cands))
    check(case, "%s got no SDES crypto" % who, not has_attr(d, "crypto:"))
    check(case, "%s got o= of rtpgate (replace-origin)" % who, d["o_addr"] == IP, "o= %s" % d["o_addr"])
    return d


def check_plain_sdp(case, who, sdp, env):
    d = sdp_info(sdp or "")
    in_range = d["port"] is not None and env.pmin <= d["port"] <= env.pmax
    check(case, "%s got plain RTP/AVP pointing at rtpgate" % who,
          d["proto"] == "RTP/AVP" and in_range and d["c_addr"] == IP and d["o_addr"] == IP,
          "m= %s %s, c= %s, o= %s (range %d-%d)" % (d["port"], d["proto"], d["c_addr"], d["o_addr"],
                                                   env.pmin, env.pmax))
    bad = [a for a in d["attrs"] if re.match(r"(candidate|ice-|fingerprint|setup|crypto|rtcp-mux|"
                                             r"tls-id|remote-candidates)", a)]
    check(case, "%s got no ICE/DTLS/SDES/rtcp-mux attributes" % who, not bad,
          ("%s; " % bad if bad else "") + one_line(sdp or ""))
    if has_attr(d, "end-of-candidates"):
        # harmless without ICE, and rtpengine 10.5 leaves it in too: a note, not a failure
        info("note: %s got a=end-of-candidates (ICE=remove left it in)" % who)
    check(case, "%s got PCMU" % who, "0" in d["pts"], "payload types %s" % d["pts"])
    return d


async def end_call(uac, uas, up):
    """The end of a case: a call still up (the case failed half-way) is hung up so that the next
    case starts clean; then the SIP trace of both agents."""
    if up:
        try:
            await asyncio.wait_for(uac.bye(), 5)
        except Exception:  # noqa: BLE001
            pass
    for ln in uac.dump() + uas.dump():
        info(ln)


async def run_case(case, env):
    loop = asyncio.get_running_loop()
    proxy = (IP, env.sip_port)
    plain = PlainMedia()
    web = WebRTCMedia()
    uac_port = free_port()
    if case == "sip-to-webrtc":
        uac_media, uas_media = plain, web
        uac_name, uas_name = "phone", "browser"
    else:
        uac_media, uas_media = web, plain
        uac_name, uas_name = "browser", "phone"
    uas = UAS(uas_name, env.uas_port, uas_media)
    uac = UAC(uac_name, uac_port, proxy, "sip:%s@%s:%d" % (uas_name, IP, env.uas_port), uac_media)
    tr_uas, _ = await loop.create_datagram_endpoint(lambda: uas, local_addr=(IP, env.uas_port))
    tr_uac, _ = await loop.create_datagram_endpoint(lambda: uac, local_addr=(IP, uac_port))
    call_ok = False
    try:
        t0 = time.monotonic()
        r = await uac.invite()
        check(case, "call set up (INVITE -> 200 -> ACK through Kamailio)", r is not None and r.status == 200,
              "final %s, %.2f s%s" % (r.first if r else "none", time.monotonic() - t0,
                                       ("; UAS error " + uas.error) if uas.error else ""))
        if r is None or r.status != 200:
            return
        call_ok = True
        try:
            await asyncio.wait_for(uas.acked.wait(), 3)
        except asyncio.TimeoutError:
            pass
        check(case, "UAS got the ACK (loose routing via Kamailio)", uas.acked.is_set())
        check(case, "Kamailio's Record-Route carries the direction",
              any("wrtc=" + ("callee" if case == "sip-to-webrtc" else "caller") in v
                  for v in uas.invite.all("record-route")),
              "; ".join(uas.invite.all("record-route")))

        # ---- SDPs as each side received them --------------------------------
        if case == "sip-to-webrtc":
            check_webrtc_sdp(case, "WebRTC UAS (INVITE)", uas.offer_sdp, env, True)
            check(case, "WebRTC UAS (INVITE) got a=mid (generate-mid)", "a=mid:" in (uas.offer_sdp or ""))
            check_plain_sdp(case, "plain UAC (200 OK)", uac.answer_sdp, env)
            gw_plain = sdp_info(uac.answer_sdp)
        else:
            check_plain_sdp(case, "plain UAS (INVITE)", uas.offer_sdp, env)
            check_webrtc_sdp(case, "WebRTC UAC (200 OK)", uac.answer_sdp, env, False)
            gw_plain = sdp_info(uas.offer_sdp)

        # ---- media -------------------------------------------------------------
        state = await web.wait_connected(10)
        check(case, "WebRTC side: ICE + DTLS connected", state == "connected",
              "connectionState %s, %.2f s after the INVITE" % (state, time.monotonic() - t0))
        await asyncio.gather(plain.run(MEDIA_SECONDS), web.collect(MEDIA_SECONDS))

        import numpy as np
        pcm = np.frombuffer(bytes(plain.pcm), dtype=np.int16)
        f1 = dominant_freq(pcm[4000:], 8000)
        exp = MEDIA_SECONDS * 50
        check(case, "plain side received PCMU from the browser", plain.rx >= 0.5 * exp,
              "%d PCMU packets (of ~%d), %d other PT, %d RTCP on the demuxed port, sent %d"
              % (plain.rx, exp, plain.rx_other_pt, plain.rx_rtcp, plain.tx))
        check(case, "plain side hears the browser's %g Hz" % TONE_WEBRTC, abs(f1 - TONE_WEBRTC) < TOL_PLAIN_RX,
              "%.1f Hz from %.2f s of audio" % (f1, len(pcm) / 8000.0))
        src = (gw_plain["c_addr"], gw_plain["port"])
        check(case, "plain side's RTP comes from the address in its SDP (symmetric)",
              plain.sources == {src}, "from %s, SDP %s" % (sorted(plain.sources), src))
        if web.frames:
            rate = web.frames[0][0]
            pcm2 = np.concatenate([a for _, a in web.frames])
            f2 = dominant_freq(pcm2[rate // 2:], rate)
            secs = len(pcm2) / float(rate)
        else:
            f2, secs = 0.0, 0.0
        check(case, "browser hears the plain side's %g Hz" % TONE_PLAIN, abs(f2 - TONE_PLAIN) < TOL_WEBRTC_RX,
              "%.1f Hz from %.2f s of audio" % (f2, secs))
        try:
            q = env.ng.query(uac.call_id)
            tot = q.get(b"totals", {}).get(b"RTP", {})
            check(case, "NG query counts RTP of the call", tot.get(b"packets", 0) > 2 * 0.5 * exp,
                  "%s packets" % tot.get(b"packets"))
        except (NGError, NGTimeout, OSError) as e:
            check(case, "NG query counts RTP of the call", False, repr(e))

        # ---- tear down ------------------------------------------------------------
        r = await uac.bye()
        call_ok = False
        check(case, "BYE answered 200 through Kamailio", r is not None and r.status == 200,
              r.first if r else "no final response")
        check(case, "UAS got the BYE", uas.bye.is_set())
        left = None
        end = time.monotonic() + 3
        while time.monotonic() < end:
            left = env.ng.list_calls()
            if not left:
                break
            await asyncio.sleep(0.1)
        check(case, "NG list empty after BYE", left == [], "list=%r" % (left,))
    finally:
        await end_call(uac, uas, call_ok)
        await web.close()
        plain.close()
        tr_uac.close()
        tr_uas.close()


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

def sip_options_ping(port, timeout=0.3):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((IP, 0))
        lport = s.getsockname()[1]
        br = "z9hG4bK-probe-" + rand_token()
        msg = ("OPTIONS sip:%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=%s;rport\r\nMax-Forwards: 70\r\n"
               "From: <sip:probe@%s>;tag=probe\r\nTo: <sip:%s:%d>\r\nCall-ID: %s@%s\r\nCSeq: 1 OPTIONS\r\n"
               "Content-Length: 0\r\n\r\n") % (IP, port, IP, lport, br, IP, IP, port, br, IP)
        s.sendto(msg.encode(), (IP, port))
        s.settimeout(timeout)
        return s.recv(65535).startswith(b"SIP/2.0 200")
    except OSError:
        return False
    finally:
        s.close()


def daemon_command(kind, ng_port, pmin, pmax, rtpp_port):
    if kind == "rtpengine":
        binary = os.environ.get("RG_BIN") or shutil.which("rtpengine") or "/usr/bin/rtpengine"
        return [binary, "--config-file=none", "--table=-1", "--foreground", "--log-stderr", "--log-level=7",
                "--interface=%s" % IP, "--listen-ng=%s:%d" % (IP, ng_port),
                "--port-min=%d" % pmin, "--port-max=%d" % pmax, "--delete-delay=0"]
    binary = os.environ.get("RG_BIN") or os.path.join(REPO, "build", "gateway", "rtpgate")
    return [binary, "--config-file=none", "--foreground", "--log-stderr", "--log-level=7",
            "--interface=%s" % IP, "--listen-ng=%s:%d" % (IP, ng_port),
            "--listen-rtpproxy=udp:%s:%d" % (IP, rtpp_port),
            "--port-min=%d" % pmin, "--port-max=%d" % pmax, "--delete-delay=0"]


def tail(path, n=60, pattern=None):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    if pattern:
        lines = [ln for ln in lines if re.search(pattern, ln)]
    return lines[-n:]


def preflight():
    """Imports aiortc/numpy, makes ToneTrack, restricts aiortc's host candidates to loopback.
    None, or what is missing (as a message)."""
    global ToneTrack
    try:
        import aiortc  # noqa: F401
        import aioice.ice
        import numpy  # noqa: F401
        import audioop  # noqa: F401
        ToneTrack = _tone_track_class()
    except ImportError as e:
        return "aiortc/numpy not importable (%s); run with Debian's /usr/bin/python3 + python3-aiortc" % e
    if not os.path.exists(KAMAILIO):
        return "kamailio not found (%s)" % KAMAILIO
    if os.environ.get("RG_AIORTC_DEBUG") == "1":
        import logging
        logging.basicConfig(level=logging.DEBUG, format="     aiortc %(name)s: %(message)s")
    # aiortc's host candidates: loopback only (aioice leaves 127.0.0.1 out by default)
    aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=False: [IP]
    return None


def skip_or_fail(problem):
    """Exit status for a missing prerequisite: 77 (meson: skipped) with RG_ALLOW_SKIP=1, else a FAIL."""
    if os.environ.get("RG_ALLOW_SKIP") == "1":
        print("SKIP: " + problem)
        return 77
    print("FAIL: %s (RG_ALLOW_SKIP=1 turns this into a skip)\n0 passed, 1 failed" % problem)
    return 1


def install_signal_handlers():
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)


def start_stack(kind, workdir, procs, cfg=KAMAILIO_CFG, defines=()):
    """Starts the media daemon and Kamailio (cfg, with extra `-A` defines), each appended to procs
    (stopped by the caller); waits until both answer. Kamailio gets the daemon's NG socket as
    RTPENGINE_SOCK and (rtpgate) its rtpproxy one as RTPPROXY_SOCK, so that either module's script
    (conf/kamailio-webrtc.cfg, conf/kamailio-rtpproxy.cfg) runs. Returns an Env, or None after a
    FAIL line."""
    ng_port = free_port()
    rtpp_port = free_port()
    sip_port = free_port()
    uas_port = free_port()
    pmin = random.randrange(25000, 29600, 2)
    pmax = pmin + 199
    daemon = Proc(kind, daemon_command(kind, ng_port, pmin, pmax, rtpp_port), os.path.join(workdir, "daemon.log"))
    procs.append(daemon)
    ng = NGClient(IP, ng_port, timeout=2.0)
    if not check("-", "%s answers NG ping" % kind, ng.wait_ready(10)):
        return None
    rundir = os.path.join(workdir, "kamailio-run")
    os.makedirs(rundir)
    cmd = [KAMAILIO, "-f", cfg, "-DD", "-E", "-Y", rundir, "-w", rundir, "-m", "64", "-M", "8",
           "-A", "SIP_LISTEN=udp:%s:%d" % (IP, sip_port),
           "-A", 'RTPENGINE_SOCK="udp:%s:%d"' % (IP, ng_port),
           "-A", 'RTPPROXY_SOCK="udp:%s:%d"' % (IP, rtpp_port),
           "-A", 'UAS_URI="sip:%s:%d"' % (IP, uas_port),
           "-A", "DBGLEVEL=2"]
    for d in defines:
        cmd += ["-A", d]
    kam = Proc("kamailio", cmd, os.path.join(workdir, "kamailio.log"))
    procs.append(kam)
    end = time.monotonic() + 10
    up = False
    while time.monotonic() < end and kam.alive():
        if sip_options_ping(sip_port):
            up = True
            break
        time.sleep(0.1)
    if not check("-", "Kamailio up (answers OPTIONS)", up, "" if up else kam.output()[-800:]):
        return None
    return Env(kind, workdir, ng, ng_port, sip_port, pmin, pmax, daemon, kam, uas_port, rtpp_port)


NG_RTPSTAT = (r"rtpstat (\S+): RTP: \d+ bytes, (\d+) packets", "NG query")


def check_stack_end(env, ncalls, rtpstat=NG_RTPSTAT):
    """The checks after the last case: $rtpstat for each call, no ERROR from Kamailio, both alive.
    rtpstat: (regex of the script's log line: group 1 the Call-ID, 2 a packet count; what the
    module asked the daemon)."""
    klog = env.kamailio.output()
    stats = re.findall(rtpstat[0], klog)
    check("-", "Kamailio's $rtpstat (%s on BYE) saw packets for every call" % rtpstat[1],
          len(stats) == ncalls and all(int(p) > 0 for _, p in stats),
          "; ".join("%s: %s packets" % (c, p) for c, p in stats) or "no rtpstat line")
    errs = [ln for ln in klog.splitlines() if re.search(r"\b(ERROR|CRITICAL)\b", ln)]
    check("-", "no ERROR in Kamailio's log", not errs, " | ".join(errs[:3])[:600])
    check("-", "%s still running" % env.kind, env.daemon.alive(), "exit %s" % env.daemon.p.returncode)
    check("-", "Kamailio still running", env.kamailio.alive(), "exit %s" % env.kamailio.p.returncode)


def finish(kind, workdir, procs, t0, logdirs=None):
    """Stops procs, prints the log tails when something failed (of the daemon.log and kamailio.log
    in each of logdirs, default workdir), removes or keeps workdir, prints the summary line.
    Returns the exit status."""
    for p in reversed(procs):
        p.stop()
    failed = not RESULTS or not all(RESULTS)
    for d in (logdirs or [workdir]) if failed else []:
        print("----- %s log: ICE/DTLS/error lines (tail) -----" % kind)
        for ln in tail(os.path.join(d, "daemon.log"), 40, r"(?i)ice|dtls|srtp|error|warn|crit"):
            print("  " + ln[:300])
        print("----- %s log (tail) -----" % kind)
        for ln in tail(os.path.join(d, "daemon.log"), 30):
            print("  " + ln[:300])
        print("----- kamailio log (tail) -----")
        for ln in tail(os.path.join(d, "kamailio.log"), 30):
            print("  " + ln[:300])
    if failed or os.environ.get("RG_KEEP_TMP") == "1":
        info("work directory kept: %s" % workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print("total %.1f s" % (time.monotonic() - t0))
    n_ok = sum(RESULTS)
    print("%d passed, %d failed" % (n_ok, len(RESULTS) - n_ok), flush=True)
    return 0 if RESULTS and all(RESULTS) else 1


def main():
    kind = os.environ.get("RG_DAEMON", "rtpgate")
    cases = [c.strip() for c in os.environ.get("RG_CASES", "sip-to-webrtc,webrtc-to-sip").split(",") if c.strip()]
    for c in cases:
        if c not in ("sip-to-webrtc", "webrtc-to-sip"):
            print("unknown case %r" % c)
            return 2

    problem = preflight()
    if problem:
        return skip_or_fail(problem)
    install_signal_handlers()

    workdir = tempfile.mkdtemp(prefix="rg-kamwebrtc-")
    procs = []
    t0 = time.monotonic()
    print("media daemon %s; Kamailio %s with %s; cases %s" % (kind, KAMAILIO, os.path.relpath(KAMAILIO_CFG, REPO),
                                                           ", ".join(cases)), flush=True)
    try:
        env = start_stack(kind, workdir, procs)
        if env is None:
            return finish(kind, workdir, procs, t0)

        for case in cases:
            tc = time.monotonic()
            print("=== case %s ===" % case, flush=True)
            try:
                asyncio.run(asyncio.wait_for(run_case(case, env), 30))
            except Interrupted:
                raise
            except Exception as e:  # noqa: BLE001  a harness error is a failure
                import traceback
                traceback.print_exc()
                check(case, "case ran to the end", False, repr(e))
            info("case %s took %.1f s" % (case, time.monotonic() - tc))

        check_stack_end(env, len(cases))
    except Interrupted as e:
        check("-", "test not interrupted", False, str(e))
    except Exception as e:  # noqa: BLE001  a harness error is a failure, and the processes still stop
        import traceback
        traceback.print_exc()
        check("-", "test ran to the end", False, repr(e))
    return finish(kind, workdir, procs, t0)


if __name__ == "__main__":
    sys.exit(main())
