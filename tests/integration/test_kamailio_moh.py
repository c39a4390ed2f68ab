#!/usr/bin/env python3
"""Music on hold and announcements through Kamailio's rtpproxy module, end to end.

    caller (Python UAC, 440 Hz)  --SIP-->  kamailio 5.6  --SIP-->  callee (Python UAS, 660 Hz)
        |                                    | rtpproxy module, conf/kamailio-rtpproxy.cfg
        |                                    | -A WITH_MOH, MOH_PROMPT, ANNOUNCE_PROMPT
        +------ PCMU RTP ------>  rtpgate  <------ PCMU RTP ------+
                           (plays the prompts: P / S)

The test writes two prompts (WAV, 1000 Hz): the music on hold (1.0 s, 16 kHz: resampled by
rtpgate) and the announcement (1.4 s, 8 kHz). The caller offers PCMA and PCMU (PCMA first), the
callee answers PCMU only: PCMU is the negotiated codec both ways. Both phones send their tone all
through the call and keep every RTP packet they receive (arrival time, PT, SSRC, decoded audio);
each 20 ms packet is classified by its dominant tone (Goertzel at 440, 660 and 1000 Hz).

Variants (RG_VARIANTS, comma list, default both): offer-answer (the script's
rtpproxy_offer/answer/destroy) and manage (-A WITH_MANAGE: rtpproxy_manage() only); the music on
hold rules are the same in both. Per variant, a fresh rtpgate and Kamailio and one call, in phases
(the script's WITH_MOH rules, see the cfg's header):
  A  INVITE -> 200: the script plays the announcement once to the callee
     (rtpproxy_stream2uas(ANNOUNCE_PROMPT, "1") on the 2xx of the initial INVITE);
  B  the caller re-INVITEs (sendrecv), the callee's answer puts it on hold (a=sendonly):
     rtpproxy_stream2uac(MOH_PROMPT, "-1"), music to the caller in a loop;
  C  the caller re-INVITEs again, answered sendrecv: rtpproxy_stop_stream2uac();
  D  the caller puts the callee on hold (re-INVITE a=sendonly): rtpproxy_stream2uas(MOH_PROMPT, "-1");
  E  the caller resumes (re-INVITE a=sendrecv): rtpproxy_stop_stream2uas(); then BYE.

Checks (one PASS/FAIL line each):
  1. B: the caller hears 1000 Hz (>= 90 % of its packets), PCMU (the negotiated codec, not the
     PCMA it offered first), from an SSRC that is not the callee's, for longer than two passes
     of the prompt (the loop), and not one packet of the callee's 660 Hz;
  2. C: the caller hears the callee's 660 Hz again (>= 90 %) and no 1000 Hz;
  3. A: the callee hears the announcement once: 1000 Hz for the prompt's 1.4 s (+- 0.12 s),
     starting within 0.5 s of its 200, no 440 Hz meanwhile, then the caller's 440 Hz (>= 90 %)
     and no 1000 Hz until D; D: the callee hears the music (1000 Hz, no 440 Hz); E: 440 Hz again;
     A: the caller hears 660 Hz from the start;
  4. the rtpproxy commands Kamailio sent (captured with tcpdump on lo) include exactly these P/S,
     in this order, each answered "0":
       A  P1 <callid> <ANNOUNCE_PROMPT> session <callee>;1 <caller>;1
       B  S <callid> <callee>;1 <caller>;1         (the request's stop_stream2uas)
          P-1 <callid> <MOH_PROMPT> session <caller>;1 <callee>;1
       C  S <callid> <callee>;1 <caller>;1,  S <callid> <caller>;1 <callee>;1
       D  P-1 <callid> <MOH_PROMPT> session <callee>;1 <caller>;1
       E  S <callid> <callee>;1 <caller>;1,  S <callid> <caller>;1 <callee>;1
     (Kamailio sends P/S only to a relay that answered its VF 20081102 probe 1; the test asks too);
  and: every re-INVITE and the BYE answered 200; no session left in rtpgate (rtpproxy I) after
  the BYE; $rtpstat (Q) saw packets; no ERROR in Kamailio's log; rtpgate and Kamailio still run.

It reuses the SIP agents, the stack start-up and the reporting of test_kamailio_webrtc.py, and
the rtpproxy client and capture reader of test_kamailio_rtpproxy.py. Standard library only.

Environment: RG_BIN (rtpgate binary), RG_VARIANTS, RG_KEEP_TMP=1 (keep the work directory: per
variant the logs, lo.pcap, what each phone heard as WAV), RG_ALLOW_SKIP=1 (exit 77 when not root
or a tool is missing). About 14 s per variant. Exit 0 only if every check passed; the last line is "N passed, N failed".
"""

