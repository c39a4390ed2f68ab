#!/usr/bin/python3
"""An Opus-only browser calls SIP phones that lack Opus, through Kamailio 5.6 (rtpengine module,
conf/kamailio-webrtc.cfg), media transcoded by rtpgate; tones and DTMF checked both ways.

    browser (aiortc UAC, Opus + telephone-event)  --SIP-->  kamailio  --SIP-->  SIP phone (UAS)
        |                                                     | NG                   |
        +--ICE/DTLS-SRTP, Opus--> rtpgate (transcodes) <------+--RTP, PCMU/PCMA/G722/AMR-WB/G729

The SIP user agents, the DTLS/ICE harness and the daemon/Kamailio start-up are those of
test_kamailio_webrtc.py (imported). Kamailio picks the codec flags of the offer toward the phone
by the dialled user (see the header of conf/kamailio-webrtc.cfg):

  case      dialled        Kamailio adds to the offer toward SIP          the phone accepts
  pcmu      pcmu-1001      codec-mask-all codec-transcode-PCMU            PCMU + telephone-event/8000
  amrwb-oa  amrwboa-1002   codec-mask-all codec-transcode-AMR-WB/16000/1/23850//octet-align--1
                                                                          AMR-WB octet-align=1 + t-e/16000
  amrwb-be  amrwb-1003     codec-mask-all codec-transcode-AMR-WB          AMR-WB (bandwidth-efficient) + t-e/16000
  inband    inband-1004    codec-strip-all codec-transcode-PCMU           PCMU only, no telephone-event
  pcma      pcma-1005      codec-mask-all codec-transcode-PCMA            PCMA + telephone-event/8000
  g722      g722-1006      codec-mask-all codec-transcode-G722            G722/8000 + telephone-event/8000
  switch    switch-1007    codec-mask-all codec-transcode-PCMU codec-transcode-G722
                                                                          PCMU + G722 + t-e/8000, sends
                                                                          PCMU, then G.722 from 2 s on
  g729      g729-1008      codec-mask-all codec-transcode-G729            G729 annexb=no + t-e/8000

The browser is aiortc 1.4 made to look like Chrome's audio: it offers opus/48000/2 (PT 111),
telephone-event/48000 (110) and telephone-event/8000 (126) only, sends a 440 Hz tone, and its
insertDTMF() (aiortc has no RTCDTMFSender: a small one here) sends RFC 4733 events with the
negotiated telephone-event PT in place of audio packets, same SSRC and sequence numbers, 100 ms
per digit, 70 ms gaps, the end packet three times. What the browser receives is captured at the
RTP level (at the RTP router of aiortc's DTLS transport: aiortc does not surface DTMF), and
non-Opus packets are kept out of aiortc's audio jitter buffer as a browser's demultiplexer would.

The phone answers with its own payload type 101 for telephone-event (not the offered one, so PT
mapping is tested), sends a 1000 Hz tone and the digits "4*07" (RFC 4733, or in-band tones for
the phone without telephone-event). The AMR-WB phones answer with their own fmtp whatever the
offer said (so media is tested even when the offer's fmtp is wrong; the offer is a check of its
own). PCMU goes through Python's audioop; PCMA, G.722, G.729 and AMR-WB are encoded/decoded by
tests/tools/rg_audio_tool (codecs/ library); the AMR-WB payload format the phone receives is also
checked independently here (RFC 4867 section 4.3/4.4 layout). G.722's RTP clock is 8000 (RFC 3551,
static PT 9) while its PCM is 16 kHz: 20 ms = 160 octets = 160 timestamp ticks = 320 samples, so
the phone keeps its RTP clock (`rate`: SDP, timestamps, telephone-event/8000, event durations)
apart from its PCM rate (`pcm_rate`: the tone it encodes, what it decodes).

Checks per case: the SDP offered to the phone (its codec, no Opus, telephone-event at its rate,
the AMR-WB fmtp), the answer to the browser (WebRTC, Opus only + telephone-event/48000); ICE +
DTLS up; the phone hears 440 Hz in its codec (well-formed payloads, timestamps advancing one
20 ms frame of its RTP clock per packet), the browser hears 1000 Hz; each at the level sent
(-15.3 dBFS, +-6 dB); DTMF browser -> phone: RFC 4733 with the phone's PT, digits "159#", marker
+ end packets, durations and timestamps in the phone's clock and stream (in-band case: the digits
detected in the phone's audio by a Goertzel detector); DTMF phone -> browser: RFC 4733 with the
browser's PT 110, digits "4*07", durations in 48 kHz (in-band case: the phone's in-band digits as
RFC 4733 events; whether the tones also stay in the audio is noted, not checked); BYE, NG list
empty; at the end Kamailio's $rtpstat, no ERROR, both daemons alive. The in-band checks name the missing feature in
their FAIL line when rtpgate has no RFC 4733 <-> in-band DTMF conversion. What each side heard is
written as WAV files to the work directory (kept when a check failed, or with RG_KEEP_TMP=1).

Environment: RG_BIN (rtpgate), RG_AUDIO_TOOL (default: tests/tools/rg_audio_tool of RG_BIN's
build directory), RG_CASES (comma list, default all eight: pcmu,amrwb-oa,amrwb-be,inband,pcma,g722,
switch,g729),
RG_MEDIA_SECONDS (default 5), RG_KEEP_TMP, RG_ALLOW_SKIP, RG_KAMAILIO, RG_AIORTC_DEBUG as in
test_kamailio_webrtc.py.

Run:  RG_BIN=build/gateway/rtpgate /usr/bin/python3 tests/integration/test_kamailio_transcode.py
Exit 0 when every check passed; the last line is ``N passed, N failed``.
"""

import asyncio
import math
import os
import random
import re
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import test_kamailio_webrtc as kw  # noqa: E402
from test_kamailio_webrtc import IP, check, info  # noqa: E402
from rgaudiotool import audio_tool, audio_tool_path  # noqa: E402

MEDIA_SECONDS = float(os.environ.get("RG_MEDIA_SECONDS", "5"))
TONE_BROWSER = kw.TONE_WEBRTC   # 440 Hz, kw.WebRTCMedia's track
TONE_PHONE = 1000.0
TOL_PHONE_RX = 15.0     # Hz
TOL_BROWSER_RX = 20.0   # Hz
TONE_DBFS = 20 * math.log10(8000 / math.sqrt(2) / 32768.0)   # both tones: amplitude 8000, -15.3 dBFS
TOL_LEVEL_DB = 6.0      # what each side hears, against TONE_DBFS (a gain or resampling slip)
BROWSER_DIGITS = "159#"
PHONE_DIGITS = "4*07"
BROWSER_DTMF_AT = 1.0   # s after media start
PHONE_DTMF_AT = 2.6
DTMF_TONE_MS = 100
DTMF_GAP_MS = 70
INBAND_TONE_MS = 120    # the in-band phone's key presses
INBAND_GAP_MS = 120

# the browser's audio codecs, Chrome's payload types
OPUS_PT = 111
TE48_PT = 110
TE8_PT = 126
PHONE_TE_PT = 101

