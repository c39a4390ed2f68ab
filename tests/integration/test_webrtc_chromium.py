#!/usr/bin/python3
"""WebRTC <-> plain RTP through rtpgate, with headless Chromium as the browser.

Calls (1 and 2 as in test_webrtc_aiortc.py) set up over NG as Kamailio's rtpengine module would:
  1. Chromium offers (ICE, DTLS-SRTP, rtcp-mux, PCMU only); flags toward the SIP side
     "ICE=remove RTP/AVP rtcp-mux-demux DTLS=off SDES-off replace-origin replace-session-connection";
     a plain RTP endpoint answers with PCMU; its answer goes back with
     "ICE=force UDP/TLS/RTP/SAVPF rtcp-mux-require".
  2. the plain endpoint offers PCMU; flags toward the browser
     "ICE=force UDP/TLS/RTP/SAVPF DTLS=passive rtcp-mux-offer rtcp-mux-require SDES-off generate-mid";
     Chromium answers (PCMU only); its answer goes back with "ICE=remove RTP/AVP rtcp-mux-demux".
  5. the plain endpoint offers audio + video: rtpgate offers the browser one transport for both
     (a=group:BUNDLE 0 1); Chromium answers bundled; audio both ways.
  4. Chromium offers Opus only (+ telephone-event); "codec-strip-all codec-transcode-PCMU" gives the
     SIP side PCMU; Chromium's insertDTMF arrives at the plain side as RFC 4733 events.
  3. as 1, with the fake camera's VP8 video in the same BUNDLE group as the audio: rtpgate answers
     with one ICE/DTLS transport for both m= lines (a=group:BUNDLE 0 1) and demultiplexes the
     browser's packets to the SIP side's two m= lines; the plain side echoes the video back
     (new SSRC) and Chromium decodes it.
  6. quiet senders on a transcoded call (rtpgate's gap filling, dtx-delay): the plain endpoint offers
     PCMU + CN (a=rtpmap:13 CN/8000); "codec-mask-all codec-transcode-opus" gives the browser Opus
     only, and the test adds usedtx=1 to that a=fmtp so that Chromium's Opus encoder uses DTX;
     rtpgate's answer to the plain side must keep CN. After the call is up, both sides go quiet for
     the same 1.5 s: the page mutes its tone (WebAudio gain 0: Chromium sends a DTX update every
     400 ms, counted by NG query "packets in" and getStats packetsSent), and the plain endpoint
     sends one RFC 3389 CN packet (level 40 = -40 dBov) and nothing else. The plain side must get
     PCMU without a hole (inter-arrival < 100 ms, sequence numbers contiguous, every timestamp step
     160) and 440 Hz before and after; Chromium must keep receiving ~50 packets/s (getStats sampled
     every 100 ms), barely concealing, playing comfort noise near -40 dBFS, and 1000 Hz before and
     after. About 8 s.
  7. a SIP side that switches codecs (RFC 3264 5.1): Chromium offers Opus + G.722; "codec-mask-all
     codec-transcode-PCMU codec-transcode-G722" gives the phone PCMU + G.722, it answers both and
     sends PCMU 1000 Hz, then from 3.5 s G.722 1500 Hz (payloads by tests/tools/rg_audio_tool:
     RG_AUDIO_TOOL, else next to RG_BIN's build directory). rtpgate answers Chromium Opus, then
     G.722; Chromium must hear 1000 Hz (transcoded to Opus) and then 1500 Hz decoded as G.722
     (passed through in the same stream, getStats codec), without concealment; NG query: one codec
     switch, every G.722 packet passed through.
In all, Chromium sends a 440 Hz WebAudio tone and the plain side a 1000 Hz PCMU tone; the plain side
decodes what arrives, the page analyses the received track with an AnalyserNode and reports
getStats() (inbound-rtp packets and audio level, DTLS state, selected candidate pair, codec).

How Chromium is driven: this script serves tests/integration/webrtc/chromium.html and its JS from a
local HTTP server on 127.0.0.1; the page long-polls /api/next for commands (offer, answer, remote
description, measure, timeline, ...) and posts results back to /api/result. Stdlib only, no chromedriver.

ICE addresses: Chromium runs with mDNS candidates off (rtpgate ignores .local candidates) and with
loopback allowed (--allow-loopback-in-peer-connection; by default it never gathers 127.0.0.1). A probe
offer, before rtpgate starts, finds Chromium's highest-priority IPv4 UDP host candidate and rtpgate's
media interface is that address: 127.0.0.1 with Chromium 156 (else the machine's own address, as in
`hostname -I`). Chromium may still pick its pair from another local address of this host (e.g.
192.0.2.2 -> 127.0.0.1); all traffic stays on this machine. The plain endpoint is on 127.0.0.1.

Run:   RG_BIN=build/gateway/rtpgate /usr/bin/python3 tests/integration/test_webrtc_chromium.py
       RG_FLOWS=6 (or e.g. 1,4) runs only those flows, in that order (default 1,2,3,4,5,6,7);
       RG_BUNDLE_POLICY=max-bundle sets the page's bundlePolicy (meson's webrtc-chromium-max-bundle).
Needs: chromium (Debian package; RG_CHROMIUM=path to override), python3-aiortc + numpy (for the
       plain endpoint of test_webrtc_aiortc.py). Missing Chromium is a FAIL unless RG_ALLOW_SKIP=1
       (then exit 77, meson: skipped). RG_KEEP_TMP=1 keeps the work directory (Chromium's and
       rtpgate's logs, the page's console), which is also kept and its logs printed on failure.
Exit 0 when every check passed.
"""
import asyncio
import ipaddress
import json
import os
import queue
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from ngclient import NGClient  # noqa: E402
import test_webrtc_aiortc as aio  # noqa: E402
from test_webrtc_aiortc import PlainEndpoint, dominant_freq, check  # noqa: E402
from rgaudiotool import audio_tool, audio_tool_path  # noqa: E402

PAGE_DIR = os.path.join(HERE, "webrtc")
# the page's RTCPeerConnection bundlePolicy: the browser default, or RG_BUNDLE_POLICY=max-bundle
BUNDLE_POLICY = os.environ.get("RG_BUNDLE_POLICY", "balanced")
# the flows to run, by number, in this order (the docstring's numbers): RG_FLOWS=6 or RG_FLOWS=1,4
FLOWS = [f.strip() for f in os.environ.get("RG_FLOWS", "1,2,3,4,5,6,7").split(",") if f.strip()]
DEADLINE = time.monotonic() + 170       # with the clean-up the run stays below 180 s


def remaining():
    return DEADLINE - time.monotonic()


# --------------------------------------------------------------------------------------------
# The page's side channel: a tiny HTTP server, commands out through a long poll, results back.
# --------------------------------------------------------------------------------------------