import asyncio
import array
import math
import os
import random
import signal
import struct
import sys
import tempfile
import time
import warnings
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import test_kamailio_webrtc as kw  # noqa: E402  (SIP agents, stack start-up, reporting)
import test_kamailio_rtpproxy as krp  # noqa: E402  (rtpproxy client, capture reader, the cfg)
import test_kamailio_rtpengine as kr  # noqa: E402  (tool paths, Proc)
from test_kamailio_webrtc import IP, check  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

TONE_CALLER, TONE_CALLEE, TONE_PROMPT = 440, 660, 1000
TONES = (TONE_CALLER, TONE_CALLEE, TONE_PROMPT)
MOH = dict(name="moh.wav", rate=16000, seconds=1.0)
ANNOUNCE = dict(name="announce.wav", rate=8000, seconds=1.4)
# seconds of each phase (A..E) and the margin left out of the windows after each change
PHASE_S = dict(A=2.6, B=3.0, C=2.0, D=2.4, E=2.0)
MARGIN = 0.15
MOSTLY = 0.90
RTPSTAT = (r"rtpstat (\S+): \d+ \d+ \d+ (\d+) \d+", "rtpproxy Q")
# the script's two ways of driving the relay (extra -A defines)
VARIANTS = {"offer-answer": [], "manage": ["WITH_MANAGE"]}


def write_prompt(path, rate, seconds, hz=TONE_PROMPT):
    n = int(rate * seconds)
    pcm = array.array("h", (int(10000 * math.sin(2 * math.pi * hz * i / rate)) for i in range(n)))
    if sys.byteorder != "little":
        pcm.byteswap()
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def tone_of(pcm):
    """The tone of one packet's audio (16-bit samples): 440/660/1000 when that frequency holds
    more than 60 % of the energy, "silence" (RMS < 200), else "other"."""
    x = array.array("h", pcm)
    n = len(x)
    energy = sum(v * v for v in x)
    if not n or energy < n * 200 * 200:
        return "silence"
    best, best_f = 0.0, None
    for f in TONES:
        coeff = 2 * math.cos(2 * math.pi * f / 8000.0)
        s1 = s2 = 0.0
        for v in x:
            s1, s2 = v + coeff * s1 - s2, s1
        frac = 2 * (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * energy)
        if frac > best:
            best, best_f = frac, f
    return best_f if best > 0.6 else "other"


