"""tests/tools/rg_audio_tool (the codecs/ library's encoders and decoders) for the integration
tests' phones: PCM <-> RTP payloads as length-prefixed records over stdin/stdout."""
import os
import struct
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def audio_tool_path():
    """RG_AUDIO_TOOL, else tests/tools/rg_audio_tool of RG_BIN's build directory (default build/)."""
    p = os.environ.get("RG_AUDIO_TOOL")
    if p:
        return p
    rg_bin = os.environ.get("RG_BIN") or os.path.join(REPO, "build", "gateway", "rtpgate")
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(rg_bin))), "tests", "tools",
                        "rg_audio_tool")


def audio_tool(mode, rtpmap, fmtp, records):
    """Run rg_audio_tool over length-prefixed records -> (output records, stderr text, exit code)."""
    cmd = [audio_tool_path(), mode, rtpmap]
    if fmtp:
        cmd += ["--fmtp", fmtp]
    data = b"".join(struct.pack("!I", len(r)) + r for r in records)
    r = subprocess.run(cmd, input=data, capture_output=True, timeout=30)
    out, i = [], 0
    while i + 4 <= len(r.stdout):
        n = struct.unpack("!I", r.stdout[i:i + 4])[0]
        out.append(r.stdout[i + 4:i + 4 + n])
        i += 4 + n
    return out, r.stderr.decode("utf-8", "replace").strip(), r.returncode