class PageChannel:
    def __init__(self, logfile):
        self.commands = queue.Queue()
        self.results = {}
        self.cond = threading.Condition()
        self.next_id = 1
        self.polled = threading.Event()
        self.logfile = logfile
        self.console = []
        chan = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):   # quiet
                pass

            def _send(self, code, body, ctype):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                if path == "/api/next":
                    chan.polled.set()
                    try:
                        cmd = chan.commands.get(timeout=2.0)
                    except queue.Empty:
                        cmd = {"cmd": "idle"}
                    self._send(200, json.dumps(cmd).encode(), "application/json")
                    return
                name = os.path.basename(path)
                types = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
                fn = os.path.join(PAGE_DIR, name)
                if name and os.path.splitext(name)[1] in types and os.path.isfile(fn):
                    with open(fn, "rb") as f:
                        self._send(200, f.read(), types[os.path.splitext(name)[1]])
                else:
                    self._send(404, b"not found", "text/plain")

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                try:
                    msg = json.loads(self.rfile.read(n) or b"{}")
                except ValueError:
                    msg = {}
                path = self.path.split("?", 1)[0]
                if path == "/api/result":
                    with chan.cond:
                        chan.results[msg.get("id")] = msg
                        chan.cond.notify_all()
                elif path == "/api/log":
                    line = "%.3f page: %s" % (time.time(), msg.get("msg"))
                    chan.console.append(line)
                    with open(chan.logfile, "a") as f:
                        f.write(line + "\n")
                self._send(200, b"{}", "application/json")

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                # Chromium killed at the end resets its idle keep-alive connections: no traceback
                if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
                    super().handle_error(request, client_address)

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self):
        return "http://127.0.0.1:%d/chromium.html?bundle=%s" % (self.port, BUNDLE_POLICY)

    def call(self, cmd, timeout=15.0, **kw):
        """Run one command in the page; returns (ok, result or Chromium's error text)."""
        timeout = max(1.0, min(timeout, remaining()))
        with self.cond:
            cid = self.next_id
            self.next_id += 1
        msg = dict(kw, cmd=cmd, id=cid)
        self.commands.put(msg)
        end = time.monotonic() + timeout
        with self.cond:
            while cid not in self.results:
                left = end - time.monotonic()
                if left <= 0:
                    return False, "page did not answer %r within %.0f s" % (cmd, timeout)
                self.cond.wait(left)
            r = self.results.pop(cid)
        return bool(r.get("ok")), (r.get("result") if r.get("ok") else r.get("error"))

    def close(self):
        self.commands.put({"cmd": "quit"})
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------------------------
# Chromium
# --------------------------------------------------------------------------------------------

def find_chromium():
    env = os.environ.get("RG_CHROMIUM")
    if env:
        return env if os.access(env, os.X_OK) else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


