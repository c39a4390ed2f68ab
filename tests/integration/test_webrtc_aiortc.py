#!/usr/bin/python3
"""WebRTC <-> plain RTP through rtpgate, with aiortc (Debian python3-aiortc) as the browser.

Calls set up over NG exactly as Kamailio's rtpengine module would:
  1. aiortc offers (ICE, DTLS-SRTP, rtcp-mux); flags toward the SIP side
     "ICE=remove RTP/AVP rtcp-mux-demux DTLS=off SDES-off replace-origin replace-session-connection";
     a plain RTP endpoint in this test answers with PCMU.
  2. the plain endpoint offers PCMU; flags toward the browser
     "ICE=force UDP/TLS/RTP/SAVPF DTLS=passive rtcp-mux-offer rtcp-mux-require SDES-off ...";
     aiortc answers.
  3. transcoding: aiortc offers Opus only, the SIP side answers PCMU only; offer flags as in 1 plus
     codec {strip: [all], transcode: [PCMU]} (Kamailio's codec-strip-all codec-transcode-PCMU).
  4. transcoding the other way: the plain side offers PCMU with codec-transcode-opus toward the
     browser, which answers Opus only.
(plus ICE-lite and wrong-fingerprint variants). In each, each side sends a tone (aiortc 440 Hz, the plain side 1000 Hz as PCMU) and the test decodes
what arrives on the other side and checks its frequency. Exit 0 when every check passed.
Run: RG_BIN=build/gateway/rtpgate /usr/bin/python3 tests/integration/test_webrtc_aiortc.py
"""
import asyncio
import audioop
import fractions
import math
import os
import random
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ngclient import NGClient  # noqa: E402

from aiortc import RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.mediastreams import MediaStreamTrack  # noqa: E402
import av  # noqa: E402

RESULTS = []


def check(name, ok, detail=""):
    RESULTS.append(bool(ok))
    print("%s %s%s" % ("PASS" if ok else "FAIL", name, (": " + detail) if detail else ""), flush=True)
    return ok


def dominant_freq(samples, rate):
    x = np.asarray(samples, dtype=np.float64)
    if len(x) < rate // 10:
        return 0.0
    x = x - x.mean()
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    k = int(np.argmax(spec[1:])) + 1
    return k * rate / len(x)


class ToneTrack(MediaStreamTrack):
    """A 48 kHz mono sine, 20 ms frames, paced in real time."""
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


