"""Minimal pcap writer/reader for the integration tests (stdlib only).

* :func:`write_pcmu_pcap` makes an RTP/PCMU stream capture that sipp's
  ``play_pcap_audio`` can replay (Ethernet/IPv4/UDP/RTP, 20 ms packets).
* :func:`read_udp` yields the IPv4/UDP datagrams of a capture (e.g. one that
  ``tcpdump -i lo -w`` wrote).
"""

import math
import struct

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D

DLT_NULL = 0
DLT_EN10MB = 1
DLT_RAW = 101
DLT_LINUX_SLL = 113
DLT_IPV4 = 228


def _linear_to_ulaw(sample):
    """16-bit linear PCM -> 8-bit G.711 mu-law (ITU-T G.711)."""
    BIAS, CLIP = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    if sample < 0:
        sample = -sample
    sample = min(sample, CLIP) + BIAS
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not (sample & mask):
        exponent -= 1
        mask >>= 1
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def _ip_checksum(hdr):
    if len(hdr) % 2:
        hdr += b"\0"
    s = sum(struct.unpack("!%dH" % (len(hdr) // 2), hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def write_pcmu_pcap(path, seconds=4.0, ptime_ms=20, freq_hz=440.0, ssrc=0x1234ABCD,
                    src=("10.0.0.1", 6000), dst=("10.0.0.2", 6000)):
    """Write a pcap of ``seconds`` of PCMU RTP (PT 0, 8 kHz, ptime 20 ms).

    The addresses/ports in the file do not matter to sipp (it replaces them
    with the call's media addresses; only the offset of each packet's
    destination port from the lowest one is kept). Returns the number of
    RTP packets written.
    """
    samples_per_pkt = 8 * ptime_ms
    npkts = int(round(seconds * 1000 / ptime_ms))
    # one period-continuous tone, pre-encoded
    out = bytearray(struct.pack("<IHHiIII", PCAP_MAGIC_US, 2, 4, 0, 0, 65535, DLT_EN10MB))
    sip = bytes(int(x) for x in src[0].split("."))
    dip = bytes(int(x) for x in dst[0].split("."))
    t0 = 1700000000.0
    for n in range(npkts):
        payload = bytes(
            _linear_to_ulaw(int(8000 * math.sin(2 * math.pi * freq_hz * (n * samples_per_pkt + i) / 8000.0)))
            for i in range(samples_per_pkt))
        rtp = struct.pack("!BBHII", 0x80, (0x80 if n == 0 else 0) | 0, n & 0xFFFF,
                          (n * samples_per_pkt) & 0xFFFFFFFF, ssrc) + payload
        udp_len = 8 + len(rtp)
        pseudo = sip + dip + struct.pack("!BBH", 0, 17, udp_len)
        udp_nock = struct.pack("!HHHH", src[1], dst[1], udp_len, 0) + rtp
        ck = _ip_checksum(pseudo + udp_nock) or 0xFFFF
        udp = struct.pack("!HHHH", src[1], dst[1], udp_len, ck) + rtp
        iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, n & 0xFFFF, 0x4000, 64, 17, 0, sip, dip)
        iph = iph[:10] + struct.pack("!H", _ip_checksum(iph)) + iph[12:]
        frame = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + iph + udp
        ts = t0 + n * ptime_ms / 1000.0
        sec = int(ts)
        usec = int(round((ts - sec) * 1e6))
        out += struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame
    with open(path, "wb") as f:
        f.write(out)
    return npkts


def _packets(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic_le = struct.unpack("<I", data[:4])[0]
    if magic_le in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
        e = "<"
    else:
        e = ">"
        if struct.unpack(">I", data[:4])[0] not in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
            raise ValueError("%s: not a pcap file (pcapng is not supported)" % path)
    magic = struct.unpack(e + "I", data[:4])[0]
    div = 1e9 if magic == PCAP_MAGIC_NS else 1e6
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    pos = 24
    while pos + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(e + "IIII", data[pos:pos + 16])
        pos += 16
        frame = data[pos:pos + incl]
        pos += incl
        if len(frame) < incl:
            break  # truncated last record (capture killed mid-write)
        yield sec + frac / div, linktype, frame


def _ip_offset(linktype, frame):
    if linktype == DLT_EN10MB:
        off = 12
        etype = struct.unpack("!H", frame[off:off + 2])[0]
        while etype in (0x8100, 0x88A8):  # VLAN tags
            off += 4
            etype = struct.unpack("!H", frame[off:off + 2])[0]
        return off + 2 if etype == 0x0800 else None
    if linktype == DLT_LINUX_SLL:
        return 16 if struct.unpack("!H", frame[14:16])[0] == 0x0800 else None
    if linktype == DLT_NULL:
        return 4
    if linktype in (DLT_RAW, DLT_IPV4):
        return 0
    return None


def read_udp(path):
    """Yield (ts, src_ip, sport, dst_ip, dport, payload) for IPv4/UDP packets.

    Non-first IP fragments are skipped (loopback MTU is 64 KiB: none expected).
    """
    for ts, lt, frame in _packets(path):
        off = _ip_offset(lt, frame)
        if off is None or len(frame) < off + 20:
            continue
        vihl = frame[off]
        if vihl >> 4 != 4:
            continue
        ihl = (vihl & 0x0F) * 4
        if frame[off + 9] != 17:
            continue
        frag = struct.unpack("!H", frame[off + 6:off + 8])[0]
        if frag & 0x1FFF:
            continue
        total = struct.unpack("!H", frame[off + 2:off + 4])[0]
        ip = frame[off:off + total]
        src = ".".join(str(b) for b in ip[12:16])
        dst = ".".join(str(b) for b in ip[16:20])
        udp = ip[ihl:]
        if len(udp) < 8:
            continue
        sport, dport, ulen = struct.unpack("!HHH", udp[:6])
        yield ts, src, sport, dst, dport, bytes(udp[8:ulen])