def start_chromium(binary, url, workdir):
    profile = tempfile.mkdtemp(prefix="profile-", dir=workdir)
    args = [binary,
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--no-default-browser-check",
            "--user-data-dir=" + profile,
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            "--autoplay-policy=no-user-gesture-required",
            "--mute-audio",                 # the page plays the received audio (see chromium.js)
            # real host candidates (rtpgate ignores mDNS .local ones)
            "--disable-features=WebRtcHideLocalIpsWithMdns",
            "--enforce-webrtc-ip-permission-check=false",
            "--allow-loopback-in-peer-connection",
            "--enable-logging=stderr", "--v=0",
            url]
    log = open(os.path.join(workdir, "chromium.log"), "wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    log.close()
    return proc


def stop_group(proc, timeout=5):
    """SIGTERM, then SIGKILL, to the process group the child leads (start_new_session)."""
    if proc is None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if proc.poll() is not None and not _group_alive(proc.pid):
                return
            time.sleep(0.1)


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


# --------------------------------------------------------------------------------------------
# SDP helpers
# --------------------------------------------------------------------------------------------

def candidates(sdp):
    """(transport, address, port, type, priority) of each a=candidate line."""
    out = []
    for m in re.finditer(r"a=candidate:\S+ \d+ (\S+) (\d+) (\S+) (\d+) typ (\S+)", sdp):
        out.append((m.group(1).lower(), m.group(3), int(m.group(4)), m.group(5), int(m.group(2))))
    return out


def pick_interface(sdp):
    """The address of Chromium's highest-priority IPv4 UDP host candidate (None if none): with
    loopback allowed that is 127.0.0.1 (Chromium 156), else the machine's interface address."""
    best = None
    for proto, addr, _, typ, prio in candidates(sdp):
        if proto != "udp" or typ != "host" or addr.endswith(".local"):
            continue
        try:
            if ipaddress.ip_address(addr).version != 4:
                continue
        except ValueError:
            continue
        if best is None or prio > best[1]:
            best = (addr, prio)
    return best[0] if best else None


def m_port(sdp):
    return int(re.search(r"m=audio (\d+)", sdp).group(1))


def c_addr(sdp):
    return re.findall(r"c=IN IP[46] (\S+)", sdp)[-1]


def oneline(sdp):
    return sdp.replace("\r\n", " | ")


def check_sdp(name, ok, sdp):
    """check() that shows the SDP only when it fails."""
    return check(name, ok, "" if ok else oneline(sdp))


# --------------------------------------------------------------------------------------------
# Media phase and the two flows
# --------------------------------------------------------------------------------------------

def stats_of(stats, typ):
    return [s for s in stats if s.get("type") == typ]


def answer_toward_browser(ng, call_id, sdp):
    """NG answer of the SIP side ("phone") to the browser's offer, as Kamailio's rtpengine module
    sends it for a WebRTC caller: ICE=force, UDP/TLS/RTP/SAVPF, rtcp-mux-require. Returns the SDP
    rtpgate gives the browser."""
    r = ng.command("answer", sdp=sdp, call_id=call_id, from_tag="browser", to_tag="phone",
                   ICE="force", transport_protocol="UDP/TLS/RTP/SAVPF",
                   replace=["origin", "session-connection"], **{"rtcp-mux": ["require"]})
    return r[b"sdp"].decode()


def in_thread(fn):
    """fn() in a daemon thread, as an awaitable (not the loop's executor, which asyncio.run would
    wait for when the run is aborted)."""
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def done(r):
        if not fut.done():
            fut.set_result(r)

    def run():
        r = fn()
        try:
            loop.call_soon_threadsafe(done, r)
        except RuntimeError:    # loop already closed
            pass
    threading.Thread(target=run, daemon=True).start()
    return fut


async def media_phase(name, page, plain, ng, call_id, seconds=5.0, video=None, codec="audio/PCMU",
                      dtmf=None):
    send = asyncio.ensure_future(plain.run(seconds))
    if video:
        video.start()
    if dtmf:
        ok_d, res_d = page.call("dtmf", tones=dtmf, duration=120, gap=80)
        check("%s: Chromium inserts DTMF %s" % (name, dtmf), ok_d, "" if ok_d else str(res_d))
    ok, res = await in_thread(lambda: page.call("measure", timeout=seconds + 10, warmup=1.5,
                                                seconds=seconds - 2.0))
    await send
    # browser -> plain: 440 Hz arrived as PCMU
    pcm = np.frombuffer(bytes(plain.received), dtype=np.int16)
    f = dominant_freq(pcm[4000:], 8000) if len(pcm) > 8000 else 0
    check("%s: plain side received RTP from Chromium" % name, plain.rx_packets > 100,
          "%d packets" % plain.rx_packets)
    check("%s: plain side hears Chromium's 440 Hz" % name, abs(f - 440) < 15, "%.1f Hz" % f)
    if not check("%s: page measured the received audio" % name, ok, "" if ok else str(res)):
        res = {"stats": [], "freq": 0}
    stats = res.get("stats", [])
    # plain -> browser: 1000 Hz arrived through SRTP, decoded by Chromium
    check("%s: Chromium hears the plain side's 1000 Hz" % name, abs(res.get("freq", 0) - 1000) < 20,
          "%.1f Hz (peak %.3f, %s frames at %s Hz, AudioContext %s)"
          % (res.get("freq", 0), res.get("peak", 0), res.get("frames"), res.get("sampleRate"),
             res.get("contextState")))
    inb = [s for s in stats_of(stats, "inbound-rtp") if s.get("kind", "audio") == "audio"]
    outb = [s for s in stats_of(stats, "outbound-rtp") if s.get("kind", "audio") == "audio"]
    pkts = max([s.get("packetsReceived", 0) for s in inb] or [0])
    level = max([s.get("audioLevel", 0) for s in inb] or [0])
    energy = max([s.get("totalAudioEnergy", 0) for s in inb] or [0])
    check("%s: getStats inbound-rtp packetsReceived" % name, pkts > 100, "%d" % pkts)
    check("%s: getStats inbound-rtp audio level" % name, level > 0 and energy > 0,
          "audioLevel %.4f, totalAudioEnergy %.4f" % (level, energy))
    sent = max([s.get("packetsSent", 0) for s in outb] or [0])
    check("%s: getStats outbound-rtp packetsSent" % name, sent > 100, "%d" % sent)
    codecs = {s.get("id"): s for s in stats_of(stats, "codec")}
    used = sorted({codecs.get(s.get("codecId"), {}).get("mimeType", "?") for s in inb + outb})
    check("%s: Chromium uses %s both ways" % (name, codec), used == [codec], ",".join(used))
    tr = stats_of(stats, "transport")
    dtls = [t.get("dtlsState") for t in tr]
    check("%s: DTLS connected" % name, dtls and all(d == "connected" for d in dtls),
          "dtlsState %s, srtpCipher %s, role %s"
          % (dtls, [t.get("srtpCipher") for t in tr], [t.get("dtlsRole") for t in tr]))
    pairs = {s.get("id"): s for s in stats_of(stats, "candidate-pair")}
    cands = {s.get("id"): s for s in stats if s.get("type") in ("local-candidate", "remote-candidate")}
    sel = [pairs.get(t.get("selectedCandidatePairId")) for t in tr]
    sel = [p for p in sel if p]
    desc = ["%s:%s -> %s:%s %s (%s responses, %s bytes in)"
            % (cands.get(p.get("localCandidateId"), {}).get("address"),
               cands.get(p.get("localCandidateId"), {}).get("port"),
               cands.get(p.get("remoteCandidateId"), {}).get("address"),
               cands.get(p.get("remoteCandidateId"), {}).get("port"),
               p.get("state"), p.get("responsesReceived"), p.get("bytesReceived")) for p in sel]

    def pair_ok(p):
        # Chromium reported the selected pair "in-progress" once in CI on a working call (media
        # both ways, DTLS connected): a check on it in flight at that instant. Such a pair must
        # still have had its checks answered (its bytes counters are not always filled in, so the
        # media is judged by the checks above)
        return p.get("state") == "succeeded" or (p.get("state") == "in-progress" and
                                                 p.get("responsesReceived", 0) > 0)
    check("%s: ICE selected pair succeeded" % name, sel and all(pair_ok(p) for p in sel),
          "; ".join(desc) or "no selected pair (ICE %s)" % res.get("iceConnectionState"))
    q = ng.query(call_id)
    tot = q.get(b"totals", {}).get(b"RTP", {})
    check("%s: NG query counts RTP both ways" % name, tot.get(b"packets", 0) > 200,
          "%s packets" % tot.get(b"packets"))
    if dtmf:
        # RFC 4733 events at the plain side: its payload type 101, one event per digit (E bit)
        digits, ends, markers, last_ts = "", 0, 0, None
        for pt, marker, ts, pl in plain.other:
            if pt != 101 or len(pl) < 4:
                continue
            markers += marker
            if pl[1] & 0x80:
                ends += 1
                if ts != last_ts:
                    digits += "0123456789*#ABCD"[pl[0]] if pl[0] < 16 else "?"
                    last_ts = ts
        check("%s: DTMF arrives at the plain side as RFC 4733 events" % name, digits == dtmf,
              "digits %r, %d end packets, %d markers, %d other packets" % (digits, ends, markers, len(plain.other)))
    if video:
        video.stop()
        check("%s: plain side received Chromium's VP8 on its video m= line" % name, video.rx_vp8 > 30,
              "%d VP8 packets, %d others" % (video.rx_vp8, video.rx_other))
        vin = [s for s in stats_of(stats, "inbound-rtp") if s.get("kind") == "video"]
        vpk = max([s.get("packetsReceived", 0) for s in vin] or [0])
        vdec = max([s.get("framesDecoded", 0) for s in vin] or [0])
        check("%s: Chromium receives the echoed video (getStats inbound-rtp video)" % name, vpk > 30,
              "%d packets, %d echoed" % (vpk, video.tx))
        check("%s: Chromium decodes the echoed VP8 frames" % name, vdec > 5, "framesDecoded %d" % vdec)
        check("%s: one DTLS transport for audio and video" % name, len(tr) == 1, "%d transports" % len(tr))


async def flow_browser_offers(ng, page, iface):
    name = "browser offers"
    call_id = "chromium-a-%d" % random.randint(0, 1 << 30)
    ok, res = page.call("offer", freq=440)
    if not check("%s: Chromium creates an offer" % name, ok, "" if ok else res):
        return
    offer = res["sdp"]
    check_sdp("%s: offer is PCMU only with a host candidate on %s" % (name, iface),
              re.search(r"m=audio \d+ UDP/TLS/RTP/SAVPF 0\r\n", offer)
              and any(a == iface and t == "host" for _, a, _, t, _ in candidates(offer)), offer)
    r = ng.command("offer", sdp=offer, call_id=call_id, from_tag="browser",
                   ICE="remove", DTLS="off", transport_protocol="RTP/AVP",
                   flags=["trust-address"], replace=["origin", "session-connection"],
                   **{"rtcp-mux": ["demux"], "SDES": ["off"]})
    sdp_plain = r[b"sdp"].decode()
    check_sdp("%s: SIP side gets plain RTP/AVP" % name, "RTP/AVP " in sdp_plain and "SAVP" not in sdp_plain,
              sdp_plain)
    check("%s: SIP side gets no ICE/DTLS" % name,
          not re.search(r"a=(candidate|ice-ufrag|fingerprint|setup)", sdp_plain))
    plain = PlainEndpoint()
    try:
        plain.dest = (c_addr(sdp_plain), m_port(sdp_plain))
        sdp_browser = answer_toward_browser(ng, call_id, plain.sdp())
        check_sdp("%s: browser gets ICE, DTLS and rtcp-mux" % name,
                  all(a in sdp_browser for a in ("a=ice-ufrag:", "a=candidate:", "a=fingerprint:sha-256",
                                                 "a=rtcp-mux")), sdp_browser)
        check("%s: answer to the browser takes the passive DTLS role" % name, "a=setup:passive" in sdp_browser)
        ok, res = page.call("remote", type="answer", sdp=sdp_browser)
        if not check("%s: Chromium accepts rtpgate's answer (setRemoteDescription)" % name, ok,
                     "" if ok else "Chromium: %s -- SDP: %s" % (res, oneline(sdp_browser))):
            return
        await media_phase(name, page, plain, ng, call_id)
    finally:
        page.call("close", timeout=5)
        plain.sock.close()
        ng.command("delete", call_id=call_id)


class PeerThread:
    """A SIP-side peer whose _run() loop runs in a thread of its own between start() and stop()."""

    running = False
    thread = None

    def start(self):
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def stop(self):
        self.running = False
        if self.thread:
            self.thread.join(2)


class VideoEcho(PeerThread):
    """The SIP side's video m= line: receives RTP on its own port and sends every VP8 packet back
    to the gateway with its own SSRC (what Chromium then decodes is its own camera)."""

    SSRC = 0x0ddba11

    def __init__(self, pt):
        self.pt = pt
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.dest = None
        self.rx_vp8 = self.rx_other = self.tx = 0
        self.running = False
        self.thread = None

    def _run(self):
        while self.running:
            try:
                data = self.sock.recv(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(data) > 12 and data[0] >> 6 == 2 and (data[1] & 0x7f) == self.pt:
                self.rx_vp8 += 1
                if self.dest:
                    self.sock.sendto(data[:8] + struct.pack("!I", self.SSRC) + data[12:], self.dest)
                    self.tx += 1
            else:
                self.rx_other += 1


async def flow_browser_offers_av(ng, page, iface):
    name = "browser offers audio+video (BUNDLE)"
    call_id = "chromium-c-%d" % random.randint(0, 1 << 30)
    ok, res = page.call("offer", freq=440, video=True)
    if not check("%s: Chromium creates an offer" % name, ok, "" if ok else res):
        return
    offer = res["sdp"]
    check_sdp("%s: Chromium bundles audio and video" % name,
              "a=group:BUNDLE 0 1" in offer and re.search(r"m=video \d+ UDP/TLS/RTP/SAVPF", offer), offer)
    vp8 = re.search(r"a=rtpmap:(\d+) VP8/90000", offer)
    if not check_sdp("%s: offer has VP8" % name, vp8, offer):
        return
    pt = int(vp8.group(1))
    r = ng.command("offer", sdp=offer, call_id=call_id, from_tag="browser",
                   ICE="remove", DTLS="off", transport_protocol="RTP/AVP",
                   flags=["trust-address"], replace=["origin", "session-connection"],
                   **{"rtcp-mux": ["demux"], "SDES": ["off"]})
    sdp_plain = r[b"sdp"].decode()
    ports = [int(p) for p in re.findall(r"m=(?:audio|video) (\d+) RTP/AVP ", sdp_plain)]
    check_sdp("%s: SIP side gets two plain m= lines on ports of their own, no BUNDLE" % name,
              len(ports) == 2 and ports[0] != ports[1] and "BUNDLE" not in sdp_plain, sdp_plain)
    if len(ports) != 2:
        return
    plain = PlainEndpoint()
    video = VideoEcho(pt)
    try:
        plain.dest = (c_addr(sdp_plain), ports[0])
        video.dest = (c_addr(sdp_plain), ports[1])
        answer = plain.sdp() + ("m=video %d RTP/AVP %d\r\na=rtpmap:%d VP8/90000\r\na=sendrecv\r\n"
                                % (video.port, pt, pt))
        sdp_browser = answer_toward_browser(ng, call_id, answer)
        bports = [int(p) for p in re.findall(r"m=(?:audio|video) (\d+) UDP/TLS/RTP/SAVPF", sdp_browser)]
        check_sdp("%s: answer bundles both m= lines on one transport" % name,
                  "a=group:BUNDLE 0 1" in sdp_browser and len(bports) == 2 and bports[0] == bports[1]
                  and len(set(re.findall(r"a=ice-ufrag:(\S+)", sdp_browser))) == 1, sdp_browser)
        ok, res = page.call("remote", type="answer", sdp=sdp_browser)
        if not check("%s: Chromium accepts rtpgate's answer (setRemoteDescription)" % name, ok,
                     "" if ok else "Chromium: %s -- SDP: %s" % (res, oneline(sdp_browser))):
            return
        await media_phase(name, page, plain, ng, call_id, video=video)
    finally:
        video.stop()
        page.call("close", timeout=5)
        plain.sock.close()
        video.sock.close()
        ng.command("delete", call_id=call_id)


async def flow_browser_opus_transcoded(ng, page, iface):
    """Chromium offers Opus only (and telephone-event); the SIP side gets PCMU through
    codec-strip-all codec-transcode-PCMU and answers PCMU + telephone-event/8000."""
    name = "browser offers Opus, SIP side PCMU (transcoded)"
    call_id = "chromium-d-%d" % random.randint(0, 1 << 30)
    ok, res = page.call("offer", freq=440, codecs=["opus", "telephone-event"])
    if not check("%s: Chromium creates an offer" % name, ok, "" if ok else res):
        return
    offer = res["sdp"]
    check_sdp("%s: offer is Opus and telephone-event only" % name,
              "opus/48000" in offer and "PCMU" not in offer and "telephone-event" in offer, offer)
    r = ng.command("offer", sdp=offer, call_id=call_id, from_tag="browser",
                   ICE="remove", DTLS="off", transport_protocol="RTP/AVP",
                   flags=["trust-address", "codec-strip-all", "codec-transcode-PCMU",
                          "codec-transcode-telephone-event"],
                   replace=["origin", "session-connection"], **{"rtcp-mux": ["demux"], "SDES": ["off"]})
    sdp_plain = r[b"sdp"].decode()
    check_sdp("%s: SIP side gets PCMU (+ telephone-event/8000), no Opus" % name,
              re.search(r"m=audio \d+ RTP/AVP 0[ \r]", sdp_plain) and "opus" not in sdp_plain.lower()
              and "telephone-event/8000" in sdp_plain, sdp_plain)
    plain = PlainEndpoint()
    try:
        plain.dest = (c_addr(sdp_plain), m_port(sdp_plain))
        answer = plain.sdp().replace("RTP/AVP 0\r\n", "RTP/AVP 0 101\r\n") + \
            "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
        sdp_browser = answer_toward_browser(ng, call_id, answer)
        check_sdp("%s: the browser's answer is Opus" % name,
                  re.search(r"m=audio \d+ UDP/TLS/RTP/SAVPF 111", sdp_browser) and "PCMU" not in sdp_browser,
                  sdp_browser)
        ok, res = page.call("remote", type="answer", sdp=sdp_browser)
        if not check("%s: Chromium accepts rtpgate's answer (setRemoteDescription)" % name, ok,
                     "" if ok else "Chromium: %s -- SDP: %s" % (res, oneline(sdp_browser))):
            return
        await media_phase(name, page, plain, ng, call_id, codec="audio/opus", dtmf="159#")
    finally:
        page.call("close", timeout=5)
        plain.sock.close()
        ng.command("delete", call_id=call_id)


class DtxPhone(PeerThread):
    """The SIP side of flow 6: PCMU + CN (RFC 3389). Sends a 1000 Hz tone from start(), at pause[0]
    (time.time()) one CN packet (noise level 40: -40 dBov) and then nothing until pause[1], then
    the tone again (marker set) until stop(); sequence numbers continue through the CN packet,
    timestamps follow real time. Every packet received is kept with its arrival time (a thread of
    its own, blocking receive, so that arrival gaps are measured to the millisecond)."""

    CN_LEVEL = 40

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.005)
        self.port = self.sock.getsockname()[1]
        self.dest = None
        self.pause = None
        self.rx = []              # (arrival time.time(), pt, marker, seq, ts, payload)
        self.tx = self.tx_cn = 0
        self.running = False
        self.thread = None

    def sdp(self):
        return ("v=0\r\no=- 4343 1 IN IP4 127.0.0.1\r\ns=phone\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                "m=audio %d RTP/AVP 0 13\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:13 CN/8000\r\n"
                "a=ptime:20\r\na=sendrecv\r\n" % self.port)

    def _run(self):
        seq, ts0, ssrc = random.randint(0, 65535), random.randint(0, 1 << 31), random.randint(1, 1 << 31)
        start = time.time()
        slot, cn_sent, marker = 0, False, False
        while self.running:
            now = time.time()
            due = start + slot * 0.02
            if now >= due:
                quiet = self.pause and self.pause[0] <= due < self.pause[1]
                pkt = None
                if quiet and not cn_sent:
                    pkt = struct.pack("!BBHII", 0x80, 13, seq & 0xffff, (ts0 + slot * 160) & 0xffffffff,
                                      ssrc) + bytes([self.CN_LEVEL])
                    cn_sent = marker = True
                    self.tx_cn += 1
                elif not quiet:
                    t = (np.arange(160) + slot * 160) / 8000.0
                    pcm = (8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16).tobytes()
                    pkt = struct.pack("!BBHII", 0x80, 0x80 if marker else 0, seq & 0xffff,
                                      (ts0 + slot * 160) & 0xffffffff, ssrc) + aio.audioop.lin2ulaw(pcm, 2)
                    marker = False
                if pkt is not None and self.dest:
                    try:
                        self.sock.sendto(pkt, self.dest)
                    except OSError:
                        return
                    self.tx += 1
                    seq += 1
                slot += 1
                continue
            self.sock.settimeout(max(0.0005, min(0.005, due - now)))
            try:
                data = self.sock.recv(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(data) >= 12 and data[0] >> 6 == 2:
                self.rx.append((time.time(), data[1] & 0x7f, bool(data[1] & 0x80),
                                struct.unpack("!H", data[2:4])[0], struct.unpack("!I", data[4:8])[0],
                                data[12:]))


def transcoder_packets_in(q, tag):
    """'packets in' of the transcoder of the party `tag`'s first media (what that party sent us)."""
    medias = q.get(b"tags", {}).get(tag.encode(), {}).get(b"medias", [])
    xc = medias[0].get(b"transcoding", {}) if medias else {}
    return xc.get(b"packets in")


async def flow_dtx_cn(ng, page, ng_port):
    """Quiet senders on a transcoded call (rtpgate's gap filling). The SIP side offers PCMU + CN;
    "codec-mask-all codec-transcode-opus" gives the browser Opus only, with usedtx=1 munged into
    the a=fmtp Chromium gets (so that Chromium's Opus encoder uses DTX). For 1.5 s, at the same
    time, Chromium's tone is muted (gain 0: Opus DTX, hardly a packet) and the phone sends one CN
    packet and nothing more. Both receivers must get a continuous stream meanwhile: the phone
    PCMU every 20 ms, contiguous sequence numbers, timestamps one ptime apart; Chromium packets
    at ~50/s (getStats). The tones must be back after the pause."""
    name = "DTX/CN on a transcoded call (Chromium Opus DTX <-> PCMU + CN)"
    call_id = "chromium-f-%d" % random.randint(0, 1 << 30)
    phone = DtxPhone()
    sampler_stop = threading.Event()
    try:
        r = ng.command("offer", sdp=phone.sdp(), call_id=call_id, from_tag="phone",
                       ICE="force", DTLS="passive", transport_protocol="UDP/TLS/RTP/SAVPF",
                       flags=["trust-address", "generate-mid", "codec-mask-all", "codec-transcode-opus"],
                       replace=["origin", "session-connection"],
                       **{"rtcp-mux": ["offer", "require"], "SDES": ["off"]})
        sdp_browser = r[b"sdp"].decode()
        opus = re.search(r"a=rtpmap:(\d+) opus/48000/2", sdp_browser)
        if not check_sdp("%s: the browser is offered Opus only (no PCMU, no CN)" % name,
                         opus and "PCMU" not in sdp_browser and " CN/" not in sdp_browser, sdp_browser):
            return
        pt = opus.group(1)
        fm = re.search(r"a=fmtp:%s ([^\r\n]*)" % pt, sdp_browser)
        if fm:
            munged = sdp_browser.replace(fm.group(0), "a=fmtp:%s %s;usedtx=1" % (pt, fm.group(1)))
        else:
            munged = sdp_browser.replace("a=rtpmap:%s opus/48000/2\r\n" % pt,
                                         "a=rtpmap:%s opus/48000/2\r\na=fmtp:%s usedtx=1\r\n" % (pt, pt))
        ok, res = page.call("answer", sdp=munged, freq=440, codecs=["opus"])
        if not check("%s: Chromium accepts rtpgate's offer (usedtx=1 added) and answers" % name, ok,
                     "" if ok else "Chromium: %s -- SDP: %s" % (res, oneline(munged))):
            return
        answer = res["sdp"]
        check_sdp("%s: Chromium answers Opus without usedtx (rtpgate sends it no DTX)" % name,
                  re.search(r"m=audio \d+ UDP/TLS/RTP/SAVPF %s\r\n" % pt, answer)
                  and "usedtx=1" not in answer, answer)
        r = ng.command("answer", sdp=answer, call_id=call_id, from_tag="phone", to_tag="browser",
                       ICE="remove", transport_protocol="RTP/AVP", replace=["origin", "session-connection"],
                       **{"rtcp-mux": ["demux"]})
        sdp_plain = r[b"sdp"].decode()
        check_sdp("%s: the phone's answer is PCMU and keeps its CN (RTP/AVP 0 13, CN/8000)" % name,
                  re.search(r"m=audio \d+ RTP/AVP 0 13\r\n", sdp_plain) and "a=rtpmap:13 CN/8000" in sdp_plain
                  and "opus" not in sdp_plain.lower(), sdp_plain)
        phone.dest = (c_addr(sdp_plain), m_port(sdp_plain))
        phone.start()
        # ICE + DTLS: wait for Chromium's audio at the phone
        end = time.monotonic() + min(10, remaining())
        while time.monotonic() < end and sum(1 for p in phone.rx if p[1] == 0) < 25:
            await asyncio.sleep(0.05)
        if not check("%s: media flows (the phone gets PCMU from Chromium)" % name,
                     sum(1 for p in phone.rx if p[1] == 0) >= 25, "%d packets" % len(phone.rx)):
            return
        # 0.5 s more of the tone both ways, then 1.5 s of quiet (both directions), then 1.5 s tone
        t0 = time.time() + 0.5
        p0, p1, t_end = t0, t0 + 1.5, t0 + 3.0
        phone.pause = (p0, p1)
        # what rtpgate got from Chromium, over time (NG query on a socket of its own)
        xc_in = []

        def sample():
            ng2 = NGClient("127.0.0.1", ng_port, timeout=1.0)
            while not sampler_stop.is_set() and time.time() < t_end + 0.2:
                try:
                    n = transcoder_packets_in(ng2.query(call_id), "browser")
                except Exception:       # a lost reply: next time
                    n = None
                if n is not None:
                    xc_in.append((time.time(), n))
                sampler_stop.wait(0.05)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        ok, res = await in_thread(lambda: page.call(
            "timeline", timeout=t_end - time.time() + 10, until=t_end * 1000, interval=100,
            pauses=[[p0 * 1000, p1 * 1000]],
            windows=[[(p0 - 0.5) * 1000, p0 * 1000], [(p1 + 0.4) * 1000, t_end * 1000]]))
        await asyncio.sleep(max(0, t_end + 0.25 - time.time()))
        sampler_stop.set()
        sampler.join(2)
        phone.stop()

        # ---- Chromium (Opus DTX) -> rtpgate -> phone (PCMU) ----
        rx = [p for p in phone.rx if t0 - 0.3 <= p[0] <= t_end]
        other = [p for p in rx if p[1] != 0]
        rx = [p for p in rx if p[1] == 0]
        check("%s: the phone gets only PCMU (PT 0)" % name, not other and len(rx) > 100,
              "%d PCMU, %d other (PT %s)" % (len(rx), len(other), sorted({p[1] for p in other})))
        if len(rx) < 20:
            return
        pcm = [np.frombuffer(aio.audioop.ulaw2lin(p[5], 2), dtype=np.int16) for p in rx]
        rms = [float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if len(x) else 0.0 for x in pcm]
        # the quiet stretch: the longest run of packets far below the tone (~6000 RMS)
        best, cur = (0, 0), None
        for i, v in enumerate(rms + [1e9]):
            if v < 300:
                cur = i if cur is None else cur
            elif cur is not None:
                if i - cur > best[1] - best[0]:
                    best = (cur, i)
                cur = None
        q0, q1 = best
        qdur = rx[q1 - 1][0] - rx[q0][0] if q1 > q0 else 0
        check("%s: the phone hears Chromium's 1.5 s pause (quiet PCMU packets)" % name,
              1.2 <= qdur <= 1.9, "%d quiet packets over %.2f s (RMS of the pause %.0f, of the tone %.0f)"
              % (q1 - q0, qdur, float(np.median(rms[q0:q1])) if q1 > q0 else -1,
                 float(np.median(rms[:q0] or [0]))))
        gaps = [(b[0] - a[0]) for a, b in zip(rx, rx[1:])]
        mg = max(gaps)
        ig = gaps.index(mg)
        check("%s: the phone's stream has no hole (max inter-arrival gap < 100 ms)" % name, mg < 0.1,
              "max gap %.0f ms at %+.2f s from the pause; %d packets in %.2f s"
              % (mg * 1000, rx[ig][0] - p0, len(rx), rx[-1][0] - rx[0][0]))
        seqerr = [(a[3], b[3]) for a, b in zip(rx, rx[1:]) if (b[3] - a[3]) & 0xffff != 1]
        check("%s: sequence numbers contiguous" % name, not seqerr,
              "%d breaks, first %s" % (len(seqerr), seqerr[:3]))
        tserr = [((b[4] - a[4]) & 0xffffffff, round(b[0] - p0, 2)) for a, b in zip(rx, rx[1:])
                 if (b[4] - a[4]) & 0xffffffff != 160]
        check("%s: every timestamp step is 160 (one 20 ms ptime)" % name, not tserr,
              "%d other steps (step, s from the pause): %s" % (len(tserr), tserr[:6]))
        if q1 > q0:
            w0, w1 = rx[q0][0] + 0.3, rx[q1 - 1][0] - 0.1
        else:
            w0, w1 = p0 + 0.4, p1 - 0.1
        to_phone = sum(1 for p in rx if w0 <= p[0] <= w1)

        def delta(series, a, b):
            before = [n for t, n in series if t <= a]
            after = [n for t, n in series if t >= b]
            return (after[0] - before[-1]) if before and after else None
        from_chromium = delta(xc_in, w0, w1)
        tl = res.get("samples", []) if ok else []
        sent = delta([(s_["t"] / 1000, s_["sent"]) for s_ in tl], w0, w1)
        check("%s: Chromium sends (almost) nothing in the pause (DTX), the phone still gets ~50/s" % name,
              from_chromium is not None and to_phone >= 0.85 * 50 * (w1 - w0) and from_chromium <= 0.3 * to_phone,
              "over %.2f s: rtpgate got %s packets from Chromium (NG query 'packets in'; getStats "
              "packetsSent +%s), sent %d to the phone" % (w1 - w0, from_chromium, sent, to_phone))
        before = np.concatenate(pcm[max(0, q0 - 25):q0]) if q0 > 5 else np.zeros(0, np.int16)
        after = np.concatenate(pcm[q1 + 5:q1 + 40]) if len(pcm) > q1 + 10 else np.zeros(0, np.int16)
        fb, fa = dominant_freq(before, 8000), dominant_freq(after, 8000)
        check("%s: the phone hears Chromium's 440 Hz before and after the pause" % name,
              abs(fb - 440) < 15 and abs(fa - 440) < 15, "%.1f Hz before, %.1f Hz after" % (fb, fa))

        # ---- phone (PCMU, CN, nothing) -> rtpgate -> Chromium (Opus) ----
        if not check("%s: page sampled getStats over the call" % name, ok and tl, "" if ok else str(res)):
            return
        check("%s: the phone sent one CN packet, nothing else in the pause" % name, phone.tx_cn == 1,
              "%d CN packets, %d packets in all" % (phone.tx_cn, phone.tx))
        a, b = p0 + 0.2, p1 - 0.05
        got = delta([(s_["t"] / 1000, s_["recv"]) for s_ in tl], a, b)
        ta = [s_["t"] for s_ in tl if s_["t"] / 1000 <= a]
        tb = [s_["t"] for s_ in tl if s_["t"] / 1000 >= b]
        span = (tb[0] - ta[-1]) / 1000 if ta and tb else 0
        rate = got / span if got is not None and span else 0
        conc = delta([(s_["t"] / 1000, s_["concealed"]) for s_ in tl], a, b)
        samp = delta([(s_["t"] / 1000, s_["samplesReceived"]) for s_ in tl], a, b)
        check("%s: Chromium keeps receiving ~50 packets/s while the phone is quiet" % name,
              40 <= rate <= 60, "packetsReceived +%s in %.2f s = %.1f/s; totalSamplesReceived +%s, "
              "concealedSamples +%s" % (got, span, rate, samp, conc))
        check("%s: Chromium hardly conceals in the pause (it gets comfort noise)" % name,
              samp and conc is not None and conc <= 0.2 * samp, "concealed %s of %s samples" % (conc, samp))
        # the noise level rtpgate makes from the CN packet (-40 dBov), as Chromium plays it out
        lv = [s_["level"] for s_ in tl if a + 0.2 <= s_["t"] / 1000 <= b]
        db = 20 * np.log10(max(float(np.median(lv or [0])), 1e-9))
        check("%s: Chromium plays comfort noise in the pause (about -40 dBFS)" % name, -55 < db < -30,
              "median RMS level %.1f dBFS" % db)
        freqs = res.get("freqs", [0, 0])
        check("%s: Chromium hears the phone's 1000 Hz before and after the pause" % name,
              abs(freqs[0] - 1000) < 20 and abs(freqs[1] - 1000) < 20,
              "%.1f Hz before, %.1f Hz after" % (freqs[0], freqs[1]))
        q = ng.query(call_id)
        print("# %s: phone -> Chromium: transcoding %s; Chromium -> phone: %s" % (
            name, q[b"tags"][b"phone"][b"medias"][0].get(b"transcoding"),
            q[b"tags"][b"browser"][b"medias"][0].get(b"transcoding")), flush=True)
    finally:
        sampler_stop.set()
        phone.stop()
        page.call("close", timeout=5)
        phone.sock.close()
        ng.command("delete", call_id=call_id)


def g722_tone(freq, frames):
    """`frames` G.722 payloads (20 ms, 16 kHz PCM) of a sine at freq, -12 dBFS, by rg_audio_tool;
    (payloads, None) or (None, why)."""
    t = np.arange(frames * 320) / 16000.0
    pcm = (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16).tobytes()
    recs = [pcm[i:i + 640] for i in range(0, len(pcm), 640)]
    try:
        out, err, rc = audio_tool("encode", "G722/8000", None, recs)
    except OSError as e:
        return None, "%s: %s" % (audio_tool_path(), e)
    if rc != 0 or len(out) != frames or not all(out):
        return None, "rg_audio_tool encode G722/8000: exit %d, %d of %d payloads: %s" % (
            rc, len(out), frames, err)
    return out, None


class SwitchPhone(PlainEndpoint):
    """A SIP phone that answered PCMU and G.722 (RFC 3264 5.1: it may send either): PCMU 1000 Hz
    until switch_at s after start, then G.722 (payload type 9) 1500 Hz; one SSRC, sequence numbers
    and timestamps (both clocks 8000) going on across the switch (PlainEndpoint.run)."""

    def __init__(self, g722_payloads, switch_at):
        super().__init__()
        self.g722 = g722_payloads
        self.switch_at = switch_at
        self.tx_g722 = 0

    def sdp(self, version=1):
        return ("v=0\r\no=- 4444 %d IN IP4 127.0.0.1\r\ns=phone\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                "m=audio %d RTP/AVP 0 9\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:9 G722/8000\r\n"
                "a=ptime:20\r\na=sendrecv\r\n" % (version, self.port))

    def payload(self, i):
        if i >= int(self.switch_at / 0.02) and self.tx_g722 < len(self.g722):
            self.tx_g722 += 1
            return 9, self.g722[self.tx_g722 - 1]
        return super().payload(i)


async def flow_switch_passthrough(ng, page):
    """Chromium offers Opus and G.722; "codec-mask-all codec-transcode-PCMU codec-transcode-G722"
    gives the SIP side PCMU and G.722 only; the phone answers both (PCMU first). rtpgate answers
    Chromium Opus first and G.722 after it, as rtpengine does. The phone sends PCMU 1000 Hz, then
    switches to G.722 1500 Hz: the PCMU is transcoded to Opus, the G.722 passed through unchanged
    in the same output stream (one SSRC; its timestamps, clock 8000, moved onto the Opus stream's).
    Chromium must play both tones, the second from G.722 (getStats codec) without concealing it."""
    name = "SIP side switches PCMU -> G.722 (Opus, then G.722 passed through to Chromium)"
    call_id = "chromium-g-%d" % random.randint(0, 1 << 30)
    switch_at, seconds = 3.5, 7.0
    g722, why = g722_tone(1500, int((seconds - switch_at) / 0.02) + 5)
    if not check("%s: the phone's G.722 payloads (rg_audio_tool)" % name, g722 is not None, why or ""):
        return
    ok, res = page.call("offer", freq=440, codecs=["opus", "G722"])
    if not check("%s: Chromium creates an offer" % name, ok, "" if ok else res):
        return
    offer = res["sdp"]
    check_sdp("%s: offer is Opus and G.722 only" % name,
              "opus/48000" in offer and "G722/8000" in offer and "PCMU" not in offer, offer)
    r = ng.command("offer", sdp=offer, call_id=call_id, from_tag="browser",
                   ICE="remove", DTLS="off", transport_protocol="RTP/AVP",
                   flags=["trust-address", "codec-mask-all", "codec-transcode-PCMU", "codec-transcode-G722"],
                   replace=["origin", "session-connection"], **{"rtcp-mux": ["demux"], "SDES": ["off"]})
    sdp_plain = r[b"sdp"].decode()
    check_sdp("%s: SIP side gets PCMU and G.722, no Opus" % name,
              re.search(r"m=audio \d+ RTP/AVP 0 9\r\n", sdp_plain) and "opus" not in sdp_plain.lower(),
              sdp_plain)
    phone = SwitchPhone(g722, switch_at)
    try:
        phone.dest = (c_addr(sdp_plain), m_port(sdp_plain))
        sdp_browser = answer_toward_browser(ng, call_id, phone.sdp())
        opus = re.search(r"a=rtpmap:(\d+) opus/48000/2", sdp_browser)
        check_sdp("%s: Chromium's answer is Opus, then G.722" % name,
                  opus and re.search(r"m=audio \d+ UDP/TLS/RTP/SAVPF %s 9\r\n" % opus.group(1), sdp_browser)
                  and "a=rtpmap:9 G722/8000" in sdp_browser, sdp_browser)
        ok, res = page.call("remote", type="answer", sdp=sdp_browser)
        if not check("%s: Chromium accepts rtpgate's answer (setRemoteDescription)" % name, ok,
                     "" if ok else "Chromium: %s -- SDP: %s" % (res, oneline(sdp_browser))):
            return
        send = asyncio.ensure_future(phone.run(seconds))
        await asyncio.sleep(0.05)
        t0 = phone.started or time.time()
        sw, t_end = t0 + switch_at, t0 + seconds - 0.1
        ok, res = await in_thread(lambda: page.call(
            "timeline", timeout=t_end - time.time() + 10, until=t_end * 1000, interval=100,
            windows=[[(sw - 1.5) * 1000, (sw - 0.1) * 1000], [(sw + 0.6) * 1000, t_end * 1000]]))
        await send

        pcm = np.frombuffer(bytes(phone.received), dtype=np.int16)
        f = dominant_freq(pcm[8000:], 8000) if len(pcm) > 16000 else 0
        check("%s: the phone gets PCMU from Chromium, 440 Hz (Opus transcoded)" % name,
              phone.rx_packets > 150 and abs(f - 440) < 15,
              "%d PCMU packets, %.1f Hz, %d other (PT %s)" % (phone.rx_packets, f, len(phone.other),
                                                           sorted({o[0] for o in phone.other})))
        if not check("%s: page sampled the call (timeline)" % name, ok, "" if ok else str(res)):
            return
        freqs, peaks = res.get("freqs", [0, 0]), res.get("peaks", [0, 0])
        check("%s: Chromium hears 1000 Hz (PCMU -> Opus) before the switch and 1500 Hz (G.722) after" % name,
              abs(freqs[0] - 1000) < 20 and abs(freqs[1] - 1500) < 25 and min(peaks) > 0.05,
              "%.1f Hz before, %.1f Hz after (peaks %.3f, %.3f); the phone sent %d G.722 packets of %d"
              % (freqs[0], freqs[1], peaks[0], peaks[1], phone.tx_g722, phone.tx_packets))
        tl = res.get("samples", [])
        a = [s_ for s_ in tl if s_["t"] / 1000 >= sw + 0.6]
        conc = a[-1]["concealed"] - a[0]["concealed"] if len(a) > 1 else None
        samp = a[-1]["samplesReceived"] - a[0]["samplesReceived"] if len(a) > 1 else None
        recv = a[-1]["recv"] - a[0]["recv"] if len(a) > 1 else None
        span = (a[-1]["t"] - a[0]["t"]) / 1000 if len(a) > 1 else 0
        check("%s: after the switch Chromium receives ~50 packets/s and hardly conceals" % name,
              samp and span and 40 <= recv / span <= 60 and conc <= 0.05 * samp,
              "packetsReceived +%s in %.2f s, concealed %s of %s samples" % (recv, span, conc, samp))
        stats = res.get("stats", [])
        codecs = {s_.get("id"): s_ for s_ in stats_of(stats, "codec")}
        inb = [s_ for s_ in stats_of(stats, "inbound-rtp") if s_.get("kind", "audio") == "audio"]
        used = sorted({codecs.get(s_.get("codecId"), {}).get("mimeType", "?") for s_ in inb})
        check("%s: Chromium decodes G.722 at the end (getStats inbound-rtp codec)" % name,
              used == ["audio/G722"], ",".join(used) + "; %d inbound-rtp" % len(inb))
        q = ng.query(call_id)
        xc = q.get(b"tags", {}).get(b"phone", {}).get(b"medias", [{}])[0].get(b"transcoding", {})
        passed, switches = xc.get(b"packets passed through", 0), xc.get(b"codec switches", 0)
        check("%s: rtpgate switched once and passed the G.722 through (NG query)" % name,
              switches == 1 and passed >= 0.9 * phone.tx_g722 and phone.tx_g722 > 100,
              "codec switches %s, packets passed through %s of %d G.722 sent; also from %s"
              % (switches, passed, phone.tx_g722, xc.get(b"also from")))
    finally:
        page.call("close", timeout=5)
        phone.sock.close()
        ng.command("delete", call_id=call_id)


async def flow_plain_offers_av(ng, page):
    """The SIP side offers audio + video: the browser gets them on one transport (a=group:BUNDLE,
    which max-bundle browsers require); Chromium answers bundled, audio flows both ways."""
    name = "SIP offers audio+video (BUNDLE toward the browser)"
    call_id = "chromium-e-%d" % random.randint(0, 1 << 30)
    plain = PlainEndpoint()
    try:
        offer = plain.sdp() + "m=video %d RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\na=sendrecv\r\n" % (plain.port + 2)
        r = ng.command("offer", sdp=offer, call_id=call_id, from_tag="phone",
                       ICE="force", DTLS="passive", transport_protocol="UDP/TLS/RTP/SAVPF",
                       flags=["trust-address", "generate-mid"], replace=["origin", "session-connection"],
                       **{"rtcp-mux": ["offer", "require"], "SDES": ["off"]})
        sdp_browser = r[b"sdp"].decode()
        ports = re.findall(r"m=(?:audio|video) (\d+) UDP/TLS/RTP/SAVPF", sdp_browser)
        check_sdp("%s: the browser's offer bundles audio and video on one transport" % name,
                  "a=group:BUNDLE 0 1" in sdp_browser and len(ports) == 2 and ports[0] == ports[1], sdp_browser)
        ok, res = page.call("answer", sdp=sdp_browser, freq=440)
        if not check("%s: Chromium accepts rtpgate's offer and answers" % name, ok,
                     "" if ok else "Chromium: %s -- SDP: %s" % (res, oneline(sdp_browser))):
            return
        answer = res["sdp"]
        check_sdp("%s: Chromium's answer is bundled" % name, "a=group:BUNDLE 0 1" in answer, answer)
        r = ng.command("answer", sdp=answer, call_id=call_id, from_tag="phone", to_tag="browser",
                       ICE="remove", transport_protocol="RTP/AVP", replace=["origin", "session-connection"],
                       **{"rtcp-mux": ["demux"]})
        check("%s: no warning in rtpgate's answer reply" % name, b"warning" not in r,
              str(r.get(b"warning")))
        sdp_plain = r[b"sdp"].decode()
        plain.dest = (c_addr(sdp_plain), m_port(sdp_plain))
        await media_phase(name, page, plain, ng, call_id)
    finally:
        page.call("close", timeout=5)
        plain.sock.close()
        ng.command("delete", call_id=call_id)


async def flow_plain_offers(ng, page):
    name = "SIP offers"
    call_id = "chromium-b-%d" % random.randint(0, 1 << 30)
    plain = PlainEndpoint()
    try:
        r = ng.command("offer", sdp=plain.sdp(), call_id=call_id, from_tag="phone",
                       ICE="force", DTLS="passive", transport_protocol="UDP/TLS/RTP/SAVPF",
                       flags=["trust-address", "generate-mid"], replace=["origin", "session-connection"],
                       **{"rtcp-mux": ["offer", "require"], "SDES": ["off"]})
        sdp_browser = r[b"sdp"].decode()
        check_sdp("%s: browser gets UDP/TLS/RTP/SAVPF with ICE and a fingerprint" % name,
                  "UDP/TLS/RTP/SAVPF" in sdp_browser and "a=candidate:" in sdp_browser
                  and "a=fingerprint:" in sdp_browser, sdp_browser)
        ok, res = page.call("answer", sdp=sdp_browser, freq=440)
        if not check("%s: Chromium accepts rtpgate's offer and answers" % name, ok,
                     "" if ok else "Chromium: %s -- SDP: %s" % (res, oneline(sdp_browser))):
            return
        answer = res["sdp"]
        check_sdp("%s: Chromium's answer is PCMU with the active DTLS role" % name,
                  re.search(r"m=audio \d+ UDP/TLS/RTP/SAVPF 0\r\n", answer) and "a=setup:active" in answer,
                  answer)
        r = ng.command("answer", sdp=answer, call_id=call_id, from_tag="phone", to_tag="browser",
                       ICE="remove", transport_protocol="RTP/AVP", replace=["origin", "session-connection"],
                       **{"rtcp-mux": ["demux"]})
        sdp_plain = r[b"sdp"].decode()
        check_sdp("%s: SIP side gets plain RTP/AVP" % name,
                  "RTP/AVP " in sdp_plain and "fingerprint" not in sdp_plain, sdp_plain)
        plain.dest = (c_addr(sdp_plain), m_port(sdp_plain))
        await media_phase(name, page, plain, ng, call_id)
    finally:
        page.call("close", timeout=5)
        plain.sock.close()
        ng.command("delete", call_id=call_id)


def free_ng_port():
    # below the ephemeral range (32768+)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for _ in range(100):
            port = random.randint(20000, 24999)
            try:
                probe.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    finally:
        probe.close()
    return 22223


def tail(path, n=60):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError as e:
        return "(%s)\n" % e


class Abort(Exception):
    pass


def on_signal(signum, frame):
    # Chromium and rtpgate run in their own sessions: unwind through the finally below so that
    # they are stopped even when meson times out (SIGTERM) or the run overstays (SIGALRM)
    raise Abort("signal %d" % signum)


def main():
    rg_bin = os.environ.get("RG_BIN", "build/gateway/rtpgate")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    signal.alarm(max(1, int(remaining()) + 2))      # backstop, see DEADLINE
    unknown = [f for f in FLOWS if f not in ("1", "2", "3", "4", "5", "6", "7")]
    if unknown or not FLOWS:
        check("RG_FLOWS names flows 1-7", False, "RG_FLOWS=%r" % os.environ.get("RG_FLOWS"))
        return 1
    chromium = find_chromium()
    if not chromium:
        if os.environ.get("RG_ALLOW_SKIP") == "1":
            print("SKIP: chromium not installed")
            return 77
        check("chromium installed (apt-get install chromium)", False)
        return 1

    work = tempfile.mkdtemp(prefix="rg-chromium-")
    page_log = os.path.join(work, "page.log")
    rg_log = os.path.join(work, "rtpgate.log")
    page = browser = daemon = None
    ok = False
    try:
        page = PageChannel(page_log)
        browser = start_chromium(chromium, page.url(), work)
        loaded = page.polled.wait(min(30, remaining()))
        if not check("Chromium loads the test page", loaded, "" if loaded else "no request for %s" % page.url()):
            return 1
        ok_p, res = page.call("probe", timeout=10)
        if not check("Chromium gathers ICE candidates", ok_p, "" if ok_p else res):
            return 1
        print("# %s" % res.get("userAgent"), flush=True)
        iface = pick_interface(res["sdp"])
        if not check("Chromium offers a non-mDNS IPv4 UDP host candidate", iface,
                     "candidates: %s" % ", ".join("%s %s:%d %s" % c[:4] for c in candidates(res["sdp"]))):
            return 1
        print("# rtpgate media interface: %s (Chromium's host candidate address)" % iface, flush=True)

        ng_port = free_ng_port()
        pmin = random.randrange(25000, 29600, 2)
        with open(rg_log, "wb") as log:
            daemon = subprocess.Popen([rg_bin, "--config-file=none", "--foreground", "--log-stderr",
                                       "--log-level=7", "--interface=" + iface,
                                       "--listen-ng=127.0.0.1:%d" % ng_port,
                                       "--listen-rtpproxy=udp:127.0.0.1:%d" % (ng_port + 1),
                                       "--port-min=%d" % pmin, "--port-max=%d" % (pmin + 200),
                                       "--delete-delay=0"],
                                      stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        ng = NGClient("127.0.0.1", ng_port, timeout=3.0)
        if not check("daemon answers ping", ng.wait_ready(10)):
            return 1
        flows = {"1": lambda: flow_browser_offers(ng, page, iface),
                 "2": lambda: flow_plain_offers(ng, page),
                 "3": lambda: flow_browser_offers_av(ng, page, iface),
                 "4": lambda: flow_browser_opus_transcoded(ng, page, iface),
                 "5": lambda: flow_plain_offers_av(ng, page),
                 "6": lambda: flow_dtx_cn(ng, page, ng_port),
                 "7": lambda: flow_switch_passthrough(ng, page)}
        for f in FLOWS:
            asyncio.run(asyncio.wait_for(flows[f](), min(35, remaining())))
        check("daemon still running", daemon.poll() is None)
        check("Chromium still running", browser.poll() is None)
        ok = all(aio.RESULTS)
    except Exception as e:  # a crash of the test is a failure with its reason
        import traceback
        traceback.print_exc()
        check("test ran to the end", False, repr(e))
    finally:
        if page:
            page.close()
        stop_group(browser)
        if daemon:
            stop_group(daemon, timeout=10)
        keep = not ok or os.environ.get("RG_KEEP_TMP") == "1"
        if not ok:
            print("---- page console ----")
            print(tail(page_log, 40))
            print("---- rtpgate log (tail) ----")
            print(tail(rg_log, 80))
            print("---- chromium log (tail) ----")
            print(tail(os.path.join(work, "chromium.log"), 30))
        for d in os.listdir(work):          # Chromium's profile is of no use afterwards
            if d.startswith("profile-"):
                shutil.rmtree(os.path.join(work, d), ignore_errors=True)
        if keep:
            print("# work directory kept: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
        print("%d passed, %d failed" % (sum(aio.RESULTS), len(aio.RESULTS) - sum(aio.RESULTS)), flush=True)
        signal.alarm(0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