class PlainEndpoint:
    """A SIP phone's media: PCMU RTP over a UDP socket, 1000 Hz tone out, PCM collected in."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.dest = None
        self.received = bytearray()
        self.rx_packets = 0
        self.tx_packets = 0
        self.other = []
        self.started = None       # time.time() when run() began

    def sdp(self, version=1):
        return ("v=0\r\no=- 4242 %d IN IP4 127.0.0.1\r\ns=phone\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n" % (version, self.port))

    def payload(self, i):
        """(payload type, payload) of the i-th 20 ms packet: PCMU, 1000 Hz"""
        t = (np.arange(160) + i * 160) / 8000.0
        pcm = (8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16).tobytes()
        return 0, audioop.lin2ulaw(pcm, 2)

    async def run(self, seconds):
        seq, ts, ssrc = random.randint(0, 65535), random.randint(0, 1 << 31), random.randint(1, 1 << 31)
        start = self.started = time.time()
        i = 0
        while time.time() - start < seconds:
            pt, payload = self.payload(i)
            pkt = struct.pack("!BBHII", 0x80, pt, seq & 0xffff, ts & 0xffffffff, ssrc) + payload
            if self.dest:
                self.sock.sendto(pkt, self.dest)
                self.tx_packets += 1
            seq += 1
            ts += 160
            i += 1
            try:
                while True:
                    data = self.sock.recv(2048)
                    if len(data) > 12 and (data[1] & 0x7f) == 0:
                        self.rx_packets += 1
                        self.received += audioop.ulaw2lin(data[12:], 2)
                    elif len(data) >= 16:      # telephone-event etc.: (pt, marker, ts, payload)
                        self.other.append((data[1] & 0x7f, bool(data[1] & 0x80),
                                           struct.unpack("!I", data[4:8])[0], data[12:]))
            except BlockingIOError:
                pass
            await asyncio.sleep(max(0, start + i * 0.02 - time.time()))


def m_port(sdp):
    return int(re.search(r"m=audio (\d+)", sdp).group(1))


def c_addr(sdp):
    return re.findall(r"c=IN IP[46] (\S+)", sdp)[-1]


async def collect_track(track, into, seconds):
    end = time.time() + seconds
    while time.time() < end:
        try:
            frame = await asyncio.wait_for(track.recv(), timeout=1.0)
        except (asyncio.TimeoutError, Exception):
            continue
        arr = frame.to_ndarray().reshape(-1)
        if frame.layout.name == "stereo":
            arr = arr[::2]
        into.append((frame.sample_rate, arr))


def codec_only(pc, mime):
    from aiortc.rtcrtpsender import RTCRtpSender
    caps = RTCRtpSender.getCapabilities("audio")
    prefs = [c for c in caps.codecs if c.mimeType.lower() == mime]
    for t in pc.getTransceivers():
        t.setCodecPreferences(prefs)


def pcmu_only(pc):
    codec_only(pc, "audio/pcmu")


def m_formats(sdp):
    return re.search(r"m=audio \d+ \S+ ([^\r\n]*)", sdp).group(1).split()


def rtpmaps(sdp):
    return dict(re.findall(r"a=rtpmap:(\d+) ([^\r\n]+)", sdp))


async def media_phase(name, pc, plain, ng, call_id, seconds=4.0):
    got = []
    tracks = [t.receiver.track for t in pc.getTransceivers() if t.receiver.track]
    tasks = [asyncio.ensure_future(plain.run(seconds))]
    if tracks:
        tasks.append(asyncio.ensure_future(collect_track(tracks[0], got, seconds)))
    await asyncio.gather(*tasks)
    # browser -> plain: 440 Hz arrived as PCMU
    pcm = np.frombuffer(bytes(plain.received), dtype=np.int16)
    f = dominant_freq(pcm[4000:], 8000) if len(pcm) > 8000 else 0
    check("%s: plain side received RTP from the WebRTC side" % name, plain.rx_packets > 100,
          "%d packets" % plain.rx_packets)
    check("%s: plain side hears the browser's 440 Hz" % name, abs(f - 440) < 15, "%.1f Hz" % f)
    # plain -> browser: 1000 Hz arrived through SRTP
    if got:
        rate = got[0][0]
        pcm2 = np.concatenate([a for _, a in got])
        f2 = dominant_freq(pcm2[rate // 2:], rate)
    else:
        f2 = 0
    check("%s: browser hears the plain side's 1000 Hz" % name, abs(f2 - 1000) < 20, "%.1f Hz" % f2)
    q = ng.query(call_id)
    tot = q.get(b"totals", {}).get(b"RTP", {})
    check("%s: NG query counts RTP both ways" % name, tot.get(b"packets", 0) > 200,
          "%s packets" % tot.get(b"packets"))


async def flow_browser_offers(ng):
    name = "browser offers"
    call_id = "webrtc-a-%d" % random.randint(0, 1 << 30)
    pc = RTCPeerConnection()
    pc.addTrack(ToneTrack(440))
    pcmu_only(pc)
    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription.sdp
    r = ng.command("offer", sdp=offer, call_id=call_id, from_tag="browser",
                   ICE="remove", DTLS="off", transport_protocol="RTP/AVP",
                   flags=["trust-address"], replace=["origin", "session-connection"],
                   **{"rtcp-mux": ["demux"], "SDES": ["off"]})
    sdp_plain = r[b"sdp"].decode()
    check("%s: SIP side gets plain RTP/AVP" % name, "RTP/AVP " in sdp_plain and "SAVP" not in sdp_plain)
    check("%s: SIP side gets no ICE/DTLS" % name,
          not re.search(r"a=(candidate|ice-ufrag|fingerprint|setup)", sdp_plain))
    plain = PlainEndpoint()
    plain.dest = (c_addr(sdp_plain), m_port(sdp_plain))
    r = ng.command("answer", sdp=plain.sdp(), call_id=call_id, from_tag="browser", to_tag="phone",
                   ICE="force", transport_protocol="UDP/TLS/RTP/SAVPF", replace=["origin", "session-connection"],
                   **{"rtcp-mux": ["require"]})
    sdp_browser = r[b"sdp"].decode()
    check("%s: browser gets ICE, DTLS and rtcp-mux" % name,
          all(a in sdp_browser for a in ("a=ice-ufrag:", "a=candidate:", "a=fingerprint:sha-256", "a=rtcp-mux")),
          sdp_browser.replace("\r\n", " | "))
    check("%s: answer to the browser takes the passive DTLS role" % name, "a=setup:passive" in sdp_browser)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp_browser, type="answer"))
    await media_phase(name, pc, plain, ng, call_id)
    await pc.close()
    ng.command("delete", call_id=call_id)


async def flow_plain_offers(ng, lite=False):
    name = "SIP offers" + (" (ICE-lite)" if lite else "")
    call_id = "webrtc-b-%d" % random.randint(0, 1 << 30)
    plain = PlainEndpoint()
    extra = {"ICE-lite": "forward"} if lite else {}
    r = ng.command("offer", sdp=plain.sdp(), call_id=call_id, from_tag="phone",
                   ICE="force", DTLS="passive", transport_protocol="UDP/TLS/RTP/SAVPF",
                   flags=["trust-address", "generate-mid"], replace=["origin", "session-connection"],
                   **{"rtcp-mux": ["offer", "require"], "SDES": ["off"]}, **extra)
    sdp_browser = r[b"sdp"].decode()
    check("%s: offer says actpass (the answer decides who is DTLS client)" % name, "a=setup:actpass" in sdp_browser)
    check("%s: a=ice-lite exactly when asked for" % name, ("a=ice-lite" in sdp_browser) == lite)
    check("%s: browser gets UDP/TLS/RTP/SAVPF with ICE and a fingerprint" % name,
          "UDP/TLS/RTP/SAVPF" in sdp_browser and "a=candidate:" in sdp_browser and "a=fingerprint:" in sdp_browser,
          sdp_browser.replace("\r\n", " | "))
    pc = RTCPeerConnection()
    await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp_browser, type="offer"))
    for t in pc.getTransceivers():
        t.direction = "sendrecv"
        pc.addTrack(ToneTrack(440)) if not t.sender.track else None
    await pc.setLocalDescription(await pc.createAnswer())
    answer = pc.localDescription.sdp
    r = ng.command("answer", sdp=answer, call_id=call_id, from_tag="phone", to_tag="browser",
                   ICE="remove", transport_protocol="RTP/AVP", replace=["origin", "session-connection"],
                   **{"rtcp-mux": ["demux"]})
    sdp_plain = r[b"sdp"].decode()
    check("%s: SIP side gets plain RTP/AVP" % name, "RTP/AVP " in sdp_plain and "fingerprint" not in sdp_plain)
    plain.dest = (c_addr(sdp_plain), m_port(sdp_plain))
    await media_phase(name, pc, plain, ng, call_id)
    await pc.close()
    ng.command("delete", call_id=call_id)


async def flow_browser_opus_sip_pcmu(ng):
    """The browser offers Opus only, the SIP side speaks PCMU only: Kamailio's
    codec-strip-all codec-transcode-PCMU (as the NG `codec` dict) makes rtpgate transcode."""
    name = "browser Opus, SIP PCMU (transcoded)"
    call_id = "webrtc-tc-%d" % random.randint(0, 1 << 30)
    pc = RTCPeerConnection()
    pc.addTrack(ToneTrack(440))
    codec_only(pc, "audio/opus")
    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription.sdp
    r = ng.command("offer", sdp=offer, call_id=call_id, from_tag="browser",
                   ICE="remove", DTLS="off", transport_protocol="RTP/AVP",
                   flags=["trust-address"], replace=["origin", "session-connection"],
                   codec={"strip": ["all"], "transcode": ["PCMU"]},
                   **{"rtcp-mux": ["demux"], "SDES": ["off"]})
    sdp_plain = r[b"sdp"].decode()
    maps = rtpmaps(sdp_plain)
    fmts = m_formats(sdp_plain)
    check("%s: SIP side is offered PCMU only" % name,
          fmts and fmts[0] == "0" and all(maps.get(f, "").startswith(("PCMU/", "telephone-event/8000")) for f in fmts)
          and "opus" not in sdp_plain, sdp_plain.replace("\r\n", " | "))
    plain = PlainEndpoint()
    plain.dest = (c_addr(sdp_plain), m_port(sdp_plain))
    r = ng.command("answer", sdp=plain.sdp(), call_id=call_id, from_tag="browser", to_tag="phone",
                   ICE="force", transport_protocol="UDP/TLS/RTP/SAVPF", replace=["origin", "session-connection"],
                   **{"rtcp-mux": ["require"]})
    sdp_browser = r[b"sdp"].decode()
    fmts = m_formats(sdp_browser)
    check("%s: answer to the browser keeps Opus only" % name,
          len(fmts) == 1 and rtpmaps(sdp_browser).get(fmts[0], "").lower() == "opus/48000/2",
          sdp_browser.replace("\r\n", " | "))
    await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp_browser, type="answer"))
    await media_phase(name, pc, plain, ng, call_id)
    await pc.close()
    ng.command("delete", call_id=call_id)


async def flow_plain_pcmu_browser_opus(ng):
    """The SIP side offers PCMU; codec-transcode-opus adds Opus toward the browser, which answers
    with Opus only: rtpgate transcodes."""
    name = "SIP PCMU, browser Opus (transcoded)"
    call_id = "webrtc-tc2-%d" % random.randint(0, 1 << 30)
    plain = PlainEndpoint()
    r = ng.command("offer", sdp=plain.sdp(), call_id=call_id, from_tag="phone",
                   ICE="force", DTLS="passive", transport_protocol="UDP/TLS/RTP/SAVPF",
                   flags=["trust-address", "generate-mid", "codec-transcode-opus"],
                   replace=["origin", "session-connection"],
                   **{"rtcp-mux": ["offer", "require"], "SDES": ["off"]})
    sdp_browser = r[b"sdp"].decode()
    maps = rtpmaps(sdp_browser)
    check("%s: browser is offered PCMU and Opus" % name,
          "0" in m_formats(sdp_browser) and any(v.lower() == "opus/48000/2" for v in maps.values()),
          sdp_browser.replace("\r\n", " | "))
    pc = RTCPeerConnection()
    pc.addTrack(ToneTrack(440))
    codec_only(pc, "audio/opus")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp_browser, type="offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    answer = pc.localDescription.sdp
    check("%s: the browser answers Opus only" % name,
          [rtpmaps(answer).get(f, "").lower() for f in m_formats(answer)] == ["opus/48000/2"],
          answer.replace("\r\n", " | "))
    r = ng.command("answer", sdp=answer, call_id=call_id, from_tag="phone", to_tag="browser",
                   ICE="remove", transport_protocol="RTP/AVP", replace=["origin", "session-connection"],
                   **{"rtcp-mux": ["demux"]})
    sdp_plain = r[b"sdp"].decode()
    check("%s: SIP side gets a PCMU answer" % name,
          m_formats(sdp_plain) == ["0"] and "opus" not in sdp_plain, sdp_plain.replace("\r\n", " | "))
    plain.dest = (c_addr(sdp_plain), m_port(sdp_plain))
    await media_phase(name, pc, plain, ng, call_id)
    await pc.close()
    ng.command("delete", call_id=call_id)


async def flow_wrong_fingerprint(ng):
    """The browser's SDP fingerprint does not match its certificate: no media, a counted failure."""
    name = "wrong fingerprint"
    call_id = "webrtc-fp-%d" % random.randint(0, 1 << 30)
    pc = RTCPeerConnection()
    pc.addTrack(ToneTrack(440))
    pcmu_only(pc)
    await pc.setLocalDescription(await pc.createOffer())
    offer = re.sub(r"(a=fingerprint:sha-256 )([0-9A-F]{2})", lambda m: m.group(1) + ("00" if m.group(2) != "00" else "11"),
                   pc.localDescription.sdp)
    before = ng.command("statistics")[b"statistics"][b"counters"].get(b"dtls-failed", 0)
    r = ng.command("offer", sdp=offer, call_id=call_id, from_tag="browser", ICE="remove", DTLS="off",
                   transport_protocol="RTP/AVP", replace=["origin", "session-connection"])
    sdp_plain = r[b"sdp"].decode()
    plain = PlainEndpoint()
    plain.dest = (c_addr(sdp_plain), m_port(sdp_plain))
    r = ng.command("answer", sdp=plain.sdp(), call_id=call_id, from_tag="browser", to_tag="phone",
                   ICE="force", transport_protocol="UDP/TLS/RTP/SAVPF")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=r[b"sdp"].decode(), type="answer"))
    await plain.run(3.0)
    after = ng.command("statistics")[b"statistics"][b"counters"].get(b"dtls-failed", 0)
    check("%s: no media reaches the plain side" % name, plain.rx_packets == 0, "%d packets" % plain.rx_packets)
    check("%s: the failed handshake is counted" % name, after == before + 1, "%d -> %d" % (before, after))
    await pc.close()
    ng.command("delete", call_id=call_id)


