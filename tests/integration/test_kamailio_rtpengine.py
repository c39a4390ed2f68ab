#!/usr/bin/env python3
"""End-to-end test: sipp UAC -> Kamailio 5.6 (rtpengine module) -> sipp UAS,
media anchored on an NG-protocol media daemon (rtpengine or rtpgate).

Everything runs on loopback:

    UAC  sipp  127.0.0.2  (SIP + RTP from play_pcap_audio)
    proxy kamailio 127.0.0.1:<sip port>   conf/kamailio-rtpengine.cfg
    media daemon   127.0.0.1, NG on 127.0.0.1:<ng port>, RTP ports A..B
    UAS  sipp  127.0.0.3  (SIP + RTP from play_pcap_audio)

tcpdump records SIP and the daemon's port range on lo; the checks are made
from that capture, from sipp's statistics, from Kamailio's log ($rtpstat)
and from NG `list`/`query` requests sent straight to the daemon.

Environment:
    RG_DAEMON     rtpengine (default) | rtpgate
    RG_BIN        path of the daemon binary (default /usr/bin/rtpengine,
                  required for rtpgate)
    RG_VARIANTS   comma list of script variants: offer-answer,manage (default both)
    RG_CALLS      number of concurrent calls (default 5)
    RG_KEEP_TMP   1: keep the work directory even on success (it is always
                  kept, and the log tails printed, when a check failed)
    RG_ALLOW_SKIP 1: exit 77 (skip) instead of failing when a tool is
                  missing or not running as root
    RG_VERBOSE    1: print the commands run
    RG_FAULT      self-test of the harness, the run must then FAIL:
                  wrong-ng-port (Kamailio talks to a port nobody serves),
                  block-media   (NG `block media` on every call mid-way)
    RG_KAMAILIO, RG_SIPP, RG_TCPDUMP   override the tool paths

Exit status 0 when every check passed, 1 otherwise; the last line is
``N passed, N failed``.
"""

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from ngclient import NGClient, NGError, NGTimeout, text  # noqa: E402
import pcaputil  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
KAMAILIO_CFG = os.path.join(REPO, "conf", "kamailio-rtpengine.cfg")
SIPP_DIR = os.path.join(HERE, "sipp")

KAMAILIO = os.environ.get("RG_KAMAILIO") or shutil.which("kamailio") or "/usr/sbin/kamailio"
SIPP = os.environ.get("RG_SIPP") or shutil.which("sipp") or "/usr/bin/sipp"
TCPDUMP = os.environ.get("RG_TCPDUMP") or shutil.which("tcpdump") or "/usr/bin/tcpdump"

IP_PROXY = "127.0.0.1"
IP_GW = "127.0.0.1"      # --interface of the media daemon
IP_UAC = "127.0.0.2"
IP_UAS = "127.0.0.3"

NCALLS = int(os.environ.get("RG_CALLS", "5"))
MAIN_SECONDS = 4.0       # rtp_main.pcap
RESUME_SECONDS = 1.0     # rtp_resume.pcap (after un-hold)
PTIME_MS = 20
MIN_RATIO = 0.99
VERBOSE = os.environ.get("RG_VERBOSE") == "1"


# ---------------------------------------------------------------------------
# reporting
# ---------------------------------------------------------------------------