class Phone(kw.PlainMedia):
    """A PCMU phone that sends its tone all the time once it knows where to, and keeps every RTP
    packet it receives as (arrival, PT, SSRC, tone). Offers `offer_pts`, answers PCMU only, with
    the direction the test sets."""

    NAMES = {0: "PCMU/8000", 8: "PCMA/8000"}

    def __init__(self, tone, offer_pts):
        super().__init__()
        self.tone = tone
        self.pts = list(offer_pts)
        self.direction = "sendrecv"
        self.session, self.version = random.randint(1, 1 << 30), 0
        self.rx = []
        self.pcm_rx = bytearray()
        self.answered_at = None
        self.task = None

    def sdp(self):
        self.version += 1
        lines = ["v=0", "o=phone %d %d IN IP4 %s" % (self.session, self.version, IP), "s=-",
                 "c=IN IP4 %s" % IP, "t=0 0", "m=audio %d RTP/AVP %s" % (self.port, " ".join(map(str, self.pts)))]
        lines += ["a=rtpmap:%d %s" % (pt, self.NAMES[pt]) for pt in self.pts]
        lines += ["a=ptime:20", "a=" + self.direction]
        return "\r\n".join(lines) + "\r\n"

    def answer_now(self, offer, direction):
        if "0" not in kw.sdp_info(offer)["pts"]:
            raise RuntimeError("offer without PCMU: %s" % kw.one_line(offer))
        self._learn(offer)
        self.pts, self.direction = [0], direction
        if self.answered_at is None:
            self.answered_at = time.monotonic()
            self.start()
        return self.sdp()

    async def answer(self, offer):
        return self.answer_now(offer, self.direction)

    def start(self):
        if self.task is None:
            self.task = asyncio.ensure_future(self.run())

    async def stop(self):
        if self.task:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
        self._drain()

    def pcm_frame(self, i):
        step = 2 * math.pi * self.tone / 8000.0
        pcm = array.array("h", (int(8000 * math.sin(step * (i * 160 + k))) for k in range(160)))
        return pcm.tobytes()

    def on_rtp(self, data):
        pt = data[1] & 0x7F
        body = data[12 + 4 * (data[0] & 0x0F):]
        pcm = audioop.ulaw2lin(body, 2) if pt == 0 else audioop.alaw2lin(body, 2) if pt == 8 else b""
        self.pcm_rx += pcm
        self.rx.append((time.monotonic(), pt, struct.unpack("!I", data[8:12])[0], tone_of(pcm)))

    def heard(self, t0, t1):
        """The packets received in [t0, t1): (count, {tone: count}, {PT}, {SSRC})."""
        sel = [r for r in self.rx if t0 <= r[0] < t1]
        tones = {}
        for r in sel:
            tones[r[3]] = tones.get(r[3], 0) + 1
        return len(sel), tones, {r[1] for r in sel}, {r[2] for r in sel}

    def save(self, path):
        pcm = array.array("h", bytes(self.pcm_rx))
        if sys.byteorder != "little":
            pcm.byteswap()
        with wave.open(path, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(pcm.tobytes())


class Callee(kw.UAS):
    """kw.UAS plus re-INVITEs: answered 200 with the phone's SDP, the direction following the
    offer's hold (sendonly -> recvonly) or else `answer_dir`; a retransmission gets the same 200."""

    def __init__(self, name, port, media):
        super().__init__(name, port, media)
        self.answer_dir = "sendrecv"
        self.replies = {}

    def on_message(self, msg, addr):
        if (msg.is_request and msg.method == "INVITE" and self.invite is not None
                and msg.call_id == self.invite.call_id and msg.cseq != self.invite.cseq):
            n = msg.cseq[0]
            if n not in self.replies:
                d = "recvonly" if "a=sendonly" in msg.body else "inactive" if "a=inactive" in msg.body \
                    else self.answer_dir
                sdp = self.media.answer_now(msg.body, d)
                self.replies[n] = self.reply(msg, addr, 200, "OK", body=sdp, extra=[
                    ("Contact", "<sip:%s@%s:%d>" % (self.name, IP, self.port))])
            else:
                self.send(self.replies[n], addr)
            return
        super().on_message(msg, addr)


def share(tones, tone, n):
    return tones.get(tone, 0) / float(n) if n else 0.0


def describe(n, tones, pts, ssrcs):
    return "%d packets, tones %s, PT %s, %d SSRC(s)" % (
        n, ", ".join("%s: %d" % (k, v) for k, v in sorted(tones.items(), key=lambda kv: str(kv[0]))),
        sorted(pts), len(ssrcs))


async def run_call(v, env, marks):
    """The call, phases A-E; marks gets the times of each step. Returns (caller, callee, uac, uas)."""
    loop = asyncio.get_running_loop()
    caller, callee = Phone(TONE_CALLER, [8, 0]), Phone(TONE_CALLEE, [0])
    uac_port = kw.free_port()
    uas = Callee("callee", env.uas_port, callee)
    uac = kw.UAC("caller", uac_port, (IP, env.sip_port), "sip:callee@%s:%d" % (IP, env.uas_port), caller)
    tr_uas, _ = await loop.create_datagram_endpoint(lambda: uas, local_addr=(IP, env.uas_port))
    tr_uac, _ = await loop.create_datagram_endpoint(lambda: uac, local_addr=(IP, uac_port))
    up = False
    try:
        r = await uac.invite()
        marks["A"] = time.monotonic()
        if not check(v, "A: call set up (INVITE -> 200 -> ACK through Kamailio)", r is not None and r.status == 200,
                     r.first if r else "no final response" + ("; UAS: " + uas.error if uas.error else "")):
            return caller, callee, uac, uas
        up = True
        caller.start()
        await asyncio.sleep(PHASE_S["A"])
        # B: hold of the caller in the callee's answer; C: resumed; D: the caller holds; E: resumed
        for phase, offer_dir, answer_dir in (("B", "sendrecv", "sendonly"), ("C", "sendrecv", "sendrecv"),
                                             ("D", "sendonly", None), ("E", "sendrecv", "sendrecv")):
            marks[phase + "-sent"] = time.monotonic()
            uas.answer_dir = answer_dir or "sendrecv"
            caller.direction = offer_dir
            r = await uac.reinvite(caller.sdp())
            marks[phase] = time.monotonic()
            check(v, "%s: re-INVITE (%s) answered 200" % (phase, offer_dir), r is not None and r.status == 200,
                  r.first if r else "no final response")
            await asyncio.sleep(PHASE_S[phase])
        marks["end"] = time.monotonic()
        r = await uac.bye()
        up = False
        check(v, "BYE answered 200 through Kamailio", r is not None and r.status == 200,
              r.first if r else "no final response")
    finally:
        await caller.stop()
        await callee.stop()
        await kw.end_call(uac, uas, up)
        caller.close()
        callee.close()
        tr_uac.close()
        tr_uas.close()
    return caller, callee, uac, uas


def check_caller(v, caller, callee_ssrcs, marks):
    m = MARGIN
    n, tones, pts, ssrcs = caller.heard(marks["A"] + 0.5, marks["B-sent"])
    check(v, "A: the caller hears the callee's %d Hz" % TONE_CALLEE, share(tones, TONE_CALLEE, n) >= MOSTLY,
          describe(n, tones, pts, ssrcs))
    t0, t1 = marks["B"] + m, marks["C-sent"]
    n, tones, pts, ssrcs = caller.heard(t0, t1)
    loop_s = MOH["seconds"] * 2.5
    good = share(tones, TONE_PROMPT, n) >= MOSTLY and n >= 0.8 * 50 * (t1 - t0) and t1 - t0 >= loop_s
    check(v, "1. B (held, rtpproxy_stream2uac -1): the caller hears the %d Hz music for %.1f s, over two "
          "passes of the %.1f s prompt" % (TONE_PROMPT, t1 - t0, MOH["seconds"]), good, describe(n, tones, pts, ssrcs))
    check(v, "1. B: ... and not one packet of the callee's %d Hz" % TONE_CALLEE, n and not tones.get(TONE_CALLEE),
          "%d of %d packets at %d Hz" % (tones.get(TONE_CALLEE, 0), n, TONE_CALLEE))
    check(v, "1. B: ... in the negotiated codec (PCMU; PCMA was offered first), as rtpgate's own stream",
          pts == {0} and not ssrcs & callee_ssrcs, "PT %s, SSRCs %s vs the callee's %s"
          % (sorted(pts), sorted(ssrcs), sorted(callee_ssrcs)))
    n, tones, pts, ssrcs = caller.heard(marks["C"] + m, marks["D-sent"])
    check(v, "2. C (rtpproxy_stop_stream2uac): the caller hears the callee's %d Hz again, no %d Hz"
          % (TONE_CALLEE, TONE_PROMPT), share(tones, TONE_CALLEE, n) >= MOSTLY and not tones.get(TONE_PROMPT),
          describe(n, tones, pts, ssrcs))


def check_callee(v, callee, marks):
    m = MARGIN
    t_ans = callee.answered_at
    prompt = [r for r in callee.rx if t_ans <= r[0] < marks["B-sent"] and r[3] == TONE_PROMPT]
    if not prompt:
        check(v, "3. A (rtpproxy_stream2uas 1): the callee hears the announcement", False,
              describe(*callee.heard(t_ans, marks["B-sent"])))
        return
    first, last = prompt[0][0], prompt[-1][0]
    dur = len(prompt) * 0.02
    check(v, "3. A: the callee hears the %.1f s announcement once: %.2f s of %d Hz, %.2f s after its 200"
          % (ANNOUNCE["seconds"], dur, TONE_PROMPT, first - t_ans),
          abs(dur - ANNOUNCE["seconds"]) <= 0.12 and first - t_ans <= 0.5 and last - first <= ANNOUNCE["seconds"] + 0.2,
          "first %.2f s, last %.2f s after the 200" % (first - t_ans, last - t_ans))
    n, tones, pts, ssrcs = callee.heard(first, last)
    check(v, "3. A: ... the caller's %d Hz muted meanwhile" % TONE_CALLER, not tones.get(TONE_CALLER),
          describe(n, tones, pts, ssrcs))
    n, tones, pts, ssrcs = callee.heard(last + m, marks["D-sent"])
    check(v, "3. A-C: then the caller's %d Hz, the announcement not again and no music"
          % TONE_CALLER, share(tones, TONE_CALLER, n) >= MOSTLY and not tones.get(TONE_PROMPT),
          describe(n, tones, pts, ssrcs))
    n, tones, pts, ssrcs = callee.heard(marks["D"] + m, marks["E-sent"])
    check(v, "D (the caller holds, rtpproxy_stream2uas -1): the callee hears the %d Hz music, not the "
          "caller's %d Hz" % (TONE_PROMPT, TONE_CALLER),
          share(tones, TONE_PROMPT, n) >= MOSTLY and not tones.get(TONE_CALLER), describe(n, tones, pts, ssrcs))
    n, tones, pts, ssrcs = callee.heard(marks["E"] + m, marks["end"])
    check(v, "E (rtpproxy_stop_stream2uas): the callee hears the caller's %d Hz again, no %d Hz"
          % (TONE_CALLER, TONE_PROMPT), share(tones, TONE_CALLER, n) >= MOSTLY and not tones.get(TONE_PROMPT),
          describe(n, tones, pts, ssrcs))


def check_commands(v, pcap, ctl_port, uac, uas, prompts):
    """4. the P/S commands Kamailio sent, in order, with their answers."""
    cmds, answers, order = {}, {}, []
    for ts, _src, sport, _dst, dport, payload in krp.read_udp_any(pcap):
        ck, _, rest = payload.decode("latin-1").partition(" ")
        if dport == ctl_port and ck not in cmds:
            cmds[ck] = rest
            order.append(ck)
        elif sport == ctl_port:
            answers[ck] = rest
    cid, caller, callee = uac.call_id, uac.from_tag, uas.to_tag
    moh, ann = prompts
    want = [
        ("A", "P1 %s %s session %s;1 %s;1" % (cid, ann, callee, caller)),
        ("B", "S %s %s;1 %s;1" % (cid, callee, caller)),
        ("B", "P-1 %s %s session %s;1 %s;1" % (cid, moh, caller, callee)),
        ("C", "S %s %s;1 %s;1" % (cid, callee, caller)),
        ("C", "S %s %s;1 %s;1" % (cid, caller, callee)),
        ("D", "P-1 %s %s session %s;1 %s;1" % (cid, moh, callee, caller)),
        ("E", "S %s %s;1 %s;1" % (cid, callee, caller)),
        ("E", "S %s %s;1 %s;1" % (cid, caller, callee)),
    ]
    got = [(cmds[ck], answers.get(ck)) for ck in order if cmds[ck][:1] in ("P", "S")]
    same = [c for c, _a in got] == [w for _p, w in want]
    check(v, "4. Kamailio sent P/S as expected (stream2uas/uac: To-tag/From-tag first, ;1, 'session')", same,
          "got %r" % [c for c, _a in got] if not same else "%d commands" % len(got))
    for (phase, w), (c, a) in zip(want, got):
        if c == w:
            check(v, "4. %s: '%s' answered 0" % (phase, w.replace(cid, "<callid>")), a == "0\n", "%r" % a)


async def run_variant(v, env, workdir, procs, prompts):
    pcap = os.path.join(workdir, "lo.pcap")
    procs.append(kr.Proc("tcpdump", [kr.TCPDUMP, "-i", "lo", "-n", "-s", "0", "-U", "-Z", "root", "-w", pcap,
                                     "udp port %d" % env.rtpp_port], os.path.join(workdir, "tcpdump.log")))
    if not check(v, "tcpdump capturing the rtpproxy control port",
                 kr.wait_until(lambda: "listening on" in procs[-1].output(), 10)):
        return
    marks = {}
    caller, callee, uac, uas = await run_call(v, env, marks)
    caller.save(os.path.join(workdir, "caller-heard.wav"))
    callee.save(os.path.join(workdir, "callee-heard.wav"))
    if "end" in marks:
        # the callee's own SSRC, as the caller got it relayed in phase A
        relayed = {r[2] for r in caller.rx if marks["A"] <= r[0] < marks["B-sent"] and r[3] == TONE_CALLEE}
        check_caller(v, caller, relayed, marks)
        check_callee(v, callee, marks)
    rtpp = krp.RtppClient(IP, env.rtpp_port)
    try:
        vf = rtpp.cmd("VF 20081102")
    except (OSError, RuntimeError) as e:
        vf = repr(e)
    check(v, "rtpgate answers VF 20081102 (what rtpproxy_stream2* require) with 1", vf == "1\n", "%r" % vf)
    left = {}
    kr.wait_until(lambda: left.update(rtpp.info()) or left.get("active sessions") == 0, 3.0, 0.2)
    check(v, "no session left in rtpgate after the BYE (rtpproxy I)", left.get("active sessions") == 0,
          "I: %r" % left)
    time.sleep(0.3)
    procs[-1].stop(signal.SIGINT)
    check_commands(v, pcap, env.rtpp_port, uac, uas, prompts)


def main():
    names = [x.strip() for x in os.environ.get("RG_VARIANTS", ",".join(VARIANTS)).split(",") if x.strip()]
    if any(n not in VARIANTS for n in names):
        print("unknown variant in %r (%s)" % (names, ", ".join(VARIANTS)))
        return 2
    binary = os.environ.get("RG_BIN")
    missing = [t for t in (kw.KAMAILIO, kr.TCPDUMP) if not os.path.exists(t)]
    if not binary or not os.path.exists(binary):
        return kw.skip_or_fail("RG_BIN must name the rtpgate binary")
    if missing:
        return kw.skip_or_fail("missing tools: %s" % ", ".join(missing))
    if os.geteuid() != 0:
        return kw.skip_or_fail("needs root (tcpdump captures lo)")
    kw.install_signal_handlers()
    workdir = tempfile.mkdtemp(prefix="rg-kammoh-")
    procs, logdirs = [], []
    t0 = time.monotonic()
    try:
        pdir = os.path.join(workdir, "prompts")
        os.makedirs(pdir)
        prompts = []
        for p in (MOH, ANNOUNCE):
            prompts.append(os.path.join(pdir, p["name"]))
            write_prompt(prompts[-1], p["rate"], p["seconds"])
        for v in names:
            print("=== variant %s ===" % v, flush=True)
            vdir = os.path.join(workdir, v)
            os.makedirs(vdir)
            logdirs.append(vdir)
            env = kw.start_stack("rtpgate", vdir, procs, cfg=krp.KAMAILIO_CFG, defines=[
                "WITH_MOH", 'MOH_PROMPT="%s"' % prompts[0], 'ANNOUNCE_PROMPT="%s"' % prompts[1]] + VARIANTS[v])
            if env is not None:
                asyncio.run(asyncio.wait_for(run_variant(v, env, vdir, procs, prompts), 45))
                kw.check_stack_end(env, 1, RTPSTAT)
            while procs:
                procs.pop().stop()
    except kw.Interrupted as e:
        check("-", "test not interrupted", False, str(e))
    except Exception as e:  # noqa: BLE001  a harness error is a failure, and the processes still stop
        import traceback
        traceback.print_exc()
        check("-", "test ran to the end", False, repr(e))
    return kw.finish("rtpgate", workdir, procs, t0, logdirs)


if __name__ == "__main__":
    sys.exit(main())
