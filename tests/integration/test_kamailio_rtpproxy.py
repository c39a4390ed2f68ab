#!/usr/bin/env python3
"""End-to-end test of rtpgate's rtpproxy protocol: sipp UAC -> Kamailio 5.6
(its unchanged `rtpproxy` module, conf/kamailio-rtpproxy.cfg) -> sipp UAS,
media anchored on rtpgate through the rtpproxy text protocol.

    UAC  sipp 127.0.0.2 ----SIP----> kamailio 127.0.0.1 ----SIP----> UAS sipp 127.0.0.3 (or ::1)
      |                                 | rtpproxy (udp 127.0.0.1:P)       |
      +---RTP---> rtpgate internal 127.0.0.1 | external 127.0.0.2 or ::1 <---RTP---+

Variants (RG_VARIANTS, comma list, default all):
    offer-answer  rtpproxy_offer("rcowz20") / rtpproxy_answer("rcow") /
                  rtpproxy_destroy() (z20 reaches rtpgate as Z20: sipp's 20 ms
                  packets are already of that length and pass unchanged, which
                  the RTP checks prove); then one call whose
                  SDP already carries a=nortpproxy:yes (must pass untouched,
                  the relay never asked). Recording: Kamailio runs with
                  WITH_RECORDING (start_recording() on the ACK: R) and rtpgate
                  with --recording-dir; per call the pcap holds the RTP that
                  entered rtpgate from both sides (same SSRC/seq/payload), the
                  two WAVs carry the two tones (440 / 660 Hz), the metadata
                  names the call
    manage        rtpproxy_manage("a") only (asymmetric; note Kamailio's own
                  destroy rejects digits, so "zNN" cannot be given to manage)
    bridge-ie     offer "ief", answer "ei": caller on interface internal
                  127.0.0.1, callee on external 127.0.0.2; then the marker
                  call again, proxied all the same (flag f)
    ipv6-x        flag x, external interface ::1, callee sipp on [::1]
                  (IPv4 <-> IPv6 bridging)

Per variant: 5 concurrent calls (RG_CALLS), each INVITE -> 200 -> ACK -> 4 s
of PCMU RTP both ways -> re-INVITE hold -> re-INVITE resume -> 1 s RTP -> BYE.
Checks (one PASS/FAIL line each): the SDP each side got points at the right
relay address and a port of the relay's range (distinct per leg, kept over the
re-INVITEs); per call and direction >= 99 % of the RTP that entered rtpgate
left it, unchanged; the commands Kamailio sent (captured) carry the expected
modifiers and every answer is well formed; rtpgate has no session left after
the BYEs and answered no command with an error; $rtpstat (a Q) reported
packets; both sipps succeeded; no ERROR in Kamailio's log; both daemons alive.

It reuses the harness of test_kamailio_rtpengine.py (processes, reporting,
SIP/SDP parsing) and ngclient.py: the calls made through the rtpproxy protocol
are visible to NG `list` (one call core).

Environment: RG_BIN (rtpgate binary, required), RG_VARIANTS, RG_CALLS,
RG_KEEP_TMP=1, RG_ALLOW_SKIP=1 (exit 77 when not root / tools missing),
RG_VERBOSE=1. Exit 0 only if every check passed; last line "N passed, N failed".
"""

import os
import random
import re
import shutil
import signal
import socket
import struct
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import test_kamailio_rtpengine as kr  # noqa: E402  (Proc, Report, SIP/SDP parsing, ...)
from ngclient import NGClient, NGError, NGTimeout, text  # noqa: E402
import pcaputil  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
KAMAILIO_CFG = os.path.join(REPO, "conf", "kamailio-rtpproxy.cfg")
SIPP_DIR = os.path.join(HERE, "sipp")

IP_PROXY = "127.0.0.1"
IP_INTERNAL = "127.0.0.1"
IP_EXTERNAL = "127.0.0.2"
IP_UAC = "127.0.0.2"
IP_UAS = "127.0.0.3"

NCALLS = int(os.environ.get("RG_CALLS", "5"))
MAIN_SECONDS, RESUME_SECONDS, PTIME_MS = 4.0, 1.0, 20
MIN_RATIO = 0.99

VARIANTS = {
    "offer-answer": dict(manage=False, offer="rcowz20", answer="rcow", uas_ip=IP_UAS,
                         ifaces=["internal/" + IP_INTERNAL, "external/" + IP_EXTERNAL],
                         gw_uac=IP_INTERNAL, gw_uas=IP_INTERNAL, mods={"U": "SZ20", "L": "S"},
                         marker="skip", rules=True, record=True),
    "manage": dict(manage=True, flags="a", uas_ip=IP_UAS,
                   ifaces=["internal/" + IP_INTERNAL, "external/" + IP_EXTERNAL],
                   gw_uac=IP_INTERNAL, gw_uas=IP_INTERNAL, mods={"U": "A", "L": "A"}, rules=True),
    "bridge-ie": dict(manage=False, offer="ief", answer="ei", uas_ip=IP_UAS,
                      ifaces=["internal/" + IP_INTERNAL, "external/" + IP_EXTERNAL],
                      gw_uac=IP_INTERNAL, gw_uas=IP_EXTERNAL, mods={"U": "IE", "L": "EI"}, marker="force"),
    "ipv6-x": dict(manage=False, offer="x", answer="x", uas_ip="::1",
                   ifaces=["internal/" + IP_INTERNAL, "external/::1"],
                   gw_uac=IP_INTERNAL, gw_uas="::1", mods={"U": "IE", "L": "EI6"}),
}