class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.failures = []

    def check(self, variant, name, ok, detail=""):
        tag = "PASS" if ok else "FAIL"
        line = "%s [%s] %s" % (tag, variant, name)
        if detail:
            line += ": " + detail
        print(line, flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            self.failures.append(line)
        return ok


def log(msg):
    print("     " + msg, flush=True)


# ---------------------------------------------------------------------------
# processes: each in its own process group, always stopped by us
# ---------------------------------------------------------------------------

_PROCS = []


class Proc:
    def __init__(self, name, cmd, logpath, cwd=None, env=None):
        self.name = name
        self.cmd = [str(c) for c in cmd]
        self.logpath = logpath
        if VERBOSE:
            log("start %s: %s" % (name, " ".join(self.cmd)))
        self._log = open(logpath, "wb")
        self.p = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self._log,
                                  stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                  start_new_session=True)
        _PROCS.append(self)

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def wait(self, timeout):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig=signal.SIGTERM, grace=5.0):
        """Signal the whole process group, escalate to SIGKILL."""
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, sig)
            except ProcessLookupError:
                pass
            if self.wait(grace) is None:
                try:
                    os.killpg(self.p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.wait(5)
        else:
            # leader gone: make sure no child of the group survives
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if not self._log.closed:
            self._log.close()
        if self in _PROCS:
            _PROCS.remove(self)
        return self.p.returncode

    def output(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


def stop_all():
    for p in list(reversed(_PROCS)):
        p.stop(grace=3.0)


class Interrupted(Exception):
    pass


def _on_signal(signum, frame):
    raise Interrupted("signal %d" % signum)


# ---------------------------------------------------------------------------
# ports
# ---------------------------------------------------------------------------

def _udp_free(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((ip, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_udp_ports(ips, count=1, step=1, low=20000, high=32000):
    """A base port such that base..base+count-1 is free on all ``ips``.

    Chosen below the kernel's ephemeral range so that client sockets do not
    grab them while the test runs."""
    for _ in range(500):
        base = random.randrange(low, high - count, step)
        if all(_udp_free(ip, base + i) for ip in ips for i in range(count)):
            return base
    raise RuntimeError("no free UDP port range of %d" % count)


# ---------------------------------------------------------------------------
# the media daemon
# ---------------------------------------------------------------------------

def daemon_command(kind, ng_port, port_min, port_max, binary=None):
    if kind == "rtpgate":
        binary = binary or os.environ.get("RG_BIN")
        if not binary:
            raise RuntimeError("RG_DAEMON=rtpgate needs RG_BIN=<path of the rtpgate executable>")
        return [binary, "--config-file=none", "--foreground", "--log-stderr",
                "--interface=%s" % IP_GW, "--listen-ng=%s:%d" % (IP_GW, ng_port),
                "--port-min=%d" % port_min, "--port-max=%d" % port_max, "--delete-delay=0"]
    if kind == "rtpengine":
        binary = binary or os.environ.get("RG_BIN") or shutil.which("rtpengine") or "/usr/bin/rtpengine"
        return [binary, "--config-file=none", "--table=-1", "--foreground", "--log-stderr",
                "--interface=%s" % IP_GW, "--listen-ng=%s:%d" % (IP_GW, ng_port),
                "--port-min=%d" % port_min, "--port-max=%d" % port_max, "--delete-delay=0"]
    raise RuntimeError("unknown daemon kind %r (rtpengine|rtpgate)" % kind)


def start_daemon(kind, ng_port, port_min, port_max, logpath=None):
    """Start the NG media daemon in the foreground; returns a Proc."""
    cmd = daemon_command(kind, ng_port, port_min, port_max)
    if logpath is None:
        logpath = os.path.join(tempfile.gettempdir(), "rg-daemon-%d.log" % ng_port)
    return Proc(kind, cmd, logpath)


# ---------------------------------------------------------------------------
# Kamailio
# ---------------------------------------------------------------------------

def start_kamailio(workdir, sip_port, ng_port, uas_port, manage, logpath):
    rundir = os.path.join(workdir, "kamailio-run")
    os.makedirs(rundir, exist_ok=True)
    cmd = [KAMAILIO, "-f", KAMAILIO_CFG, "-DD", "-E", "-Y", rundir, "-w", rundir,
           "-m", "64", "-M", "8",
           "-A", "SIP_LISTEN=udp:%s:%d" % (IP_PROXY, sip_port),
           "-A", 'RTPENGINE_SOCK="udp:%s:%d"' % (IP_GW, ng_port),
           "-A", 'UAS_URI="sip:%s:%d"' % (IP_UAS, uas_port),
           "-A", "DBGLEVEL=2"]
    if os.environ.get("RG_KAMAILIO_MODULES"):
        cmd += ["-L", os.environ["RG_KAMAILIO_MODULES"]]
    if manage:
        cmd += ["-A", "WITH_MANAGE"]
    return Proc("kamailio", cmd, logpath)


def sip_options_ping(port, timeout=0.3):
    """Send OPTIONS to the proxy, True when it answers 200."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((IP_PROXY, 0))
        lport = s.getsockname()[1]
        branch = "z9hG4bK-probe-%d" % random.randrange(1 << 30)
        msg = ("OPTIONS sip:%s:%d SIP/2.0\r\n"
               "Via: SIP/2.0/UDP %s:%d;branch=%s;rport\r\n"
               "Max-Forwards: 70\r\n"
               "From: <sip:probe@%s>;tag=probe\r\n"
               "To: <sip:%s:%d>\r\n"
               "Call-ID: probe-%s@%s\r\n"
               "CSeq: 1 OPTIONS\r\n"
               "Content-Length: 0\r\n\r\n") % (IP_PROXY, port, IP_PROXY, lport, branch,
                                               IP_PROXY, IP_PROXY, port, branch, IP_PROXY)
        s.sendto(msg.encode(), (IP_PROXY, port))
        s.settimeout(timeout)
        data = s.recv(65535)
        return data.startswith(b"SIP/2.0 200")
    except OSError:
        return False
    finally:
        s.close()


def wait_until(pred, total, step=0.1):
    end = time.monotonic() + total
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


# ---------------------------------------------------------------------------
# SIP / SDP parsing of the capture
# ---------------------------------------------------------------------------

def parse_sip(payload):
    """(start_line, headers{lower-name: [values]}, body) or None."""
    try:
        txt = payload.decode("utf-8", "replace")
    except Exception:
        return None
    if "\r\n\r\n" in txt:
        head, body = txt.split("\r\n\r\n", 1)
    else:
        head, body = txt, ""
    lines = head.split("\r\n")
    if not lines or not (lines[0].startswith("SIP/2.0 ") or lines[0].endswith(" SIP/2.0")):
        return None
    compact = {"i": "call-id", "v": "via", "f": "from", "t": "to", "m": "contact",
               "l": "content-length", "c": "content-type"}
    hdrs = {}
    for ln in lines[1:]:
        if ":" not in ln:
            continue
        k, v = ln.split(":", 1)
        k = k.strip().lower()
        k = compact.get(k, k)
        hdrs.setdefault(k, []).append(v.strip())
    return lines[0], hdrs, body


def parse_sdp(body):
    """Interesting bits of an SDP: o= address, c= (media level wins), audio
    port, direction attribute, payload types, rtcp attribute."""
    sdp = {"o_addr": None, "c_addr": None, "port": None, "proto": None, "pts": [],
           "dir": "sendrecv", "attrs": [], "raw": body}
    sess_c = None
    media_c = None
    in_media = False
    for ln in body.replace("\r\n", "\n").split("\n"):
        ln = ln.strip()
        if ln.startswith("o="):
            parts = ln[2:].split()
            if len(parts) >= 6:
                sdp["o_addr"] = parts[5]
        elif ln.startswith("c="):
            parts = ln[2:].split()
            addr = parts[2].split("/")[0] if len(parts) >= 3 else None
            if in_media:
                media_c = addr
            else:
                sess_c = addr
        elif ln.startswith("m="):
            if sdp["port"] is not None:
                break  # only the first m= line matters here
            in_media = True
            parts = ln[2:].split()
            if len(parts) >= 3 and parts[0] == "audio":
                sdp["port"] = int(parts[1])
                sdp["proto"] = parts[2]
                sdp["pts"] = parts[3:]
        elif ln.startswith("a="):
            a = ln[2:]
            if a in ("sendrecv", "sendonly", "recvonly", "inactive"):
                sdp["dir"] = a
            if in_media:
                sdp["attrs"].append(a)
    sdp["c_addr"] = media_c or sess_c
    return sdp


def cseq_of(hdrs):
    v = hdrs.get("cseq", [""])[0].split()
    if len(v) == 2 and v[0].isdigit():
        return int(v[0]), v[1].upper()
    return None, None


def collect_signalling(pcap, uac_port, uas_port):
    """From the capture: per Call-ID, the SDP that the UAS received in each
    INVITE (by CSeq) and the SDP the UAC received in each 200 to INVITE."""
    calls = {}
    for _ts, src, sport, dst, dport, payload in pcaputil.read_udp(pcap):
        if (dst, dport) == (IP_UAS, uas_port):
            who = "uas"
        elif (dst, dport) == (IP_UAC, uac_port):
            who = "uac"
        else:
            continue
        msg = parse_sip(payload)
        if not msg:
            continue
        start, hdrs, body = msg
        cid = hdrs.get("call-id", [None])[0]
        num, method = cseq_of(hdrs)
        if not cid or method != "INVITE":
            continue
        c = calls.setdefault(cid, {"uas_invite": {}, "uac_200": {}})
        ctype = hdrs.get("content-type", [""])[0].lower()
        if who == "uas" and start.startswith("INVITE "):
            if num not in c["uas_invite"] and "application/sdp" in ctype:
                c["uas_invite"][num] = parse_sdp(body)
        elif who == "uac" and start.startswith("SIP/2.0 200"):
            if num not in c["uac_200"] and "application/sdp" in ctype:
                c["uac_200"][num] = parse_sdp(body)
    return calls


def count_rtp(pcap, port_min, port_max):
    """Count RTP datagrams per (src ip, src port, dst ip, dst port) touching
    the daemon's port range; also keep (seq, payload) per flow."""
    flows = {}
    for _ts, src, sport, dst, dport, payload in pcaputil.read_udp(pcap):
        gw_in = dst == IP_GW and port_min <= dport <= port_max
        gw_out = src == IP_GW and port_min <= sport <= port_max
        if not (gw_in or gw_out):
            continue
        key = (src, sport, dst, dport)
        f = flows.setdefault(key, {"n": 0, "rtp": {}})
        f["n"] += 1
        if len(payload) >= 12 and payload[0] >> 6 == 2:
            cc = payload[0] & 0x0F
            pt = payload[1] & 0x7F
            seq = (payload[2] << 8) | payload[3]
            ssrc = int.from_bytes(payload[8:12], "big")
            f["rtp"][(ssrc, seq)] = (pt, payload[12 + 4 * cc:])
    return flows


# ---------------------------------------------------------------------------
# sipp
# ---------------------------------------------------------------------------

def read_sipp_stats(path):
    """Last row of sipp's -trace_stat CSV as a dict."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            rows = [r.rstrip("\n").split(";") for r in f if r.strip()]
    except OSError:
        return {}
    if len(rows) < 2:
        return {}
    return dict(zip(rows[0], rows[-1]))


def sipp_cmd(scenario, ip, sip_port, media_port, stats, extra):
    return [SIPP] + extra + [
        "-sf", scenario, "-i", ip, "-p", str(sip_port), "-mi", ip, "-mp", str(media_port),
        "-m", str(NCALLS), "-nostdin", "-timeout", "60s", "-timeout_error",
        "-trace_stat", "-stf", stats, "-fd", "1", "-trace_err",
        "-max_recv_loops", "100"]


# ---------------------------------------------------------------------------
# one variant of the test
# ---------------------------------------------------------------------------

def run_variant(variant, rep, kind, fault):
    manage = variant == "manage"
    workdir = tempfile.mkdtemp(prefix="rg-it-%s-" % variant)
    ok_before = rep.failed
    procs = {}
    keep = os.environ.get("RG_KEEP_TMP") == "1"
    try:
        # ---- ports -------------------------------------------------------
        ng_port = free_udp_ports([IP_GW], 1)
        port_min = free_udp_ports([IP_GW], 100, step=2)
        port_max = port_min + 99
        sip_port = free_udp_ports([IP_PROXY], 1)
        uac_port = free_udp_ports([IP_UAC], 1)
        uas_port = free_udp_ports([IP_UAS], 1)
        media_port = free_udp_ports([IP_UAC, IP_UAS], 4, step=2)
        kam_ng_port = ng_port
        if fault == "wrong-ng-port":
            kam_ng_port = free_udp_ports([IP_GW], 1)
        log("workdir %s; daemon %s NG %d ports %d-%d; kamailio %d; UAC %s:%d UAS %s:%d media %d"
            % (workdir, kind, ng_port, port_min, port_max, sip_port, IP_UAC, uac_port,
               IP_UAS, uas_port, media_port))

        # ---- media files: distinct SSRC/tone per side ---------------------
        uac_dir = os.path.join(workdir, "uac")
        uas_dir = os.path.join(workdir, "uas")
        os.makedirs(uac_dir)
        os.makedirs(uas_dir)
        n_main = pcaputil.write_pcmu_pcap(os.path.join(uac_dir, "rtp_main.pcap"), MAIN_SECONDS,
                                          PTIME_MS, 440.0, ssrc=0x0AC00001)
        n_res = pcaputil.write_pcmu_pcap(os.path.join(uac_dir, "rtp_resume.pcap"), RESUME_SECONDS,
                                         PTIME_MS, 440.0, ssrc=0x0AC00002)
        pcaputil.write_pcmu_pcap(os.path.join(uas_dir, "rtp_main.pcap"), MAIN_SECONDS,
                                 PTIME_MS, 660.0, ssrc=0x0A500001)
        pcaputil.write_pcmu_pcap(os.path.join(uas_dir, "rtp_resume.pcap"), RESUME_SECONDS,
                                 PTIME_MS, 660.0, ssrc=0x0A500002)
        expected_per_dir = n_main + n_res

        # ---- media daemon --------------------------------------------------
        procs["daemon"] = start_daemon(kind, ng_port, port_min, port_max,
                                       os.path.join(workdir, "daemon.log"))
        ng = NGClient(IP_GW, ng_port, timeout=1.0)
        up = ng.wait_ready(10.0)
        if not rep.check(variant, "daemon answers NG ping", up,
                         "" if up else "no pong on %s:%d" % (IP_GW, ng_port)):
            return
        calls0 = [text(c) for c in ng.list_calls()]
        rep.check(variant, "daemon starts with no calls", calls0 == [], "list=%r" % calls0)

        # ---- capture -------------------------------------------------------
        pcap = os.path.join(workdir, "lo.pcap")
        bpf = ("udp and (portrange %d-%d or port %d or port %d or port %d)"
               % (port_min, port_max, sip_port, uac_port, uas_port))
        procs["tcpdump"] = Proc("tcpdump", [TCPDUMP, "-i", "lo", "-n", "-s", "0", "-U", "-B", "8192",
                                            "-Z", "root", "-w", pcap, bpf],
                                os.path.join(workdir, "tcpdump.log"))
        if not rep.check(variant, "tcpdump capturing",
                         wait_until(lambda: "listening on" in procs["tcpdump"].output(), 10),
                         "" if "listening on" in procs["tcpdump"].output()
                         else procs["tcpdump"].output().strip()[-300:]):
            return

        # ---- kamailio ------------------------------------------------------
        procs["kamailio"] = start_kamailio(workdir, sip_port, kam_ng_port, uas_port, manage,
                                           os.path.join(workdir, "kamailio.log"))
        kam_up = wait_until(lambda: not procs["kamailio"].alive() or sip_options_ping(sip_port), 15, 0.2)
        kam_up = kam_up and procs["kamailio"].alive()
        if not rep.check(variant, "kamailio up (answers OPTIONS)", kam_up,
                         "" if kam_up else procs["kamailio"].output()[-2000:]):
            return

        # ---- sipp UAS then UAC ---------------------------------------------
        uas_stats = os.path.join(workdir, "uas_stats.csv")
        uac_stats = os.path.join(workdir, "uac_stats.csv")
        procs["uas"] = Proc("sipp-uas", sipp_cmd(os.path.join(SIPP_DIR, "uas_hold.xml"), IP_UAS,
                                                 uas_port, media_port, uas_stats, []),
                            os.path.join(workdir, "sipp_uas.out"), cwd=uas_dir)
        if not rep.check(variant, "sipp UAS listening",
                         wait_until(lambda: not _udp_free(IP_UAS, uas_port)
                                    or not procs["uas"].alive(), 10) and procs["uas"].alive(),
                         "" if procs["uas"].alive() else procs["uas"].output()[-1000:]):
            return
        t_start = time.monotonic()
        procs["uac"] = Proc("sipp-uac", sipp_cmd(os.path.join(SIPP_DIR, "uac_hold.xml"), IP_UAC,
                                                 uac_port, media_port, uac_stats,
                                                 ["%s:%d" % (IP_PROXY, sip_port)])
                            + ["-s", "rtpgate", "-l", str(NCALLS), "-r", "5", "-rp", "1000"],
                            os.path.join(workdir, "sipp_uac.out"), cwd=uac_dir)

        # watch the daemon's call list while the calls run
        max_calls = 0
        blocked = set()
        deadline = time.monotonic() + 75
        while procs["uac"].alive() and time.monotonic() < deadline:
            try:
                listed = [text(c) for c in ng.list_calls()]
                max_calls = max(max_calls, len(listed))
                if fault == "block-media" and time.monotonic() - t_start > 1.5:
                    for cid in listed:
                        if cid not in blocked:
                            ng.command("block media", call_id=cid)
                            blocked.add(cid)
            except (NGError, NGTimeout, OSError):
                pass
            time.sleep(0.25)
        uac_rc = procs["uac"].wait(5)
        if uac_rc is None:
            uac_rc = procs["uac"].stop()
            log("sipp UAC did not finish in time, killed")
        # the UAS waits for its calls until its own timeout: don't wait
        # for that when the UAC already failed
        uas_rc = procs["uas"].wait(10 if uac_rc == 0 else 2)
        if uas_rc is None:
            uas_rc = procs["uas"].stop()
            log("sipp UAS did not finish in time, killed")
        log("calls ran %.1f s" % (time.monotonic() - t_start))
        procs["uac"].stop()
        procs["uas"].stop()

        # ---- (d) the daemon forgot the calls -----------------------------
        left = None

        def _no_calls():
            nonlocal left
            try:
                left = [text(c) for c in ng.list_calls()]
            except (NGError, NGTimeout, OSError) as e:
                left = "error: %s" % e
            return left == []
        time.sleep(0.3)
        time.sleep(0.2 if wait_until(_no_calls, 3.0, 0.2) else 0)
        time.sleep(0.3)   # let tcpdump see the last packets
        procs["tcpdump"].stop(signal.SIGINT)
        tcpdump_out = procs["tcpdump"].output()

        # ---- (e) sipp results ------------------------------------------------
        uac_st = read_sipp_stats(uac_stats)
        uas_st = read_sipp_stats(uas_stats)
        uac_ok = uac_st.get("SuccessfulCall(C)", "?")
        uac_fail = uac_st.get("FailedCall(C)", "?")
        uas_ok = uas_st.get("SuccessfulCall(C)", "?")
        uas_fail = uas_st.get("FailedCall(C)", "?")
        rep.check(variant, "(e) sipp UAC: all calls succeeded",
                  uac_rc == 0 and uac_ok == str(NCALLS) and uac_fail == "0",
                  "exit %s, successful %s/%d, failed %s" % (uac_rc, uac_ok, NCALLS, uac_fail))
        rep.check(variant, "(e) sipp UAS: all calls succeeded",
                  uas_rc == 0 and uas_ok == str(NCALLS) and uas_fail == "0",
                  "exit %s, successful %s/%d, failed %s" % (uas_rc, uas_ok, NCALLS, uas_fail))
        rep.check(variant, "calls were concurrent on the daemon (NG list)",
                  max_calls >= NCALLS, "max %d listed at once, %d expected" % (max_calls, NCALLS))

        # ---- capture analysis -------------------------------------------------
        m = re.search(r"(\d+) packets? dropped by kernel", tcpdump_out)
        drops = int(m.group(1)) if m else -1
        rep.check(variant, "capture complete (no kernel drops)", drops == 0,
                  "tcpdump: %s" % (m.group(0) if m else tcpdump_out.strip()[-200:]))

        sig = collect_signalling(pcap, uac_port, uas_port)
        rep.check(variant, "captured the signalling of every call", len(sig) == NCALLS,
                  "%d call-ids seen by the UAS/UAC, %d expected" % (len(sig), NCALLS))
        flows = count_rtp(pcap, port_min, port_max)

        def in_range(p):
            return p is not None and port_min <= p <= port_max

        for n, (cid, c) in enumerate(sorted(sig.items()), 1):
            label = "call %d (%s)" % (n, cid)
            inv1 = c["uas_invite"].get(1)
            ok1 = c["uac_200"].get(1)
            # (a) the SDP each side received points at the gateway
            good = bool(inv1 and inv1["c_addr"] == IP_GW and in_range(inv1["port"]))
            rep.check(variant, "(a) %s: INVITE SDP at UAS points at gateway" % label, good,
                      "c=%s m=%s, want c=%s port in %d-%d" % (
                          inv1 and inv1["c_addr"], inv1 and inv1["port"], IP_GW, port_min, port_max))
            good = bool(ok1 and ok1["c_addr"] == IP_GW and in_range(ok1["port"]))
            rep.check(variant, "(a) %s: 200 SDP at UAC points at gateway" % label, good,
                      "c=%s m=%s, want c=%s port in %d-%d" % (
                          ok1 and ok1["c_addr"], ok1 and ok1["port"], IP_GW, port_min, port_max))
            good = bool(inv1 and ok1 and inv1["o_addr"] == IP_GW and ok1["o_addr"] == IP_GW)
            rep.check(variant, "(a) %s: o= rewritten (replace-origin)" % label, good,
                      "o= at UAS %s, at UAC %s" % (inv1 and inv1["o_addr"], ok1 and ok1["o_addr"]))
            good = bool(inv1 and ok1 and inv1["port"] != ok1["port"])
            rep.check(variant, "(a) %s: the two legs use distinct gateway ports" % label, good,
                      "UAS leg %s, UAC leg %s" % (inv1 and inv1["port"], ok1 and ok1["port"]))
            # (c) hold / resume keep the ports
            hold_inv, res_inv = c["uas_invite"].get(2), c["uas_invite"].get(3)
            hold_ok, res_ok = c["uac_200"].get(2), c["uac_200"].get(3)
            good = bool(inv1 and hold_inv and res_inv
                        and hold_inv["c_addr"] == IP_GW and res_inv["c_addr"] == IP_GW
                        and hold_inv["port"] == inv1["port"] == res_inv["port"]
                        and hold_inv["dir"] == "sendonly" and res_inv["dir"] == "sendrecv")
            rep.check(variant, "(c) %s: re-INVITEs at UAS keep gateway port, hold/resume passed" % label,
                      good, "ports %s/%s/%s dirs %s/%s/%s" % tuple(
                          [x and x["port"] for x in (inv1, hold_inv, res_inv)]
                          + [x and x["dir"] for x in (inv1, hold_inv, res_inv)]))
            good = bool(ok1 and hold_ok and res_ok
                        and hold_ok["c_addr"] == IP_GW and res_ok["c_addr"] == IP_GW
                        and hold_ok["port"] == ok1["port"] == res_ok["port"]
                        and hold_ok["dir"] == "recvonly" and res_ok["dir"] == "sendrecv")
            rep.check(variant, "(c) %s: re-INVITE 200s at UAC keep gateway port, hold/resume passed" % label,
                      good, "ports %s/%s/%s dirs %s/%s/%s" % tuple(
                          [x and x["port"] for x in (ok1, hold_ok, res_ok)]
                          + [x and x["dir"] for x in (ok1, hold_ok, res_ok)]))
            # (b) RTP through the gateway, both directions
            if not (inv1 and ok1 and in_range(inv1["port"]) and in_range(ok1["port"])):
                rep.check(variant, "(b) %s: RTP relayed" % label, False, "no gateway ports known")
                continue
            a_port, b_port = ok1["port"], inv1["port"]   # A faces the UAC, B the UAS
            for dname, src_ep, gin, gout, dst_ep in (
                    ("UAC->UAS", (IP_UAC, media_port), a_port, b_port, (IP_UAS, media_port)),
                    ("UAS->UAC", (IP_UAS, media_port), b_port, a_port, (IP_UAC, media_port))):
                fin = flows.get(src_ep + (IP_GW, gin), {"n": 0, "rtp": {}})
                fout = flows.get((IP_GW, gout) + dst_ep, {"n": 0, "rtp": {}})
                n_in, n_out = fin["n"], fout["n"]
                ratio = (n_out / n_in) if n_in else 0.0
                good = (n_in >= MIN_RATIO * expected_per_dir and ratio >= MIN_RATIO
                        and n_out <= n_in)
                rep.check(variant, "(b) %s: RTP %s relayed" % (label, dname), good,
                          "into gateway :%d %d (sent by sipp %d), out of gateway :%d %d, ratio %.3f"
                          % (gin, n_in, expected_per_dir, gout, n_out, ratio))
                same = sum(1 for seq, v in fout["rtp"].items() if fin["rtp"].get(seq) == v)
                good = bool(fout["rtp"]) and same == len(fout["rtp"]) and all(
                    pt == 0 for pt, _ in fout["rtp"].values())
                rep.check(variant, "(b) %s: RTP %s unchanged (PT 0, seq, payload)" % (label, dname),
                          good, "%d/%d relayed packets match what went in" % (same, len(fout["rtp"])))

        # ---- (d) calls gone ----------------------------------------------
        rep.check(variant, "(d) NG list empty after BYE", left == [], "list=%r" % (left,))
        for n, cid in enumerate(sorted(sig), 1):
            try:
                r = ng.query(cid)
                gone, why = False, "query ok: result=%s" % text(r.get(b"result"))
            except NGError as e:
                gone, why = True, "error: %s" % e.reason
            except (NGTimeout, OSError) as e:
                gone, why = False, "no reply: %s" % e
            rep.check(variant, "(d) call %d: NG query reports it gone" % n, gone, why)

        # ---- Kamailio's view ------------------------------------------------
        klog = procs["kamailio"].output()
        stats = {}
        for mm in re.finditer(r"rtpstat (\S+): RTP: (\d+) bytes, (\d+) packets, (\d+) errors", klog):
            stats[mm.group(1)] = int(mm.group(3))
        for n, cid in enumerate(sorted(sig), 1):
            rep.check(variant, "$rtpstat call %d: counters from NG query on BYE" % n,
                      stats.get(cid, 0) > 0, "RTP packets %s" % stats.get(cid))
        errs = [ln for ln in klog.splitlines() if re.search(r"\b(ERROR|CRITICAL)\b", ln)]
        rep.check(variant, "no ERROR in Kamailio's log", not errs, " | ".join(errs[:3])[:600])

        # ---- everything still alive -----------------------------------------
        rep.check(variant, "daemon still running", procs["daemon"].alive(),
                  "exit code %s" % procs["daemon"].p.returncode)
        rep.check(variant, "kamailio still running", procs["kamailio"].alive(),
                  "exit code %s" % procs["kamailio"].p.returncode)
    finally:
        for name in ("uac", "uas", "kamailio", "tcpdump", "daemon"):
            if name in procs:
                procs[name].stop(signal.SIGINT if name == "tcpdump" else signal.SIGTERM)
        failed = rep.failed > ok_before
        if failed:
            dump_logs(workdir)
        if failed or keep:
            log("work directory kept: %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def dump_logs(workdir, lines=25):
    for name in ("daemon.log", "kamailio.log", "sipp_uac.out", "sipp_uas.out"):
        p = os.path.join(workdir, name)
        try:
            with open(p, encoding="utf-8", errors="replace") as f:
                tail = f.read().splitlines()[-lines:]
        except OSError:
            continue
        print("----- tail of %s -----" % name)
        for ln in tail:
            print("  " + ln[:300])
    for sub in ("uac", "uas"):
        d = os.path.join(workdir, sub)
        if os.path.isdir(d):
            for fn in sorted(os.listdir(d)):
                if fn.endswith("_errors.log"):
                    with open(os.path.join(d, fn), encoding="utf-8", errors="replace") as f:
                        tail = f.read().splitlines()[-lines:]
                    print("----- tail of %s/%s -----" % (sub, fn))
                    for ln in tail:
                        print("  " + ln[:300])
    sys.stdout.flush()


def main():
    kind = os.environ.get("RG_DAEMON", "rtpengine")
    variants = [v.strip() for v in os.environ.get("RG_VARIANTS", "offer-answer,manage").split(",")
                if v.strip()]
    fault = os.environ.get("RG_FAULT", "")
    for v in variants:
        if v not in ("offer-answer", "manage"):
            print("unknown variant %r" % v)
            return 2
    if fault not in ("", "wrong-ng-port", "block-media"):
        print("unknown RG_FAULT %r" % fault)
        return 2

    problem = None
    missing = [t for t in (KAMAILIO, SIPP, TCPDUMP) if not os.path.exists(t)]
    if missing:
        problem = "missing tools: %s" % ", ".join(missing)
    elif os.geteuid() != 0:
        problem = "needs root (sipp play_pcap_audio uses raw sockets, tcpdump captures lo)"
    if problem:
        if os.environ.get("RG_ALLOW_SKIP") == "1":
            print("SKIP: %s" % problem)
            return 77   # meson: skipped
        print("FAIL: %s (RG_ALLOW_SKIP=1 turns this into a skip)" % problem)
        print("0 passed, 1 failed")
        return 1

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)

    rep = Report()
    print("media daemon: %s%s; variants: %s%s" % (
        kind, (" (%s)" % os.environ["RG_BIN"]) if os.environ.get("RG_BIN") else "",
        ", ".join(variants), ("; FAULT INJECTED: %s" % fault) if fault else ""), flush=True)
    t0 = time.monotonic()
    try:
        for v in variants:
            tv = time.monotonic()
            print("=== variant %s (%s) ===" % (v, "rtpengine_manage()" if v == "manage"
                                               else "rtpengine_offer/answer/delete()"), flush=True)
            try:
                run_variant(v, rep, kind, fault)
            except Interrupted:
                raise
            except Exception as e:  # a harness error is a failure, not a crash
                import traceback
                traceback.print_exc()
                rep.check(v, "harness ran without exception", False, repr(e))
            log("variant %s took %.1f s" % (v, time.monotonic() - tv))
    except Interrupted as e:
        rep.check("-", "test not interrupted", False, str(e))
    finally:
        stop_all()
    print("total %.1f s" % (time.monotonic() - t0))
    if rep.failures:
        print("failed checks:")
        for f in rep.failures:
            print("  " + f)
    print("%d passed, %d failed" % (rep.passed, rep.failed), flush=True)
    return 0 if rep.failed == 0 and rep.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