CASES = {
    "pcmu": dict(user="pcmu-1001", codec="PCMU", rate=8000, fmtp=None, te=True, define="CODECS_PCMU"),
    "amrwb-oa": dict(user="amrwboa-1002", codec="AMR-WB", rate=16000, fmtp="octet-align=1", te=True,
                     define="CODECS_AMRWB_OA"),
    "amrwb-be": dict(user="amrwb-1003", codec="AMR-WB", rate=16000, fmtp=None, te=True, define="CODECS_AMRWB"),
    "inband": dict(user="inband-1004", codec="PCMU", rate=8000, fmtp=None, te=False, define="CODECS_INBAND"),
    "pcma": dict(user="pcma-1005", codec="PCMA", rate=8000, fmtp=None, te=True, define="CODECS_PCMA"),
    # G.722: RTP clock 8000 (RFC 3551), PCM 16 kHz
    "g722": dict(user="g722-1006", codec="G722", rate=8000, pcm_rate=16000, fmtp=None, te=True,
                 define="CODECS_G722"),
    # answers PCMU and G.722 and switches to its second codec mid-call (RFC 3264 5.1 allows it):
    # rtpgate must take both into the browser's Opus stream
    "switch": dict(user="switch-1007", codec="PCMU", rate=8000, fmtp=None, te=True, define="CODECS_SWITCH",
                   also="G722", also_pcm_rate=16000),
    # G.729 (bcg729 in rtpgate and in rg_audio_tool): 20 ms = two 10-octet frames
    "g729": dict(user="g729-1008", codec="G729", rate=8000, fmtp="annexb=no", te=True, define="CODECS_G729"),
}
SWITCH_AT = 2.0         # s after media start: the switch case's phone sends G.722 from here on

EVENT_CHARS = "0123456789*#ABCD"


# ---------------------------------------------------------------------------
# RFC 4733 events
# ---------------------------------------------------------------------------

def te_payload(code, end, duration, volume=10):
    return bytes([code, (0x80 if end else 0) | (volume & 0x3F)]) + struct.pack("!H", duration & 0xFFFF)


class DtmfScheduler:
    """Queued digits -> RFC 4733 packets sent in place of 20 ms audio packets (as browsers and most
    phones do): one event packet per audio packet while the tone lasts (duration growing), the end
    packet three times, then the gap in audio before the next digit. Driven by the audio packets'
    timestamps (clock units of the stream)."""

    def __init__(self, clock, frame_ticks, tone_ms=DTMF_TONE_MS, gap_ms=DTMF_GAP_MS):
        self.clock = clock
        self.frame_ticks = frame_ticks
        self.tone = tone_ms * clock // 1000
        self.gap_frames = int(math.ceil(gap_ms / 20.0))
        self.queue = []
        self.cur = None
        self.gap_left = 0
        self.sent = []          # (digit, start timestamp, duration)

    def insert(self, digits):
        for d in digits:
            if d not in EVENT_CHARS:
                raise ValueError("not a DTMF digit: %r" % d)
        self.queue.extend(digits)

    def busy(self):
        return self.cur is not None or bool(self.queue) or self.gap_left > 0

    def next(self, audio_ts):
        """None: send the audio packet; else (marker, timestamp, payload) of the event packet to
        send in its place."""
        if self.cur is None:
            if self.gap_left > 0:
                self.gap_left -= 1
                return None
            if not self.queue:
                return None
            d = self.queue.pop(0)
            self.cur = {"digit": d, "start": audio_ts, "n": 0, "ends": 0}
        c = self.cur
        dur = ((audio_ts - c["start"]) & 0xFFFFFFFF) + self.frame_ticks
        end = dur >= self.tone
        if end:
            dur = self.tone
            c["ends"] += 1
        marker = c["n"] == 0
        c["n"] += 1
        payload = te_payload(EVENT_CHARS.index(c["digit"]), end, dur)
        if c["ends"] >= 3:
            self.sent.append((c["digit"], c["start"], dur))
            self.cur = None
            self.gap_left = self.gap_frames
        return marker, c["start"], payload


def parse_events(pkts):
    """pkts: (arrival index, pt, seq, ts, ssrc, marker, payload) of telephone-event packets, in
    arrival order -> one dict per event (SSRC + timestamp), in the order of their first packets:
    digit, ts, ssrc, pts, first_marker, packets, ends (end packets), duration (of the end packets,
    else the largest), codes, first_index, bad (packets too short)."""
    events = {}
    order = []
    for idx, pt, seq, ts, ssrc, marker, payload in pkts:
        key = (ssrc, ts)
        ev = events.get(key)
        if ev is None:
            ev = events[key] = {"ts": ts, "ssrc": ssrc, "pts": set(), "first_marker": bool(marker), "packets": 0,
                                "ends": 0, "duration": 0, "end_duration": None, "codes": set(),
                                "first_index": idx, "bad": 0}
            order.append(key)
        ev["pts"].add(pt)
        ev["packets"] += 1
        if len(payload) < 4:
            ev["bad"] += 1
            continue
        code, flags, dur = payload[0], payload[1], struct.unpack("!H", payload[2:4])[0]
        ev["codes"].add(code)
        ev["duration"] = max(ev["duration"], dur)
        if flags & 0x80:
            ev["ends"] += 1
            ev["end_duration"] = dur
    out = []
    for key in order:
        ev = events[key]
        codes = sorted(ev["codes"])
        ev["digit"] = "".join(EVENT_CHARS[c] if c < 16 else "?" for c in codes) if codes else "?"
        if ev["end_duration"] is not None:
            ev["duration"] = ev["end_duration"]
        out.append(ev)
    return out


def describe_events(evs, clock):
    return ", ".join("%s(pt %s, %d pkts, %d end, %.0f ms%s)" % (
        e["digit"], "/".join(str(p) for p in sorted(e["pts"])), e["packets"], e["ends"],
        e["duration"] * 1000.0 / clock, ", M" if e["first_marker"] else "") for e in evs) or "none"