Proc, Report, wait_until, log = kr.Proc, kr.Report, kr.wait_until, kr.log


# ---------------------------------------------------------------------------
# ports (IPv4 and IPv6)
# ---------------------------------------------------------------------------

def _free(ip, port, kind=socket.SOCK_DGRAM):
    fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
    s = socket.socket(fam, kind)
    try:
        s.bind((ip, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_ports(ips, count=1, step=1, low=25000, high=27000):
    for _ in range(500):
        base = random.randrange(low, high - count, step)
        if all(_free(ip, base + i) for ip in ips for i in range(count)):
            return base
    raise RuntimeError("no free UDP port range of %d in %d-%d" % (count, low, high))


# ---------------------------------------------------------------------------
# rtpproxy control client (the same protocol Kamailio speaks)
# ---------------------------------------------------------------------------

class RtppClient:
    def __init__(self, host, port, timeout=1.0):
        self.addr = (host, port)
        self.timeout = timeout
        self.seq = 0

    def cmd(self, command):
        self.seq += 1
        cookie = "t%d_%d" % (os.getpid(), self.seq)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.settimeout(self.timeout)
            s.sendto(("%s %s" % (cookie, command)).encode(), self.addr)
            data = s.recv(65535).decode("utf-8", "replace")
        finally:
            s.close()
        if not data.startswith(cookie + " "):
            raise RuntimeError("answer with a wrong cookie: %r" % data)
        return data[len(cookie) + 1:]

    def wait_ready(self, total=10.0):
        end = time.monotonic() + total
        while time.monotonic() < end:
            try:
                if self.cmd("V") == "20040107\n":
                    return True
            except (OSError, RuntimeError):
                pass
            time.sleep(0.2)
        return False

    def info(self):
        out = {}
        for ln in self.cmd("I").splitlines():
            if ":" in ln:
                k, v = ln.split(":", 1)
                out[k.strip()] = int(v.strip())
        return out

    def counter(self, name):
        return int(self.cmd("G " + name).strip())


# ---------------------------------------------------------------------------
# capture: IPv4 and IPv6 UDP (pcaputil reads IPv4 only)
# ---------------------------------------------------------------------------

def read_udp_any(path):
    """(ts, src, sport, dst, dport, payload) for IPv4 and IPv6 UDP datagrams."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    e = "<" if struct.unpack("<I", data[:4])[0] in (pcaputil.PCAP_MAGIC_US, pcaputil.PCAP_MAGIC_NS) else ">"
    div = 1e9 if struct.unpack(e + "I", data[:4])[0] == pcaputil.PCAP_MAGIC_NS else 1e6
    lt = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    pos = 24
    while pos + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(e + "IIII", data[pos:pos + 16])
        frame = data[pos + 16:pos + 16 + incl]
        pos += 16 + incl
        if len(frame) < incl:
            break
        if lt == pcaputil.DLT_EN10MB:
            etype, off = struct.unpack("!H", frame[12:14])[0], 14
        elif lt == pcaputil.DLT_LINUX_SLL:
            etype, off = struct.unpack("!H", frame[14:16])[0], 16
        elif lt == 101 and frame:   # LINKTYPE_RAW (rtpgate's recordings)
            etype, off = (0x0800 if frame[0] >> 4 == 4 else 0x86DD), 0
        else:
            continue
        if etype == 0x0800 and len(frame) >= off + 20 and frame[off + 9] == 17:
            ihl = (frame[off] & 0x0F) * 4
            if struct.unpack("!H", frame[off + 6:off + 8])[0] & 0x1FFF:
                continue
            total = struct.unpack("!H", frame[off + 2:off + 4])[0]
            ip = frame[off:off + total]
            src, dst = socket.inet_ntop(socket.AF_INET, ip[12:16]), socket.inet_ntop(socket.AF_INET, ip[16:20])
            udp = ip[ihl:]
        elif etype == 0x86DD and len(frame) >= off + 40 and frame[off + 6] == 17:
            ip = frame[off:]
            src, dst = socket.inet_ntop(socket.AF_INET6, ip[8:24]), socket.inet_ntop(socket.AF_INET6, ip[24:40])
            udp = ip[40:40 + struct.unpack("!H", ip[4:6])[0]]
        else:
            continue
        if len(udp) < 8:
            continue
        sport, dport, ulen = struct.unpack("!HHH", udp[:6])
        yield sec + frac / div, src, sport, dst, dport, bytes(udp[8:ulen])


def analyse_capture(pcap, uac_port, uas_ports, uas_ip, ctl_port, gw_ips, pmin, pmax):
    """SDPs per call (what the UAS got in each INVITE, the UAC in each 200),
    RTP flows touching the relay's ports, and the rtpproxy commands/answers."""
    calls, flows, cmds, answers = {}, {}, {}, {}
    for _ts, src, sport, dst, dport, payload in read_udp_any(pcap):
        if dport == ctl_port or sport == ctl_port:
            txt = payload.decode("latin-1")
            ck, _, rest = txt.partition(" ")
            (cmds if dport == ctl_port else answers)[ck] = rest
            continue
        if (dst in gw_ips and pmin <= dport <= pmax) or (src in gw_ips and pmin <= sport <= pmax):
            f = flows.setdefault((src, sport, dst, dport), {"n": 0, "rtp": {}})
            f["n"] += 1
            if len(payload) >= 12 and payload[0] >> 6 == 2:
                cc = payload[0] & 0x0F
                seq = (payload[2] << 8) | payload[3]
                ssrc = int.from_bytes(payload[8:12], "big")
                f["rtp"][(ssrc, seq)] = (payload[1] & 0x7F, payload[12 + 4 * cc:])
            continue
        if (dst, dport) in ((uas_ip, p) for p in uas_ports):
            who = "uas"
        elif (dst, dport) == (IP_UAC, uac_port):
            who = "uac"
        else:
            continue
        msg = kr.parse_sip(payload)
        if not msg:
            continue
        start, hdrs, body = msg
        cid = hdrs.get("call-id", [None])[0]
        num, method = kr.cseq_of(hdrs)
        if not cid or method not in ("INVITE", "ACK") or "application/sdp" not in hdrs.get("content-type", [""])[0]:
            continue
        c = calls.setdefault(cid, {"uas_invite": {}, "uac_200": {}, "uas_ack": {}})
        if who == "uas" and start.startswith("INVITE "):
            c["uas_invite"].setdefault(num, kr.parse_sdp(body))
        elif who == "uas" and start.startswith("ACK "):
            c["uas_ack"].setdefault(num, kr.parse_sdp(body))
        elif who == "uac" and start.startswith("SIP/2.0 200"):
            c["uac_200"].setdefault(num, kr.parse_sdp(body))
    return calls, flows, cmds, answers


ANSWER_RE = re.compile(r"^(?:\d+ \d+ \d+ \d+ \d+|\d+(?: [0-9.]+| [0-9a-fA-F:]+ 6)?|E\d+|0|1)\n$")


# ---------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------

def start_rtpgate(binary, ifaces, ctl_port, ng_port, pmin, pmax, logpath, recdir=None):
    cmd = [binary, "--config-file=none", "--foreground", "--log-stderr", "--num-threads=2",
           "--listen-rtpproxy=udp:127.0.0.1:%d" % ctl_port, "--listen-ng=127.0.0.1:%d" % ng_port,
           "--port-min=%d" % pmin, "--port-max=%d" % pmax] + ["--interface=" + i for i in ifaces]
    if recdir:
        cmd.append("--recording-dir=" + recdir)
    return Proc("rtpgate", cmd, logpath)


# ---------------------------------------------------------------------------
# rtpgate's recordings (recdir/*.meta, *.pcap, *-legN.wav)
# ---------------------------------------------------------------------------

def read_meta(path):
    out = {}
    with open(path, errors="replace") as f:
        for ln in f:
            k, _, val = ln.rstrip("\n").partition(": ")
            out.setdefault(k, []).append(val)
    return out


def recordings_by_callid(recdir, total=5.0):
    """{call-id: (base path, metadata)} of the finished recordings (stop: written)."""
    found = {}
    end = time.monotonic() + total
    while True:
        found.clear()
        busy = False
        for name in sorted(os.listdir(recdir)) if os.path.isdir(recdir) else []:
            if not name.endswith(".meta"):
                continue
            m = read_meta(os.path.join(recdir, name))
            if "stop" not in m:
                busy = True
            found[m.get("call-id", ["?"])[0]] = (os.path.join(recdir, name[:-5]), m)
        if not busy or time.monotonic() > end:
            return found
        time.sleep(0.2)


def wav_tone(path):
    """(rate, seconds, strongest frequency 100-2000 Hz in 20 Hz steps over 0.25 s from 1 s in)."""
    import array
    import math
    import wave
    with wave.open(path, "rb") as w:
        rate, n = w.getframerate(), w.getnframes()
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        pcm = array.array("h", w.readframes(n))
    if sys.byteorder != "little":
        pcm.byteswap()
    start, length = min(rate, max(0, len(pcm) - rate // 4)), rate // 4
    x = pcm[start:start + length]
    best, best_f = -1.0, 0
    for f in range(100, 2001, 20):
        coeff = 2 * math.cos(2 * math.pi * f / rate)
        s1 = s2 = 0.0
        for v in x:
            s1, s2 = v + coeff * s1 - s2, s1
        pw = s1 * s1 + s2 * s2 - coeff * s1 * s2
        if pw > best:
            best, best_f = pw, f
    return rate, n / float(rate), best_f


def start_kamailio(workdir, v, sip_port, ctl_port, uas_uri, logpath):
    rundir = os.path.join(workdir, "kamailio-run")
    os.makedirs(rundir, exist_ok=True)
    cmd = [kr.KAMAILIO, "-f", KAMAILIO_CFG, "-DD", "-E", "-Y", rundir, "-w", rundir, "-m", "64", "-M", "8",
           "-A", "SIP_LISTEN=udp:%s:%d" % (IP_PROXY, sip_port),
           "-A", 'RTPPROXY_SOCK="udp:127.0.0.1:%d"' % ctl_port,
           "-A", 'UAS_URI="%s"' % uas_uri, "-A", "DBGLEVEL=2"]
    if v.get("record"):
        cmd += ["-A", "WITH_RECORDING"]
    if ":" in v["uas_ip"]:
        cmd += ["-A", "SIP_LISTEN6=udp:[::1]:%d" % sip_port]
    if v["manage"]:
        cmd += ["-A", "WITH_MANAGE", "-A", 'RTPP_MANAGE_FLAGS="%s"' % v["flags"]]
    else:
        cmd += ["-A", 'RTPP_OFFER_FLAGS="%s"' % v["offer"], "-A", 'RTPP_ANSWER_FLAGS="%s"' % v["answer"]]
    return Proc("kamailio", cmd, logpath)


def sipp_cmd(scenario, ip, sip_port, media_port, stats, ncalls, extra):
    return [kr.SIPP] + extra + [
        "-sf", os.path.join(SIPP_DIR, scenario), "-i", ip, "-p", str(sip_port), "-mi", ip,
        "-mp", str(media_port), "-m", str(ncalls), "-nostdin", "-timeout", "60s", "-timeout_error",
        "-trace_stat", "-stf", stats, "-fd", "1", "-trace_err", "-max_recv_loops", "100"]


def run_sipp_pair(workdir, name, uac_sf, uas_sf, uas_ip, uas_port, uac_port, sip_port, media_port,
                  ncalls, procs, rep, variant, watch=None):
    """UAS, then UAC (in calls-uac/, calls-uas/ where the pcaps are); True if both succeeded.
    Calls of a phase other than "calls" get Call-IDs "<name>-<n>-<pid>@<ip>".
    """
    d_uac, d_uas = os.path.join(workdir, "calls-uac"), os.path.join(workdir, "calls-uas")
    st_uac, st_uas = os.path.join(workdir, name + "-uac.csv"), os.path.join(workdir, name + "-uas.csv")
    for d in (d_uac, d_uas):
        os.makedirs(d, exist_ok=True)
    procs[name + "-uas"] = uas = Proc(name + "-uas", sipp_cmd(uas_sf, uas_ip, uas_port, media_port, st_uas, ncalls, []),
                                      os.path.join(workdir, name + "-uas.out"), cwd=d_uas)
    if not wait_until(lambda: not _free(uas_ip, uas_port) or not uas.alive(), 10) or not uas.alive():
        rep.check(variant, "%s: sipp UAS listening" % name, False, uas.output()[-800:])
        return False
    extra = ["-s", "rtpgate", "-l", str(ncalls), "-r", "5", "-rp", "1000"]
    if name != "calls":
        extra += ["-cid_str", name + "-%u-%p@%s"]
    procs[name + "-uac"] = uac = Proc(name + "-uac", sipp_cmd(uac_sf, IP_UAC, uac_port, media_port, st_uac, ncalls, extra
                                                              + ["%s:%d" % (IP_PROXY, sip_port)]),
                                      os.path.join(workdir, name + "-uac.out"), cwd=d_uac)
    deadline = time.monotonic() + 75
    while uac.alive() and time.monotonic() < deadline:
        if watch:
            watch()
        time.sleep(0.25)
    rc_uac = uac.wait(5)
    if rc_uac is None:
        rc_uac = uac.stop()
    rc_uas = uas.wait(10 if rc_uac == 0 else 2)
    if rc_uas is None:
        rc_uas = uas.stop()
    uac.stop()
    uas.stop()
    ok = True
    for who, rc, st in (("UAC", rc_uac, st_uac), ("UAS", rc_uas, st_uas)):
        s = kr.read_sipp_stats(st)
        good = rc == 0 and s.get("SuccessfulCall(C)") == str(ncalls) and s.get("FailedCall(C)") == "0"
        ok &= rep.check(variant, "%s: sipp %s: all %d calls succeeded" % (name, who, ncalls), good,
                        "exit %s, successful %s, failed %s" % (rc, s.get("SuccessfulCall(C)"), s.get("FailedCall(C)")))
    return ok


# ---------------------------------------------------------------------------
# one variant
# ---------------------------------------------------------------------------

def run_variant(name, v, rep, binary):
    workdir = tempfile.mkdtemp(prefix="rg-rtpp-%s-" % name)
    failed_before = rep.failed
    procs = {}
    keep = os.environ.get("RG_KEEP_TMP") == "1"
    gw_ips = {v["gw_uac"], v["gw_uas"]}
    try:
        ctl_port = free_ports(["127.0.0.1"], 1, low=7730, high=7800)
        ng_port = free_ports(["127.0.0.1"], 1, low=23000, high=23100)
        pmin = free_ports(sorted(gw_ips), 100, step=2, low=24200, high=24600)
        pmax = pmin + 99
        # SIP and sipp media ports in 25000-26999: apart from what other tests on this machine use
        # (media 30000-50000 and 21000-21999, NG/rtpproxy 22xxx/77xx)
        sip_port = free_ports([IP_PROXY] + (["::1"] if ":" in v["uas_ip"] else []), 1, low=25000, high=26000)
        uac_port = free_ports([IP_UAC], 1, low=25000, high=26000)
        uas_port = free_ports([v["uas_ip"]], 1, low=25000, high=26000)
        media_port = free_ports([IP_UAC, v["uas_ip"]], 4, step=2, low=26000, high=27000)
        uas_uri = "sip:%s:%d" % ("[%s]" % v["uas_ip"] if ":" in v["uas_ip"] else v["uas_ip"], uas_port)
        log("workdir %s; rtpproxy ctl %d, NG %d, ports %d-%d, kamailio %d, UAC %s:%d, UAS %s, media %d"
            % (workdir, ctl_port, ng_port, pmin, pmax, sip_port, IP_UAC, uac_port, uas_uri, media_port))

        n_main = n_res = 0
        for side, hz, ssrc in (("uac", 440.0, 0x0AC00001), ("uas", 660.0, 0x0A500001)):
            d = os.path.join(workdir, "calls-" + side)   # sipp's working directory
            os.makedirs(d)
            n_main = pcaputil.write_pcmu_pcap(os.path.join(d, "rtp_main.pcap"), MAIN_SECONDS, PTIME_MS, hz, ssrc=ssrc)
            n_res = pcaputil.write_pcmu_pcap(os.path.join(d, "rtp_resume.pcap"), RESUME_SECONDS, PTIME_MS, hz,
                                             ssrc=ssrc + 1)
        expected = n_main + n_res

        recdir = os.path.join(workdir, "rec") if v.get("record") else None
        procs["rtpgate"] = start_rtpgate(binary, v["ifaces"], ctl_port, ng_port, pmin, pmax,
                                         os.path.join(workdir, "daemon.log"), recdir)
        rtpp = RtppClient("127.0.0.1", ctl_port)
        up = rtpp.wait_ready()
        if not rep.check(name, "rtpgate answers V on the rtpproxy socket", up, procs["rtpgate"].output()[-500:]):
            return
        ng = NGClient("127.0.0.1", ng_port, timeout=1.0)

        pcap = os.path.join(workdir, "lo.pcap")
        bpf = "udp and (portrange %d-%d or port %d or port %d or port %d or port %d)" % (
            pmin, pmax, sip_port, uac_port, uas_port, ctl_port)
        procs["tcpdump"] = Proc("tcpdump", [kr.TCPDUMP, "-i", "lo", "-n", "-s", "0", "-U", "-B", "8192", "-Z", "root",
                                            "-w", pcap, bpf], os.path.join(workdir, "tcpdump.log"))
        if not rep.check(name, "tcpdump capturing",
                         wait_until(lambda: "listening on" in procs["tcpdump"].output(), 10)):
            return

        procs["kamailio"] = start_kamailio(workdir, v, sip_port, ctl_port, uas_uri, os.path.join(workdir, "kamailio.log"))
        kam_up = wait_until(lambda: not procs["kamailio"].alive() or kr.sip_options_ping(sip_port), 15, 0.2)
        if not rep.check(name, "kamailio up (answers OPTIONS)", kam_up and procs["kamailio"].alive(),
                         procs["kamailio"].output()[-1500:]):
            return

        # ---- the calls -------------------------------------------------
        seen = {"max_ng": 0, "max_rtpp": 0}

        def watch():
            try:
                seen["max_ng"] = max(seen["max_ng"], len(ng.list_calls()))
                seen["max_rtpp"] = max(seen["max_rtpp"], rtpp.info().get("active sessions", 0))
            except (NGError, NGTimeout, OSError, RuntimeError):
                pass
        t0 = time.monotonic()
        run_sipp_pair(workdir, "calls", "rtpproxy-uac.xml", "rtpproxy-uas.xml", v["uas_ip"], uas_port, uac_port,
                      sip_port, media_port, NCALLS, procs, rep, name, watch)
        log("calls ran %.1f s" % (time.monotonic() - t0))
        rep.check(name, "calls concurrent in the one call core (NG list and rtpproxy I)",
                  seen["max_ng"] >= NCALLS and seen["max_rtpp"] >= NCALLS,
                  "max %d in NG list, %d rtpproxy active sessions, want %d" % (seen["max_ng"], seen["max_rtpp"], NCALLS))

        left = {}
        wait_until(lambda: left.update(rtpp.info()) or left.get("active sessions") == 0, 3.0, 0.2)
        rep.check(name, "no session left after the BYEs (rtpproxy I)", left.get("active sessions") == 0,
                  "I: %r" % left)
        try:
            ng_left = [text(c) for c in ng.list_calls()]
        except (NGError, NGTimeout, OSError) as e:
            ng_left = "error %s" % e
        rep.check(name, "no call left after the BYEs (NG list)", ng_left == [], "list=%r" % (ng_left,))

        # ---- the marker: a=nortpproxy:yes passes untouched ------------------
        if v.get("marker"):
            before = rtpp.counter("rtpproxy-requests")
            run_sipp_pair(workdir, "marker", "rtpproxy-uac-marker.xml", "rtpproxy-uas-marker.xml", v["uas_ip"],
                          uas_port, uac_port, sip_port, media_port, 1, procs, rep, name)
            after = rtpp.counter("rtpproxy-requests")
            # the two counter reads are commands themselves (one before, one after)
            if v["marker"] == "skip":
                rep.check(name, "marker: relay never asked (only our own G commands counted)", after - before == 1,
                          "rtpproxy-requests %d -> %d" % (before, after))
            else:   # flag f: proxied all the same (U, L, Q, D)
                rep.check(name, "marker + flag f: relay asked all the same", after - before >= 5,
                          "rtpproxy-requests %d -> %d" % (before, after))

        # ---- rtpproxy_manage/offer/answer rules: rejected call, CANCEL, late offer ----------
        if v.get("rules"):
            for phase in ("reject", "cancel", "late"):
                run_sipp_pair(workdir, phase, "rtpproxy-uac-%s.xml" % phase, "rtpproxy-uas-%s.xml" % phase,
                              v["uas_ip"], uas_port, uac_port, sip_port, media_port, 1, procs, rep, name)
            left = {}
            wait_until(lambda: left.update(rtpp.info()) or left.get("active sessions") == 0, 3.0, 0.2)
            rep.check(name, "rules: no session left after reject, CANCEL, late offer", left.get("active sessions") == 0,
                      "I: %r" % left)

        time.sleep(0.5)
        procs["tcpdump"].stop(signal.SIGINT)
        m = re.search(r"(\d+) packets? dropped by kernel", procs["tcpdump"].output())
        rep.check(name, "capture complete (no kernel drops)", bool(m) and m.group(1) == "0",
                  m.group(0) if m else procs["tcpdump"].output()[-200:])

        # ---- analysis ----------------------------------------------------
        sig, flows, cmds, answers = analyse_capture(pcap, uac_port, (uas_port,), v["uas_ip"], ctl_port,
                                                    gw_ips, pmin, pmax)
        def in_range(p):
            return p is not None and pmin <= p <= pmax

        main_calls = {c: s for c, s in sig.items() if not c.split("-", 1)[0] in ("marker", "reject", "cancel", "late")}
        if v.get("marker"):
            mk = [s for c, s in sig.items() if c.startswith("marker-")]
            inv = mk[0]["uas_invite"].get(1) if mk else None
            if v["marker"] == "skip":
                rep.check(name, "marker: the UAS got the caller's SDP untouched",
                          bool(inv) and inv["c_addr"] == IP_UAC and inv["port"] == media_port,
                          "c=%s m=%s" % (inv and inv["c_addr"], inv and inv["port"]))
            else:
                rep.check(name, "marker + flag f: the UAS got the relay's address all the same",
                          bool(inv) and inv["c_addr"] == v["gw_uas"] and in_range(inv["port"]),
                          "c=%s m=%s" % (inv and inv["c_addr"], inv and inv["port"]))
        rep.check(name, "captured the signalling of every call", len(main_calls) == NCALLS,
                  "%d call-ids, want %d" % (len(main_calls), NCALLS))

        for n, (cid, c) in enumerate(sorted(main_calls.items()), 1):
            label = "call %d" % n
            inv = [c["uas_invite"].get(i) for i in (1, 2, 3)]
            oks = [c["uac_200"].get(i) for i in (1, 2, 3)]
            good = all(s and s["c_addr"] == v["gw_uas"] and s["o_addr"] == v["gw_uas"] and in_range(s["port"])
                       and "nortpproxy:yes" in s["raw"] for s in inv)
            rep.check(name, "(a) %s: INVITE SDPs at UAS point at relay %s (c=, o=, port, marker)" % (label, v["gw_uas"]),
                      good, "c=%s o=%s m=%s" % tuple([[s and s[k] for s in inv] for k in ("c_addr", "o_addr", "port")]))
            good = all(s and s["c_addr"] == v["gw_uac"] and s["o_addr"] == v["gw_uac"] and in_range(s["port"])
                       for s in oks)
            rep.check(name, "(a) %s: 200 SDPs at UAC point at relay %s (c=, o=, port)" % (label, v["gw_uac"]), good,
                      "c=%s o=%s m=%s" % tuple([[s and s[k] for s in oks] for k in ("c_addr", "o_addr", "port")]))
            good = all(inv) and all(oks) and len({s["port"] for s in inv}) == 1 and len({s["port"] for s in oks}) == 1
            good = good and (v["gw_uac"] != v["gw_uas"] or inv[0]["port"] != oks[0]["port"])
            good = good and [s["dir"] for s in inv] == ["sendrecv", "sendonly", "sendrecv"]
            good = good and [s["dir"] for s in oks] == ["sendrecv", "recvonly", "sendrecv"]
            rep.check(name, "(c) %s: re-INVITEs keep the relay ports, hold/resume passed" % label, good,
                      "UAS ports %s UAC ports %s" % ([s and s["port"] for s in inv], [s and s["port"] for s in oks]))
            if not (inv[0] and oks[0] and in_range(inv[0]["port"]) and in_range(oks[0]["port"])):
                rep.check(name, "(b) %s: RTP relayed" % label, False, "no relay ports")
                continue
            a_port, b_port = oks[0]["port"], inv[0]["port"]
            for dname, fin_k, fout_k in (
                    ("UAC->UAS", (IP_UAC, media_port, v["gw_uac"], a_port), (v["gw_uas"], b_port, v["uas_ip"], media_port)),
                    ("UAS->UAC", (v["uas_ip"], media_port, v["gw_uas"], b_port), (v["gw_uac"], a_port, IP_UAC, media_port))):
                fin = flows.get(fin_k, {"n": 0, "rtp": {}})
                fout = flows.get(fout_k, {"n": 0, "rtp": {}})
                ratio = fout["n"] / fin["n"] if fin["n"] else 0.0
                good = fin["n"] >= MIN_RATIO * expected and ratio >= MIN_RATIO and fout["n"] <= fin["n"]
                rep.check(name, "(b) %s: RTP %s through rtpgate" % (label, dname), good,
                          "in %s:%d %d (sipp sent %d), out %s:%d %d, ratio %.3f"
                          % (fin_k[2], fin_k[3], fin["n"], expected, fout_k[0], fout_k[1], fout["n"], ratio))
                same = sum(1 for k, val in fout["rtp"].items() if fin["rtp"].get(k) == val)
                rep.check(name, "(b) %s: RTP %s unchanged (PT, seq, payload)" % (label, dname),
                          bool(fout["rtp"]) and same == len(fout["rtp"]), "%d/%d match" % (same, len(fout["rtp"])))

        # ---- recordings (start_recording() on the ACK) ---------------------------
        if v.get("record"):
            recs = recordings_by_callid(recdir)
            rs = [(c, answers.get(ck)) for ck, c in cmds.items() if c.startswith("R ")]
            rep.check(name, "recording: Kamailio sent R (start_recording) for every call, each answered 0",
                      len({c.split()[1] for c, _a in rs if c.split()[1] in main_calls}) == NCALLS
                      and all(a == "0\n" for _c, a in rs), "%d R; %r" % (len(rs), rs[:2]))
            for n, (cid, c) in enumerate(sorted(main_calls.items()), 1):
                label = "call %d" % n
                base, meta = recs.get(cid, (None, {}))
                tags = " ".join(meta.get("party", []))
                rep.check(name, "recording: %s: metadata finished (call-id, both tags, status ok)" % label,
                          bool(base) and meta.get("status") == ["ok"] and "stop" in meta and tags.count("tag=") >= 2,
                          "%s: %r" % (base, {k: meta.get(k) for k in ("status", "stop", "party")}))
                inv, ok200 = c["uas_invite"].get(1), c["uac_200"].get(1)
                if not base or not inv or not ok200:
                    continue
                a_port, b_port = ok200["port"], inv["port"]
                got = {}
                for _ts, src, sport, dst, dport, payload in read_udp_any(base + ".pcap"):
                    if len(payload) >= 12 and payload[0] >> 6 == 2 and not 200 <= payload[1] <= 204:
                        cc = payload[0] & 0x0F
                        key = (src, sport, dst, dport)
                        got.setdefault(key, {})[(int.from_bytes(payload[8:12], "big"), (payload[2] << 8) | payload[3])] = \
                            (payload[1] & 0x7F, payload[12 + 4 * cc:])
                for dname, fin_k in (("UAC", (IP_UAC, media_port, v["gw_uac"], a_port)),
                                     ("UAS", (v["uas_ip"], media_port, v["gw_uas"], b_port))):
                    rec = got.get(fin_k, {})
                    fin = flows.get(fin_k, {"rtp": {}})["rtp"]
                    same = sum(1 for k, val in rec.items() if fin.get(k) == val)
                    rep.check(name, "recording: %s: pcap holds the %s's RTP as it entered rtpgate" % (label, dname),
                              len(rec) >= 0.9 * expected and same == len(rec),
                              "%d recorded (%d identical to the capture), %d entered, sipp sent %d"
                              % (len(rec), same, len(fin), expected))
                tones = []
                for leg in (1, 2):
                    wp = "%s-leg%d.wav" % (base, leg)
                    try:
                        tones.append(wav_tone(wp))
                    except (OSError, EOFError, AssertionError) as e:
                        tones.append(("error", str(e), 0))
                good = sorted(t[2] for t in tones) == [440, 660] and all(t[0] == 8000 and t[1] >= 4.0 for t in tones)
                rep.check(name, "recording: %s: two WAVs, 8 kHz, >= 4 s, tones 440 and 660 Hz" % label, good,
                          "%r" % tones)

        # ---- the control traffic -----------------------------------------------
        # Kamailio's cookies are "<pid>_<seq>"; ours (I, G from this test) start with "t"
        cmds = {ck: c for ck, c in cmds.items() if not ck.startswith("t")}
        ul = [(ck, c) for ck, c in cmds.items() if c[:1] in ("U", "L")]
        bad = [(c, answers.get(ck)) for ck, c in cmds.items() if not ANSWER_RE.match(answers.get(ck) or "")]
        rep.check(name, "every rtpproxy command answered, answers well formed", not bad and len(cmds) > 0,
                  "%d commands; bad: %r" % (len(cmds), bad[:3]))
        probe = sorted(c for c in cmds.values() if c.startswith("V"))
        rep.check(name, "Kamailio probed V / VF 20050322 / 20071116 / 20081102",
                  {"V", "VF 20050322", "VF 20071116", "VF 20081102"} <= set(probe), "%r" % probe[:6])
        errs = [(c, answers.get(ck)) for ck, c in cmds.items() if (answers.get(ck) or "").startswith("E")]
        # Kamailio destroys a failed INVITE more than once (CANCEL, reply >= 300, failure route):
        # the later D find nothing, E50 as from Sippy
        redundant = [e for e in errs if e[0].startswith("D") and e[1] == "E50\n"]
        errs = [e for e in errs if e not in redundant]
        rep.check(name, "no rtpproxy command answered with an error (but E50 to a repeated D)", not errs,
                  "%r" % errs[:3])
        want_mods = v["mods"]
        mods_seen, codec_lists = {}, set()
        for _ck, c in ul:
            mods = c.split(" ", 1)[0][1:]
            # rtpgate answers VF 20081102, so Kamailio appends the SDP's payload types (c0,101)
            cl = re.search(r"c([0-9,]+)$", mods)
            if cl:
                codec_lists.add(cl.group(1))
                mods = mods[:cl.start()]
            mods_seen.setdefault(c[0], set()).add(mods)
        good = all(mods_seen.get(k) == {m} for k, m in want_mods.items())
        rep.check(name, "Kamailio's flags reached rtpgate as modifiers %r" % want_mods, good, "seen %r" % mods_seen)
        rep.check(name, "every U/L carried the SDP's payload types (c modifier)",
                  codec_lists and codec_lists <= {"0", "0,101"} and all(re.search(r"c[0-9,]+( |$)", c.split(" ", 1)[0])
                                                                      for _ck, c in ul),
                  "lists %r" % sorted(codec_lists))
        dq = [c for c in cmds.values() if c[:1] in ("D", "Q")]
        rep.check(name, "BYE sent Q ($rtpstat) and D (destroy) for every call",
                  sum(c.startswith("D") for c in dq) >= NCALLS and sum(c.startswith("Q") for c in dq) >= NCALLS,
                  "%d D, %d Q" % (sum(c.startswith("D") for c in dq), sum(c.startswith("Q") for c in dq)))

        if v.get("rules"):
            def cmds_of(prefix):
                return [(c, answers.get(ck, "")) for ck, c in sorted(cmds.items(), key=lambda x: int(x[0].split("_")[-1]))
                        if len(c.split()) > 1 and c.split()[1].startswith(prefix + "-")]
            for phase in ("reject", "cancel"):
                cc = cmds_of(phase)
                ok_u = any(c[0] in "UL" and re.match(r"^\d+ ", a) for c, a in cc)
                ok_d = any(c.startswith("D") and a == "0\n" for c, a in cc)
                rep.check(name, "rules: %s: session made (U) and destroyed (D answered 0)" % phase, ok_u and ok_d,
                          "%r" % cc[:4])
            cc = cmds_of("late")
            u = [c for c, a in cc if c.startswith("U")]
            lk = [c for c, a in cc if c.startswith("L")]
            good = bool(u and lk) and all("RtppM" in c.split()[4] for c in u + lk)
            rep.check(name, "rules: late offer: U and L carry the callee's To-tag first", good, "%r" % (u[:1] + lk[:1]))
            late = [c for cid, c in sig.items() if cid.startswith("late-")]
            ok200 = late[0]["uac_200"].get(1) if late else None
            ack = late[0]["uas_ack"].get(1) if late else None
            if not (ok200 and ack and in_range(ok200["port"]) and in_range(ack["port"])):
                rep.check(name, "rules: late offer: SDPs point at the relay", False, "200 %r ACK %r" % (ok200, ack))
            else:
                a_port, b_port = ok200["port"], ack["port"]
                for dname, fin_k, fout_k in (
                        ("UAC->UAS", (IP_UAC, media_port, v["gw_uac"], a_port), (v["gw_uas"], b_port, v["uas_ip"], media_port)),
                        ("UAS->UAC", (v["uas_ip"], media_port, v["gw_uas"], b_port), (v["gw_uac"], a_port, IP_UAC, media_port))):
                    fin = flows.get(fin_k, {"n": 0})["n"]
                    fout = flows.get(fout_k, {"n": 0})["n"]
                    rep.check(name, "rules: late offer: RTP %s through rtpgate" % dname,
                              fin >= MIN_RATIO * n_main and fout >= MIN_RATIO * fin and fout <= fin,
                              "in %d (sipp sent %d), out %d" % (fin, n_main, fout))

        klog = procs["kamailio"].output()
        stats = {mm.group(1): [int(x) for x in mm.group(2).split()] for mm in
                 re.finditer(r"rtpstat (\S+): (\d+ \d+ \d+ \d+ \d+)", klog)}
        for n, cid in enumerate(sorted(main_calls), 1):
            st = stats.get(cid)
            rep.check(name, "$rtpstat call %d: Q reported packets both ways" % n,
                      bool(st) and st[1] > 0 and st[2] > 0 and st[3] == st[1] + st[2], "%r" % (st,))
        kerr = [ln for ln in klog.splitlines() if re.search(r"\b(ERROR|CRITICAL)\b", ln)]
        rep.check(name, "no ERROR in Kamailio's log", not kerr, " | ".join(kerr[:3])[:600])
        try:
            nerr = rtpp.counter("rtpproxy-errors")
        except (OSError, RuntimeError) as e:
            nerr = "no answer: %s" % e
        rep.check(name, "rtpgate counted no other rtpproxy error", nerr == len(redundant),
                  "rtpproxy-errors=%r, repeated D %d" % (nerr, len(redundant)))
        rep.check(name, "rtpgate still running", procs["rtpgate"].alive())
        rep.check(name, "kamailio still running", procs["kamailio"].alive())
    finally:
        for pname in list(procs):
            procs[pname].stop(signal.SIGINT if pname == "tcpdump" else signal.SIGTERM)
        if rep.failed > failed_before:
            kr.dump_logs(workdir)
            for extra in ("calls-uac.out", "calls-uas.out"):
                p = os.path.join(workdir, extra)
                if os.path.exists(p):
                    print("----- tail of %s -----" % extra)
                    print("\n".join("  " + ln for ln in open(p, errors="replace").read().splitlines()[-15:]))
        if rep.failed > failed_before or keep:
            log("work directory kept: %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main():
    names = [x.strip() for x in os.environ.get("RG_VARIANTS", ",".join(VARIANTS)).split(",") if x.strip()]
    for n in names:
        if n not in VARIANTS:
            print("unknown variant %r (%s)" % (n, ", ".join(VARIANTS)))
            return 2
    binary = os.environ.get("RG_BIN")
    problem = None
    missing = [t for t in (kr.KAMAILIO, kr.SIPP, kr.TCPDUMP) if not os.path.exists(t)]
    if not binary or not os.path.exists(binary):
        problem = "RG_BIN must name the rtpgate binary"
    elif missing:
        problem = "missing tools: %s" % ", ".join(missing)
    elif os.geteuid() != 0:
        problem = "needs root (sipp play_pcap_audio uses raw sockets, tcpdump captures lo)"
    if problem:
        if os.environ.get("RG_ALLOW_SKIP") == "1":
            print("SKIP: %s" % problem)
            return 77
        print("FAIL: %s\n0 passed, 1 failed" % problem)
        return 1
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, kr._on_signal)
    rep = Report()
    t0 = time.monotonic()
    try:
        for n in names:
            print("=== variant %s ===" % n, flush=True)
            tv = time.monotonic()
            try:
                run_variant(n, VARIANTS[n], rep, binary)
            except kr.Interrupted:
                raise
            except Exception as e:  # a harness error is a failure, not a crash
                import traceback
                traceback.print_exc()
                rep.check(n, "harness ran without exception", False, repr(e))
            log("variant %s took %.1f s" % (n, time.monotonic() - tv))
    except kr.Interrupted as e:
        rep.check("-", "test not interrupted", False, str(e))
    finally:
        kr.stop_all()
    print("total %.1f s" % (time.monotonic() - t0))
    if rep.failures:
        print("failed checks:")
        for f in rep.failures:
            print("  " + f)
    print("%d passed, %d failed" % (rep.passed, rep.failed), flush=True)
    return 0 if rep.failed == 0 and rep.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