def main():
    rg_bin = os.environ.get("RG_BIN", "build/gateway/rtpgate")
    # below the ephemeral range (32768+), where aiortc's own sockets live
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(100):
        ng_port = random.randint(20000, 24999)
        try:
            probe.bind(("127.0.0.1", ng_port))
            break
        except OSError:
            continue
    probe.close()
    pmin = random.randrange(25000, 29600, 2)
    log = tempfile.NamedTemporaryFile(prefix="rg-webrtc-", suffix=".log", delete=False)
    daemon = subprocess.Popen([rg_bin, "--config-file=none", "--foreground", "--log-stderr", "--log-level=7",
                               "--interface=127.0.0.1", "--listen-ng=127.0.0.1:%d" % ng_port,
                               "--listen-rtpproxy=udp:127.0.0.1:%d" % (ng_port + 1),
                               "--port-min=%d" % pmin, "--port-max=%d" % (pmin + 200), "--delete-delay=0"],
                              stdout=log, stderr=subprocess.STDOUT)
    ok = False
    try:
        ng = NGClient("127.0.0.1", ng_port, timeout=3.0)
        if not check("daemon answers ping", ng.wait_ready(10)):
            return 1
        asyncio.run(asyncio.wait_for(flow_browser_offers(ng), 30))
        asyncio.run(asyncio.wait_for(flow_plain_offers(ng), 30))
        asyncio.run(asyncio.wait_for(flow_plain_offers(ng, lite=True), 30))
        asyncio.run(asyncio.wait_for(flow_wrong_fingerprint(ng), 30))
        asyncio.run(asyncio.wait_for(flow_browser_opus_sip_pcmu(ng), 30))
        asyncio.run(asyncio.wait_for(flow_plain_pcmu_browser_opus(ng), 30))
        check("daemon still running", daemon.poll() is None)
        ok = all(RESULTS)
    except Exception as e:  # a crash of the test is a failure with its reason
        import traceback
        traceback.print_exc()
        check("test ran to the end", False, repr(e))
    finally:
        daemon.terminate()
        try:
            daemon.wait(10)
        except subprocess.TimeoutExpired:
            daemon.kill()
        if not ok:
            print("---- daemon log (tail) ----")
            with open(log.name, errors="replace") as f:
                print("".join(f.readlines()[-60:]))
        os.unlink(log.name)
    print("%d passed, %d failed" % (sum(RESULTS), len(RESULTS) - sum(RESULTS)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