def check_events(case, who, evs, pkts, rx_all, want_pt, want_digits, clock):
    """The RFC 4733 checks on what one side received: evs = parse_events(pkts); rx_all = (arrival
    index, kind, pt, seq, ts, ssrc, marker, payload) of every RTP packet it received, kind 'audio'
    (its audio codec), 'event' (its telephone-event PT) or 'other'."""
    desc = describe_events(evs, clock)
    pts = sorted({p[1] for p in pkts})
    check(case, "%s got RFC 4733 telephone-event with its payload type %d" % (who, want_pt),
          bool(pkts) and pts == [want_pt], "%d packets, PTs %s; events: %s" % (len(pkts), pts, desc))
    digits = "".join(e["digit"] for e in evs)
    check(case, "%s got the digits %r" % (who, want_digits), digits == want_digits, "got %r" % digits)
    bad = [e["digit"] for e in evs if not e["first_marker"] or e["ends"] < 1 or e["bad"] or len(e["codes"]) != 1]
    check(case, "%s: every event starts with the marker bit and has end packets" % who, evs and not bad,
          "not so: %s; %s" % (bad, desc) if bad else desc)
    ms = [e["duration"] * 1000.0 / clock for e in evs]
    check(case, "%s: event durations are %d ms in its %d Hz clock" % (who, DTMF_TONE_MS, clock),
          ms and all(0.8 * DTMF_TONE_MS <= m <= 1.25 * DTMF_TONE_MS for m in ms),
          ", ".join("%.0f ms (%d)" % (m, e["duration"]) for m, e in zip(ms, evs)) or "none")
    # the events belong to the audio stream this side receives: same SSRC, and each event's
    # timestamp close to the timestamp of the audio that arrived just before it
    probs = []
    for e in evs:
        before = [r for r in rx_all if r[1] == "audio" and r[0] < e["first_index"]]
        if not before:
            probs.append("%s: no audio before it" % e["digit"])
            continue
        a = before[-1]
        if a[5] != e["ssrc"]:
            probs.append("%s: SSRC %08x, audio %08x" % (e["digit"], e["ssrc"], a[5]))
        diff = ((e["ts"] - a[4] + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)
        if abs(diff) > 0.3 * clock:
            probs.append("%s: ts %d is %+.0f ms from the audio's %d" % (e["digit"], e["ts"], diff * 1000.0 / clock, a[4]))
    check(case, "%s: events are in its audio stream (SSRC, timestamps within 300 ms)" % who, evs and not probs,
          "; ".join(probs) if probs else "%d events" % len(evs))


# ---------------------------------------------------------------------------
# in-band DTMF: generation and a Goertzel detector
# ---------------------------------------------------------------------------

DTMF_ROWS = (697.0, 770.0, 852.0, 941.0)
DTMF_COLS = (1209.0, 1336.0, 1477.0, 1633.0)
DTMF_KEYS = ("123A", "456B", "789C", "*0#D")


def dtmf_freqs(digit):
    for r, row in enumerate(DTMF_KEYS):
        if digit in row:
            return DTMF_ROWS[r], DTMF_COLS[row.index(digit)]
    raise ValueError(digit)


def detect_dtmf(pcm, rate, block_ms=20, min_blocks=2):
    """Digits in mono PCM: per 20 ms block, Goertzel power at the 8 DTMF frequencies relative to the
    block's energy (1.0 = all of it in one sinusoid); a block is a key when the strongest row and
    column frequency each hold >= 15 % and together >= 60 % of the energy, every other row/column
    frequency < 1/10 of the strongest, twist within 7 dB, level above -45 dBFS. A digit is a run of
    >= min_blocks blocks of the same key."""
    import numpy as np
    x = np.asarray(pcm, dtype=np.float64)
    n = int(rate * block_ms / 1000)
    freqs = DTMF_ROWS + DTMF_COLS
    t = np.arange(n)
    basis = np.exp(-2j * np.pi * np.outer(freqs, t) / rate)
    syms = []
    for b in range(len(x) // n):
        blk = x[b * n:(b + 1) * n]
        e = float(np.dot(blk, blk))
        if e / n < 180.0 ** 2:
            syms.append(None)
            continue
        p = 2.0 * np.abs(basis @ blk) ** 2 / (n * e)
        rows, cols = p[:4], p[4:]
        r, c = int(np.argmax(rows)), int(np.argmax(cols))
        pr, pc = rows[r], cols[c]
        ok = (pr >= 0.15 and pc >= 0.15 and pr + pc >= 0.6 and 0.2 <= pr / pc <= 5.0
              and all(rows[i] < pr / 10 for i in range(4) if i != r)
              and all(cols[i] < pc / 10 for i in range(4) if i != c))
        syms.append(DTMF_KEYS[r][c] if ok else None)
    digits, run_sym, run_len = [], None, 0
    for s in syms + [None]:
        if s == run_sym:
            run_len += 1
            continue
        if run_sym is not None and run_len >= min_blocks:
            digits.append(run_sym)
        run_sym, run_len = s, 1
    return "".join(digits)


# ---------------------------------------------------------------------------
# AMR-WB: rg_audio_tool (codecs/ library) and an independent RFC 4867 layout check
# ---------------------------------------------------------------------------

AMRWB_BITS = {0: 132, 1: 177, 2: 253, 3: 285, 4: 317, 5: 365, 6: 397, 7: 461, 8: 477, 9: 40, 14: 0, 15: 0}


def amrwb_layout(payload, octet_align):
    """RFC 4867 section 4.4 (octet-aligned) or 4.3 (bandwidth-efficient) payload -> (frame types,
    problem or None), from the spec's field layout alone (CMR, ToC with F/FT/Q, speech bits)."""
    p = payload
    if not p:
        return [], "empty"
    fts = []
    if octet_align:
        if p[0] & 0x0F:
            return [], "CMR octet's reserved bits %x" % (p[0] & 0x0F)
        i = 1
        while True:
            if i >= len(p):
                return fts, "ToC runs past the payload"
            b = p[i]
            i += 1
            ft, q = (b >> 3) & 0x0F, (b >> 2) & 1
            if ft not in AMRWB_BITS or b & 0x03:
                return fts, "bad ToC octet %02x" % b
            fts.append((ft, q))
            if not b & 0x80:
                break
        need = i + sum((AMRWB_BITS[ft] + 7) // 8 for ft, _ in fts)
        if need != len(p):
            return fts, "%d octets, the ToC says %d" % (len(p), need)
        return fts, None
    bits = "".join("{:08b}".format(o) for o in p)
    pos = 4
    while True:
        if pos + 6 > len(bits):
            return fts, "ToC runs past the payload"
        f, ft, q = bits[pos] == "1", int(bits[pos + 1:pos + 5], 2), int(bits[pos + 5])
        pos += 6
        if ft not in AMRWB_BITS:
            return fts, "reserved FT %d" % ft
        fts.append((ft, q))
        if not f:
            break
    total = pos + sum(AMRWB_BITS[ft] for ft, _ in fts)
    if (total + 7) // 8 != len(p):
        return fts, "%d octets, the ToC says %d bits" % (len(p), total)
    return fts, None


# ---------------------------------------------------------------------------
# the SIP phone's media
# ---------------------------------------------------------------------------

def sdp_codecs(sdp):
    """pt -> (encoding name, clock rate, fmtp or None) of the first m= line (static PTs too)."""
    d = kw.sdp_info(sdp or "")
    maps = {}
    for a in d["attrs"]:
        m = re.match(r"rtpmap:(\d+) ([^/]+)/(\d+)", a)
        if m:
            maps[int(m.group(1))] = [m.group(2), int(m.group(3)), None]
    for a in d["attrs"]:
        m = re.match(r"fmtp:(\d+) (.*)", a)
        if m and int(m.group(1)) in maps:
            maps[int(m.group(1))][2] = m.group(2).strip()
    out = {}
    for f in d["pts"]:
        if not f.isdigit():
            continue
        pt = int(f)
        if pt in maps:
            out[pt] = tuple(maps[pt])
        elif pt == 0:
            out[pt] = ("PCMU", 8000, None)
        elif pt == 8:
            out[pt] = ("PCMA", 8000, None)
        elif pt == 9:
            out[pt] = ("G722", 8000, None)     # RFC 3551: clock 8000, PCM 16 kHz
        elif pt == 18:
            out[pt] = ("G729", 8000, None)
        else:
            out[pt] = ("pt%d" % pt, 0, None)
    return out


def fmtp_octet_align(fmtp):
    return bool(fmtp and re.search(r"(^|;)\s*octet-align\s*=\s*1\b", fmtp))


class PhoneMedia(kw.PlainMedia):
    """A SIP phone that speaks one codec (PCMU, PCMA, G.722, G.729 or AMR-WB), with or without
    telephone-event: sends a 1000 Hz tone and its digits (RFC 4733 in place of audio packets, or
    in-band tones), records every RTP packet it receives. `rate` and `frame` are in RTP clock
    units (SDP, timestamps, telephone-event); `pcm_rate` and `pcm_frame` in PCM samples (they
    differ for G.722: 8000 / 160 vs 16000 / 320)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.rate = cfg["rate"]                         # RTP clock
        self.frame = self.rate // 50                    # timestamp ticks per 20 ms packet
        self.pcm_rate = cfg.get("pcm_rate", self.rate)  # PCM sample rate of the codec
        self.pcm_frame = self.pcm_rate // 50            # samples per 20 ms packet
        self.pt = None
        self.also_pt = None     # the switch case: its second codec's PT (from the offer)
        self.also_payloads = []
        self.tx_also = 0
        self.te_pt = None
        self.offer = {}
        self.rx = []            # (index, kind, pt, seq, ts, ssrc, marker, payload)
        self.n_rx = 0
        self.tx_payloads = []
        self.sched = None
        self.encode_note = ""

    # --- SDP -----------------------------------------------------------------
    def sdp(self):
        c = self.cfg
        fmts = ([str(self.pt)] + ([str(self.also_pt)] if self.also_pt is not None else []) +
                ([str(self.te_pt)] if self.te_pt is not None else []))
        lines = ["v=0", "o=phone %d 1 IN IP4 %s" % (random.randint(1, 1 << 30), IP), "s=-",
                 "c=IN IP4 %s" % IP, "t=0 0", "m=audio %d RTP/AVP %s" % (self.port, " ".join(fmts)),
                 "a=rtpmap:%d %s/%d" % (self.pt, c["codec"], self.rate)]
        if c["fmtp"]:
            lines.append("a=fmtp:%d %s" % (self.pt, c["fmtp"]))
        if self.also_pt is not None:
            lines.append("a=rtpmap:%d %s/%d" % (self.also_pt, c["also"], self.rate))
        if self.te_pt is not None:
            lines += ["a=rtpmap:%d telephone-event/%d" % (self.te_pt, self.rate), "a=fmtp:%d 0-15" % self.te_pt]
        lines += ["a=ptime:20", "a=sendrecv"]
        return "\r\n".join(lines) + "\r\n"

    async def offer(self):
        raise RuntimeError("the phone only answers in this test")

    async def answer(self, offer):
        self.offer = sdp_codecs(offer)
        want = self.cfg["codec"].lower()
        mine = [pt for pt, (n, r, f) in self.offer.items() if n.lower() == want and r == self.rate]
        if not mine:
            raise RuntimeError("offer without %s/%d: %s" % (self.cfg["codec"], self.rate, kw.one_line(offer)))
        self.pt = mine[0]
        if self.cfg.get("also"):
            also = [pt for pt, (n, r, f) in self.offer.items() if n.lower() == self.cfg["also"].lower()
                    and r == self.rate]
            if not also:
                raise RuntimeError("offer without %s/%d: %s" % (self.cfg["also"], self.rate, kw.one_line(offer)))
            self.also_pt = also[0]
        if self.cfg["te"] and any(n.lower() == "telephone-event" and r == self.rate
                                  for n, r, f in self.offer.values()):
            # our own payload type, whatever the offer used: the sender must follow the answer
            self.te_pt = PHONE_TE_PT
        self._learn(offer)
        return self.sdp()

    # --- audio out -----------------------------------------------------------
    def pcm_out(self, seconds, rate=None):
        """The phone's microphone: 1000 Hz, with in-band key presses when it has no
        telephone-event."""
        import numpy as np
        rate = rate or self.pcm_rate
        n = int(seconds * rate)
        t = np.arange(n) / float(rate)
        pcm = 8000 * np.sin(2 * np.pi * TONE_PHONE * t)
        if not self.cfg["te"]:
            at = int(PHONE_DTMF_AT * rate)
            on, off = INBAND_TONE_MS * rate // 1000, INBAND_GAP_MS * rate // 1000
            for d in PHONE_DIGITS:
                f1, f2 = dtmf_freqs(d)
                tt = np.arange(on) / float(rate)
                pcm[at:at + on] = 7000 * np.sin(2 * np.pi * f1 * tt) + 7000 * np.sin(2 * np.pi * f2 * tt)
                pcm[at + on:at + on + off] = 0
                at += on + off
        return pcm.astype(np.int16)

    def prepare(self, seconds):
        """Encode the whole call's audio up front: a list of 20 ms payloads."""
        import audioop
        if self.cfg.get("also"):
            # the second codec's payloads for the same audio (its own PCM rate)
            rate2 = self.cfg["also_pcm_rate"]
            pcm2 = self.pcm_out(seconds + 1.0, rate2).tobytes()
            step2 = rate2 // 50 * 2
            recs = [pcm2[i:i + step2] for i in range(0, len(pcm2) - step2 + 1, step2)]
            out, err, rc = audio_tool("encode", "%s/%d" % (self.cfg["also"], self.rate), None, recs)
            if rc != 0 or len(out) != len(recs) or not all(out):
                return "rg_audio_tool encode of %s failed (exit %s): %s" % (self.cfg["also"], rc, err)
            self.also_payloads = out
        pcm = self.pcm_out(seconds + 1.0).tobytes()
        step = self.pcm_frame * 2
        if self.cfg["codec"] == "PCMU":
            self.tx_payloads = [audioop.lin2ulaw(pcm[i:i + step], 2) for i in range(0, len(pcm) - step + 1, step)]
            return None
        recs = [pcm[i:i + step] for i in range(0, len(pcm) - step + 1, step)]
        out, err, rc = audio_tool("encode", "%s/%d" % (self.cfg["codec"], self.rate), self.cfg["fmtp"], recs)
        self.encode_note = err
        if rc != 0 or len(out) != len(recs) or not all(out):
            return "rg_audio_tool encode failed (exit %s): %s" % (rc, err)
        self.tx_payloads = out
        return None

    async def run(self, seconds):
        seq, ts, ssrc = random.randint(0, 65535), random.randint(0, 1 << 31), random.randint(1, 1 << 31)
        if self.te_pt is not None:
            self.sched = DtmfScheduler(self.rate, self.frame)
        start = time.monotonic()
        i = 0
        while time.monotonic() - start < seconds and i < len(self.tx_payloads):
            if self.sched and i == int(PHONE_DTMF_AT / 0.02):
                self.sched.insert(PHONE_DIGITS)
            ev = self.sched.next(ts & 0xFFFFFFFF) if self.sched and self.sched.busy() else None
            if ev:
                marker, ets, payload = ev
                hdr = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | self.te_pt, seq & 0xFFFF, ets, ssrc)
            elif self.also_pt is not None and i >= int(SWITCH_AT / 0.02):
                hdr = struct.pack("!BBHII", 0x80, self.also_pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
                payload = self.also_payloads[i]
                self.tx_also += 1
            else:
                hdr = struct.pack("!BBHII", 0x80, self.pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
                payload = self.tx_payloads[i]
            if self.dest:
                self.sock.sendto(hdr + payload, self.dest)
                self.tx += 1
            seq, ts, i = seq + 1, ts + self.frame, i + 1
            self._drain()
            await asyncio.sleep(max(0.0, start + i * 0.02 - time.monotonic()))
        await asyncio.sleep(0.1)
        self._drain()

    # --- RTP in ----------------------------------------------------------------
    def on_rtp(self, data):
        cc, x = data[0] & 0x0F, data[0] & 0x10
        off = 12 + 4 * cc
        if x and len(data) >= off + 4:
            off += 4 + 4 * struct.unpack("!H", data[off + 2:off + 4])[0]
        end = len(data)
        if data[0] & 0x20 and end > off:
            end -= data[-1]
        pt = data[1] & 0x7F
        seq, ts, ssrc = struct.unpack("!HII", data[2:12])
        kind = "audio" if pt == self.pt else "event" if pt == self.te_pt else "other"
        self.rx.append((self.n_rx, kind, pt, seq, ts, ssrc, data[1] >> 7, data[off:end]))
        self.n_rx += 1

    def audio_packets(self):
        return [r for r in self.rx if r[1] == "audio"]

    def event_packets(self):
        """every packet that looks like RFC 4733 (the telephone-event PT, or any PT not the audio one)"""
        return [(r[0], r[2], r[3], r[4], r[5], r[6], r[7]) for r in self.rx if r[1] != "audio"]

    def decode(self):
        """What the phone heard, placed by RTP timestamp (gaps: silence / concealment). -> (pcm,
        note). Codecs other than PCMU go through rg_audio_tool (with the phone's own fmtp)."""
        import audioop
        import numpy as np
        pk = self.audio_packets()
        if not pk:
            return np.zeros(0, dtype=np.int16), "no audio"
        ts0 = pk[0][4]
        slots = {}
        for r in pk:
            rel = ((r[4] - ts0 + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)
            if rel >= 0 and rel % self.frame == 0 and rel // self.frame < 3000:
                slots.setdefault(rel // self.frame, r[7])
        last = max(slots) if slots else -1
        if self.cfg["codec"] == "PCMU":
            pcm = b"".join(audioop.ulaw2lin(slots[k], 2) if k in slots else b"\0" * (2 * self.pcm_frame)
                           for k in range(last + 1))
            return np.frombuffer(pcm, dtype=np.int16), "%d packets" % len(pk)
        recs = [slots.get(k, b"") for k in range(last + 1)]
        out, err, rc = audio_tool("decode", "%s/%d" % (self.cfg["codec"], self.rate), self.cfg["fmtp"], recs)
        pcm = np.frombuffer(b"".join(out), dtype=np.int16)
        return pcm, "rg_audio_tool: exit %d, %s" % (rc, err)


# ---------------------------------------------------------------------------
# the browser: aiortc with Chrome's audio codecs, RTCDTMFSender, RTP capture
# ---------------------------------------------------------------------------

def browser_codecs():
    """aiortc's audio codec list made Chrome-like: Opus, telephone-event/48000 and /8000."""
    from aiortc import codecs as ac
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters
    ac.CODECS["audio"][:] = [
        RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=OPUS_PT,
                              parameters={"minptime": 10, "useinbandfec": 1}),
        RTCRtpCodecParameters(mimeType="audio/telephone-event", clockRate=48000, channels=1, payloadType=TE48_PT),
        RTCRtpCodecParameters(mimeType="audio/telephone-event", clockRate=8000, channels=1, payloadType=TE8_PT),
    ]


class DTMFSender:
    """What RTCDTMFSender does in a browser, for aiortc's RTCRtpSender: insertDTMF(tones, duration,
    interToneGap) sends RFC 4733 events with the negotiated telephone-event PT of the send codec's
    clock, in place of the sender's audio packets (same SSRC, its sequence numbers). Installed by
    wrapping the DTLS transport's _send_rtp, which protects and sends every packet."""

    def __init__(self, sender, audio_pt, te_pt, clock):
        self.ssrc = sender._ssrc
        self.audio_pt = audio_pt
        self.te_pt = te_pt
        self.sched = DtmfScheduler(clock, clock // 50)
        self.replaced = 0
        transport = sender.transport
        orig = transport._send_rtp

        async def send_rtp(data):
            await orig(self._rewrite(data))

        transport._send_rtp = send_rtp

    @property
    def canInsertDTMF(self):  # noqa: N802  (the W3C name)
        return self.te_pt is not None

    def insertDTMF(self, tones, duration=DTMF_TONE_MS, interToneGap=DTMF_GAP_MS):  # noqa: N802,N803
        if not self.canInsertDTMF:
            raise RuntimeError("no telephone-event negotiated")
        self.sched.tone = duration * self.sched.clock // 1000
        self.sched.gap_frames = int(math.ceil(interToneGap / 20.0))
        self.sched.insert(tones)

    def _rewrite(self, data):
        if len(data) < 12 or 192 <= data[1] <= 223 or not self.sched.busy():   # RTCP, or nothing to send
            return data
        pt = data[1] & 0x7F
        ts, ssrc = struct.unpack("!II", data[4:12])
        if ssrc != self.ssrc or pt != self.audio_pt:
            return data
        ev = self.sched.next(ts)
        if ev is None:
            return data
        marker, ets, payload = ev
        self.replaced += 1
        return bytes([0x80, (0x80 if marker else 0) | self.te_pt]) + data[2:4] + struct.pack("!II", ets, ssrc) + payload


class BrowserMedia(kw.WebRTCMedia):
    """kw.WebRTCMedia (aiortc, 440 Hz) + a DTMF sender + a record of every RTP packet received."""

    TE_PTS = {TE48_PT: 48000, TE8_PT: 8000}

    def __init__(self):
        super().__init__()
        self.rx = []        # (index, kind, pt, seq, ts, ssrc, marker, payload)
        self.dtmf = None
        self.answer_codecs = {}

    def _capture(self):
        """Record every RTP packet the browser's transport receives (at its RTP router, so payload
        types aiortc does not know are seen too); keep telephone-event and other non-Opus packets
        away from aiortc (it has no decoder for them) and, as a browser's demultiplexing does, out
        of the audio's sequence: aiortc's jitter buffer drops audio around sequence numbers it
        never gets (events interleaved with audio)."""
        router = self.pc.getTransceivers()[0].receiver.transport._rtp_router
        orig = router.route_rtp
        removed = {}

        def route_rtp(packet):
            pt = packet.payload_type
            kind = "event" if pt in self.TE_PTS else "audio" if pt == OPUS_PT else "other"
            self.rx.append((len(self.rx), kind, pt, packet.sequence_number, packet.timestamp, packet.ssrc,
                            packet.marker, bytes(packet.payload)))
            if kind != "audio":
                removed[packet.ssrc] = removed.get(packet.ssrc, 0) + 1
                return None
            packet.sequence_number = (packet.sequence_number - removed.get(packet.ssrc, 0)) & 0xFFFF
            return orig(packet)

        router.route_rtp = route_rtp

    async def set_answer(self, sdp):
        await super().set_answer(sdp)
        self._capture()
        self.answer_codecs = sdp_codecs(sdp)
        audio = [pt for pt, (n, r, f) in self.answer_codecs.items() if n.lower() == "opus"]
        te = [pt for pt, (n, r, f) in self.answer_codecs.items() if n.lower() == "telephone-event" and r == 48000]
        sender = self.pc.getTransceivers()[0].sender
        self.dtmf = DTMFSender(sender, audio[0] if audio else OPUS_PT, te[0] if te else None, 48000)

    def event_packets(self):
        """telephone-event packets, and any other non-Opus payload type (a wrongly mapped event)"""
        return [(r[0], r[2], r[3], r[4], r[5], r[6], r[7]) for r in self.rx if r[1] != "audio"]

    def pcm(self):
        import numpy as np
        if not self.frames:
            return np.zeros(0, dtype=np.int16), 48000
        return np.concatenate([a for _, a in self.frames]), self.frames[0][0]


# ---------------------------------------------------------------------------
# one call
# ---------------------------------------------------------------------------

def expected_flags(define):
    with open(kw.KAMAILIO_CFG, encoding="utf-8") as f:
        m = re.search(r'#!define %s "([^"]*)"' % define, f.read())
    return m.group(1) if m else None


def save_wav(path, pcm, rate):
    """What a side heard, for a human (kept in the work directory when a check failed)."""
    import wave
    try:
        with wave.open(path, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(pcm.astype("<i2").tobytes())
    except OSError:
        pass


def check_phone_offer(case, cfg, phone, sdp):
    d = kw.sdp_info(sdp or "")
    codecs = phone.offer
    names = ["%s/%d" % (n, r) for n, r, f in codecs.values()]
    check(case, "phone (INVITE) got plain RTP/AVP on rtpgate", d["proto"] == "RTP/AVP" and d["c_addr"] == IP
          and not kw.has_attr(d, "ice-ufrag") and not kw.has_attr(d, "fingerprint"),
          "m= %s %s, c= %s" % (d["port"], d["proto"], d["c_addr"]))
    want = "%s/%d" % (cfg["codec"], cfg["rate"])
    check(case, "phone was offered %s and no Opus (codec flags applied)" % want,
          want.lower() in [x.lower() for x in names] and not any(n.lower() == "opus" for n, r, f in codecs.values()),
          "offered %s" % names)
    te = [pt for pt, (n, r, f) in codecs.items() if n.lower() == "telephone-event"]
    check(case, "phone was offered telephone-event/%d (the browser offered telephone-event)" % cfg["rate"],
          any(codecs[pt][1] == cfg["rate"] for pt in te) and all(codecs[pt][1] == cfg["rate"] for pt in te),
          "telephone-event: %s" % ["%d %s/%d" % (pt, codecs[pt][0], codecs[pt][1]) for pt in te])
    if cfg["codec"] == "AMR-WB":
        f = [ff for n, r, ff in codecs.values() if n.lower() == "amr-wb"]
        oa = fmtp_octet_align(f[0] if f else None)
        if fmtp_octet_align(cfg["fmtp"]):
            check(case, "phone was offered AMR-WB with octet-align=1 (the codec spec's fmtp, "
                  "codec-transcode-AMR-WB/16000/1/23850//octet-align--1)", oa,
                  "a=fmtp: %s; rtpgate ignores the fmtp field of a codec-transcode spec" % (f[0] if f else None)
                  if not oa else "a=fmtp: %s" % f[0])
        else:
            check(case, "phone was offered bandwidth-efficient AMR-WB (no octet-align=1)", f and not oa,
                  "a=fmtp: %s" % (f[0] if f else None))


def tone_level(pcm, rate, freq):
    """(RMS level in dBFS, share of the energy within 50 Hz of freq) of mono PCM (a full-scale
    sine is -3 dBFS; the tones sent here, amplitude 8000, are -15.3 dBFS)."""
    import numpy as np
    x = np.asarray(pcm, dtype=np.float64)
    if len(x) < rate // 4:
        return -200.0, 0.0
    x = x - x.mean()
    e = float(np.dot(x, x))
    if e <= 0:
        return -200.0, 0.0
    db = 10 * math.log10(e / len(x) / 32768.0 ** 2)
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.arange(len(spec)) * rate / len(x)
    return db, float(spec[np.abs(f - freq) <= 50].sum() / spec.sum())


def check_timestamps(case, phone):
    """The phone's audio stream runs in its RTP clock: consecutive packets (sequence number + 1,
    same SSRC) are one 20 ms frame = phone.frame ticks apart (160 for PCMU/PCMA/G.722 at 8000,
    320 for AMR-WB at 16000)."""
    pk = phone.audio_packets()
    steps = {}
    for a, b in zip(pk, pk[1:]):
        if a[5] == b[5] and (b[3] - a[3]) & 0xFFFF == 1:
            d = (b[4] - a[4]) & 0xFFFFFFFF
            steps[d] = steps.get(d, 0) + 1
    n = sum(steps.values())
    good = steps.get(phone.frame, 0)
    top = ", ".join("%d: %d" % kv for kv in sorted(steps.items(), key=lambda kv: -kv[1])[:4])
    check(case, "phone's %s timestamps advance %d per 20 ms packet (%d Hz RTP clock)"
          % (phone.cfg["codec"], phone.frame, phone.rate), n > 0 and good >= 0.95 * n,
          "%d of %d steps; step: count %s" % (good, n, top or "none"))


def check_browser_answer(case, browser, sdp, env):
    kw.check_webrtc_sdp(case, "browser (200 OK)", sdp, env, False)
    codecs = sdp_codecs(sdp)
    names = ["%d %s/%d" % (pt, n, r) for pt, (n, r, f) in codecs.items()]
    audio = [pt for pt, (n, r, f) in codecs.items() if n.lower() != "telephone-event"]
    check(case, "browser's answer keeps its Opus (PT %d) only" % OPUS_PT,
          audio == [OPUS_PT] and codecs[OPUS_PT][0].lower() == "opus", "answer: %s" % names)
    return codecs


def check_amrwb_payloads(case, cfg, phone):
    oa = fmtp_octet_align(cfg["fmtp"])
    pk = phone.audio_packets()
    bad, multi, fts = [], 0, {}
    for r in pk:
        frames, prob = amrwb_layout(r[7], oa)
        if prob:
            bad.append("seq %d: %s (%s)" % (r[3], prob, r[7][:6].hex()))
            continue
        if len(frames) != 1:
            multi += 1
        for ft, q in frames:
            fts[(ft, q)] = fts.get((ft, q), 0) + 1
    speech = sum(v for (ft, q), v in fts.items() if ft <= 8 and q == 1)
    check(case, "phone got RFC 4867 %s AMR-WB payloads (CMR, ToC, frame sizes), one 20 ms speech frame each"
          % ("octet-aligned" if oa else "bandwidth-efficient"),
          pk and not bad and not multi and speech >= 0.9 * len(pk),
          "%d payloads, %d malformed%s, %d with several frames, FT/Q counts %s"
          % (len(pk), len(bad), (": " + "; ".join(bad[:3])) if bad else "", multi,
             {"FT%d Q%d" % k: v for k, v in sorted(fts.items())}))


def check_switch(case, cfg, phone, env, call_id, bpcm, brate):
    """The phone switched to its second codec: the browser still hears its tone in the last
    1.5 s (all G.722 then), and rtpgate's query shows the switch with nothing dropped."""
    info("phone sent %d %s packets after %d %s ones" % (phone.tx_also, cfg["also"], phone.tx - phone.tx_also,
                                                        cfg["codec"]))
    tail = bpcm[-int(1.5 * brate):] if len(bpcm) > 2 * brate else bpcm[:0]
    f = kw.dominant_freq(tail, brate) if len(tail) else 0.0
    db, share = tone_level(tail, brate, TONE_PHONE) if len(tail) else (-200.0, 0.0)
    check(case, "browser hears the phone's %g Hz after it switched to %s" % (TONE_PHONE, cfg["also"]),
          phone.tx_also > 50 and abs(f - TONE_PHONE) < TOL_BROWSER_RX and abs(db - TONE_DBFS) <= TOL_LEVEL_DB,
          "%.1f Hz at %.1f dBFS in the last %.1f s (%d %s packets sent)"
          % (f, db, len(tail) / float(brate), phone.tx_also, cfg["also"]))
    q = env.ng.query(call_id)
    xc = None
    for tag in (q.get(b"tags") or {}).values():
        for m in tag.get(b"medias") or []:
            x = m.get(b"transcoding")
            if x and x.get(b"from", b"").decode().lower().startswith(cfg["codec"].lower()):
                xc = x
    also = [a.decode() for a in (xc or {}).get(b"also from", [])]
    check(case, "rtpgate took the phone's %s too and counted the switch (NG query)" % cfg["also"],
          xc is not None and xc.get(b"codec switches", 0) >= 1 and xc.get(b"dropped", -1) == 0 and
          any(a.startswith("%s/%d" % (cfg["also"], cfg["rate"])) for a in also),
          "codec switches %s, dropped %s, also from %s, packets in %s, passed through %s"
          % ((xc or {}).get(b"codec switches"), (xc or {}).get(b"dropped"), also,
             (xc or {}).get(b"packets in"), (xc or {}).get(b"packets passed through")))


async def run_case(case, env, state):
    cfg = CASES[case]
    loop = asyncio.get_running_loop()
    proxy = (IP, env.sip_port)
    phone = PhoneMedia(cfg)
    prob = phone.prepare(MEDIA_SECONDS)
    if not check(case, "phone's %s/%d encoder ready" % (cfg["codec"], cfg["rate"]), prob is None,
                 prob or "%d payloads%s" % (len(phone.tx_payloads), (", " + phone.encode_note) if phone.encode_note else "")):
        phone.close()
        return
    browser = BrowserMedia()
    uac_port = kw.free_port()
    uas = kw.UAS("phone", env.uas_port, phone)
    uac = kw.UAC("browser", uac_port, proxy, "sip:%s@%s:%d" % (cfg["user"], IP, env.uas_port), browser)
    tr_uas, _ = await loop.create_datagram_endpoint(lambda: uas, local_addr=(IP, env.uas_port))
    tr_uac, _ = await loop.create_datagram_endpoint(lambda: uac, local_addr=(IP, uac_port))
    call_ok = False
    try:
        t0 = time.monotonic()
        r = await uac.invite()
        check(case, "call set up (INVITE -> 200 -> ACK through Kamailio)", r is not None and r.status == 200,
              "final %s, %.2f s%s" % (r.first if r else "none", time.monotonic() - t0,
                                       ("; phone: " + uas.error) if uas.error else ""))
        if r is None or r.status != 200:
            return
        call_ok = state["call"] = True
        want = expected_flags(cfg["define"])
        got = re.findall(r"offer toward SIP for %s with codec flags: (.*)" % re.escape(uac.call_id),
                         env.kamailio.output())
        check(case, "Kamailio's offer toward the phone carried %s" % cfg["define"],
              want is not None and got and got[0].strip() == want, "logged %s, cfg %r" % (got, want))

        # ---- SDP ---------------------------------------------------------------
        info("phone was offered: " + kw.one_line(uas.offer_sdp or ""))
        check_phone_offer(case, cfg, phone, uas.offer_sdp)
        if cfg.get("also"):
            check(case, "phone was offered %s/%d as well" % (cfg["also"], cfg["rate"]), phone.also_pt is not None,
                  "offered %s" % ["%s/%d" % (n, r) for n, r, f in phone.offer.values()])
        info("phone answered: " + kw.one_line(uas.answer_sdp or ""))
        check_browser_answer(case, browser, uac.answer_sdp, env)
        te_ans = [pt for pt, (n, rr, f) in browser.answer_codecs.items()
                  if n.lower() == "telephone-event" and rr == 48000]
        check(case, "browser's answer has telephone-event/48000 with its PT %d (it can send DTMF)" % TE48_PT,
              te_ans == [TE48_PT], "telephone-event/48000 PTs %s%s" % (
                  te_ans, "; MISSING FEATURE: with a phone that has no telephone-event, rtpgate leaves it out of "
                  "the answer to the browser (no RFC 4733 <-> in-band DTMF conversion)"
                  if not te_ans and not cfg["te"] else ""))

        # ---- media ---------------------------------------------------------------
        state = await browser.wait_connected(10)
        check(case, "browser: ICE + DTLS connected", state == "connected", "connectionState %s" % state)

        dtmf_note = []

        async def browser_keys():
            await asyncio.sleep(BROWSER_DTMF_AT)
            try:
                browser.dtmf.insertDTMF(BROWSER_DIGITS)
            except RuntimeError as e:
                dtmf_note.append(str(e))

        await asyncio.gather(phone.run(MEDIA_SECONDS), browser.collect(MEDIA_SECONDS), browser_keys())
        if dtmf_note:
            info("browser could not send DTMF: %s" % "; ".join(dtmf_note))
        else:
            info("browser sent %s as %d RFC 4733 packets (PT %s) in place of Opus packets"
                 % (["%s@%d" % (d, ts) for d, ts, _ in browser.dtmf.sched.sent], browser.dtmf.replaced,
                    browser.dtmf.te_pt))

        # phone <- browser: audio
        apk = phone.audio_packets()
        exp = MEDIA_SECONDS * 50
        others = sorted({r[2] for r in phone.rx if r[1] == "other"})
        check(case, "phone received %s (PT %s) from rtpgate" % (cfg["codec"], phone.pt), len(apk) >= 0.6 * exp,
              "%d packets (of ~%d), other PTs %s, sent %d" % (len(apk), exp, others, phone.tx))
        if cfg["codec"] == "AMR-WB":
            check_amrwb_payloads(case, cfg, phone)
        else:
            sizes = sorted({len(r[7]) for r in apk})
            # 20 ms of G.711 = 160 octets; of G.722 (64 kbit/s, 16 kHz PCM) = 160 octets too; of
            # G.729 two 10-octet frames (rtpgate sends no Annex B SID)
            want = 20 if cfg["codec"] == "G729" else 160
            check(case, "phone got 20 ms %s payloads" % cfg["codec"], sizes == [want], "payload sizes %s" % sizes)
        check_timestamps(case, phone)
        pcm, note = phone.decode()
        if cfg["codec"] in ("AMR-WB", "G722", "G729"):
            m = re.search(r"(\d+) errors", note)
            check(case, "phone decoded every %s payload" % cfg["codec"],
                  m is not None and m.group(1) == "0" and len(pcm) > 0, note)
        prate = phone.pcm_rate
        f1 = kw.dominant_freq(pcm[prate // 2:], prate)
        db1, share1 = tone_level(pcm[prate // 2:], prate, TONE_BROWSER)
        check(case, "phone hears the browser's %g Hz (%s)" % (TONE_BROWSER, cfg["codec"]),
              abs(f1 - TONE_BROWSER) < TOL_PHONE_RX,
              "%.1f Hz from %.2f s of %d Hz PCM, %.1f dBFS, %.0f %% of it at the tone"
              % (f1, len(pcm) / float(prate), prate, db1, 100 * share1))
        check(case, "phone hears it at the level sent (%.1f dBFS +- %g dB)" % (TONE_DBFS, TOL_LEVEL_DB),
              abs(db1 - TONE_DBFS) <= TOL_LEVEL_DB, "%.1f dBFS" % db1)

        # browser <- phone: audio
        bpcm, brate = browser.pcm()
        save_wav(os.path.join(env.workdir, "%s-phone-heard.wav" % case), pcm, prate)
        save_wav(os.path.join(env.workdir, "%s-browser-heard.wav" % case), bpcm, brate)
        f2 = kw.dominant_freq(bpcm[brate // 2:], brate) if len(bpcm) else 0.0
        db2, share2 = tone_level(bpcm[brate // 2:], brate, TONE_PHONE) if len(bpcm) else (-200.0, 0.0)
        check(case, "browser hears the phone's %g Hz (Opus)" % TONE_PHONE, abs(f2 - TONE_PHONE) < TOL_BROWSER_RX,
              "%.1f Hz from %.2f s of audio, %.1f dBFS, %.0f %% of it at the tone"
              % (f2, len(bpcm) / float(brate), db2, 100 * share2))
        check(case, "browser hears it at the level sent (%.1f dBFS +- %g dB)" % (TONE_DBFS, TOL_LEVEL_DB),
              abs(db2 - TONE_DBFS) <= TOL_LEVEL_DB, "%.1f dBFS" % db2)
        if cfg.get("also"):
            check_switch(case, cfg, phone, env, uac.call_id, bpcm, brate)

        # ---- DTMF: browser -> phone ------------------------------------------------
        ppk = phone.event_packets()
        pev = parse_events(ppk)
        if cfg["te"]:
            check_events(case, "phone", pev, ppk, phone.rx, PHONE_TE_PT, BROWSER_DIGITS, phone.rate)
        else:
            check(case, "phone (no telephone-event) got no RFC 4733 packets", not ppk,
                  "%d packets: %s" % (len(ppk), describe_events(pev, phone.rate)))
            got = detect_dtmf(pcm, prate)
            missing = ("" if got == BROWSER_DIGITS else
                       "; MISSING FEATURE: rtpgate does not turn the browser's RFC 4733 events into in-band "
                       "DTMF tones for a phone without telephone-event (RFC 4733 -> in-band conversion, "
                       "gateway/transcode.c)" if not got else "; wrong digits")
            check(case, "phone hears the browser's DTMF %r as in-band tones (Goertzel)" % BROWSER_DIGITS,
                  got == BROWSER_DIGITS, "detected %r%s" % (got, missing))

        # ---- DTMF: phone -> browser ------------------------------------------------
        bpk = browser.event_packets()
        bev = parse_events(bpk)
        if cfg["te"]:
            check_events(case, "browser", bev, bpk, browser.rx, TE48_PT, PHONE_DIGITS, 48000)
        else:
            # (whether the tones stay in the audio too is the gateway's choice: a note, not a check)
            info("in-band DTMF detected in the browser's audio: %r (the phone sent %r)"
                 % (detect_dtmf(bpcm, brate), PHONE_DIGITS))
            digits = "".join(e["digit"] for e in bev)
            pts = sorted({p[1] for p in bpk})
            missing = ("" if digits == PHONE_DIGITS else
                       "; MISSING FEATURE: rtpgate does not detect a phone's in-band DTMF and send it as RFC 4733 "
                       "events to the browser (in-band -> RFC 4733 conversion, gateway/transcode.c)" if not bev
                       else "; wrong digits or PT")
            check(case, "browser gets the phone's in-band DTMF as RFC 4733 events (PT %d)" % TE48_PT,
                  digits == PHONE_DIGITS and pts == [TE48_PT],
                  "events: %s%s" % (describe_events(bev, 48000), missing))

        # ---- tear down -----------------------------------------------------------
        r = await uac.bye()
        call_ok = False
        check(case, "BYE answered 200 through Kamailio", r is not None and r.status == 200,
              r.first if r else "no final response")
        left = None
        end = time.monotonic() + 3
        while time.monotonic() < end:
            left = env.ng.list_calls()
            if not left:
                break
            await asyncio.sleep(0.1)
        check(case, "NG list empty after BYE", left == [], "list=%r" % (left,))
    finally:
        await kw.end_call(uac, uas, call_ok)
        await browser.close()
        phone.close()
        tr_uac.close()
        tr_uas.close()


def main():
    kind = os.environ.get("RG_DAEMON", "rtpgate")
    cases = [c.strip() for c in os.environ.get("RG_CASES", ",".join(CASES)).split(",") if c.strip()]
    for c in cases:
        if c not in CASES:
            print("unknown case %r (known: %s)" % (c, ", ".join(CASES)))
            return 2
    problem = kw.preflight()
    if problem:
        return kw.skip_or_fail(problem)
    browser_codecs()
    kw.install_signal_handlers()

    workdir = tempfile.mkdtemp(prefix="rg-kamtc-")
    procs = []
    t0 = time.monotonic()
    print("media daemon %s; Kamailio %s with %s; audio tool %s; cases %s"
          % (kind, kw.KAMAILIO, os.path.relpath(kw.KAMAILIO_CFG, kw.REPO), audio_tool_path(), ", ".join(cases)),
          flush=True)
    ncalls = 0
    try:
        env = kw.start_stack(kind, workdir, procs)
        if env is None:
            return kw.finish(kind, workdir, procs, t0)
        tool_ok = os.access(audio_tool_path(), os.X_OK)
        for case in cases:
            tc = time.monotonic()
            print("=== case %s ===" % case, flush=True)
            if CASES[case]["codec"] != "PCMU" and not check(
                    case, "rg_audio_tool is built (the phone's %s codec)" % CASES[case]["codec"], tool_ok,
                    "%s (RG_AUDIO_TOOL; meson builds tests/tools/rg_audio_tool)" % audio_tool_path()):
                continue
            state = {"call": False}
            try:
                asyncio.run(asyncio.wait_for(run_case(case, env, state), 40))
            except kw.Interrupted:
                raise
            except Exception as e:  # noqa: BLE001  a harness error is a failure
                import traceback
                traceback.print_exc()
                check(case, "case ran to the end", False, repr(e))
            ncalls += state["call"]     # a call set up has an $rtpstat line (BYE)
            info("case %s took %.1f s" % (case, time.monotonic() - tc))
        kw.check_stack_end(env, ncalls)
    except kw.Interrupted as e:
        check("-", "test not interrupted", False, str(e))
    except Exception as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        check("-", "test ran to the end", False, repr(e))
    return kw.finish(kind, workdir, procs, t0)


if __name__ == "__main__":
    sys.exit(main())
