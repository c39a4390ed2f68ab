// The browser side of test_webrtc_chromium.py: one RTCPeerConnection, remote-controlled by the
// test over plain HTTP on the same origin (127.0.0.1). The page long-polls GET /api/next for a
// command, runs it and POSTs the outcome to /api/result; console lines go to POST /api/log.
//
// Commands ({cmd: ..., id: n, ...}):
//   probe                 gather ICE candidates once (no remote side) and return the offer SDP,
//                         so that the test can pick the address Chromium's candidates use
//   offer {freq, video, codecs}
//                         new peer connection sending a <freq> Hz WebAudio tone, PCMU only (or
//                         the audio codecs named, e.g. ['opus', 'telephone-event']), and
//                         with video: true also the fake camera, VP8 only (audio and video in
//                         one BUNDLE group); returns the local offer SDP once ICE gathering
//                         completed
//   answer {sdp, freq, codecs}
//                         new peer connection from the remote offer, answered with the tone
//                         and PCMU only (or the audio codecs named); returns the local answer
//                         SDP (gathering completed)
//   remote {type, sdp}    setRemoteDescription (the answer to our offer)
//   dtmf {tones, duration, gap}
//                         RTCDTMFSender.insertDTMF on the audio sender
//   measure {warmup, seconds}
//                         analyse the received audio with an AnalyserNode: dominant frequency,
//                         peak level; plus the peer connection's getStats() reports
//   timeline {until, pauses, windows, interval, fftSize}
//                         (times in ms since the epoch, Date.now(): the test's time.time())
//                         mute the tone (gain 0) during each [from, to] of pauses; until `until`,
//                         every `interval` ms sample getStats() (inbound/outbound-rtp counters)
//                         and the received audio's RMS level; the dominant frequency of the
//                         received audio within each [from, to] of windows
//   close                 close the peer connection
//   quit                  stop polling
// Errors come back as {ok: false, error: String(exception)}: Chromium's exact message.
'use strict';

// RTCPeerConnection bundlePolicy: the browser default ('balanced') unless the page URL says
// ?bundle=max-bundle (or max-compat)
const BUNDLE_POLICY = new URLSearchParams(location.search).get('bundle') || 'balanced';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function post(path, obj) {
  const r = await fetch(path, {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify(obj),
  });
  return r.ok;
}

function log(...args) {
  const line = args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
  console.log(line);
  document.getElementById('log').textContent += line + '\n';
  post('/api/log', {msg: line}).catch(() => {});
}

window.addEventListener('error', (e) => log('page error:', String(e.message)));
window.addEventListener('unhandledrejection', (e) => log('unhandled rejection:', String(e.reason)));

let ctx = null;         // one AudioContext for the tone and the analysis
let pc = null;
let toneStream = null;
let analyser = null;
let remoteStream = null;
let toneGain = null;    // the tone's GainNode (timeline mutes it)
const TONE_GAIN = 0.3;

function audioContext() {
  if (!ctx) ctx = new AudioContext();
  return ctx;
}

// A sine from WebAudio as a MediaStream (no capture device involved).
async function tone(freq) {
  const c = audioContext();
  await c.resume();
  const osc = c.createOscillator();
  osc.type = 'sine';
  osc.frequency.value = freq;
  const gain = c.createGain();
  gain.gain.value = TONE_GAIN;
  toneGain = gain;
  const dst = c.createMediaStreamDestination();
  osc.connect(gain).connect(dst);
  osc.start();
  return dst.stream;
}

function attachRemote(stream) {
  if (remoteStream === stream) return;
  remoteStream = stream;
  const el = document.getElementById('remote');
  el.srcObject = stream;
  // Playing, not muted, full volume: Chromium computes inbound-rtp audioLevel/totalAudioEnergy only
  // for audio that is played out (a muted or volume 0 element leaves them at 0); the browser is
  // started with --mute-audio, so nothing is audible.
  el.muted = false;
  el.volume = 1;
  el.play().catch((e) => log('audio element play():', String(e)));
  const c = audioContext();
  c.resume();
  const src = c.createMediaStreamSource(stream);
  analyser = c.createAnalyser();
  analyser.fftSize = 32768;
  analyser.smoothingTimeConstant = 0;
  src.connect(analyser);
  // keep the analyser pulled by the rendering graph, silently
  const mute = c.createGain();
  mute.gain.value = 0;
  analyser.connect(mute).connect(c.destination);
  log('remote track attached:', stream.getAudioTracks().map((t) => t.id + '/' + t.readyState).join(','));
}

function newPeerConnection() {
  if (pc) pc.close();
  analyser = null;
  remoteStream = null;
  pc = new RTCPeerConnection({iceServers: [], bundlePolicy: BUNDLE_POLICY, rtcpMuxPolicy: 'require'});
  pc.addEventListener('track', (ev) => {
    if (ev.track.kind === 'audio') {
      attachRemote(ev.streams[0] || new MediaStream([ev.track]));
      return;
    }
    // received video is rendered (muted, off screen) so that Chromium decodes it
    const v = document.createElement('video');
    v.muted = true;
    v.autoplay = true;
    v.srcObject = new MediaStream([ev.track]);
    document.body.appendChild(v);
    v.play().catch((e) => log('video element play():', String(e)));
  });
  pc.addEventListener('iceconnectionstatechange', () => log('iceConnectionState', pc.iceConnectionState));
  pc.addEventListener('connectionstatechange', () => log('connectionState', pc.connectionState));
  return pc;
}

function preferVp8(transceiver) {
  const caps = RTCRtpReceiver.getCapabilities('video');
  const vp8 = caps.codecs.filter((c) => c.mimeType.toLowerCase() === 'video/vp8');
  if (!vp8.length) throw new Error('no video/VP8 in RTCRtpReceiver.getCapabilities');
  transceiver.setCodecPreferences(vp8);
}

// codec preferences by mime type names, in order (e.g. ['opus', 'telephone-event'])
function preferCodecs(transceiver, names) {
  const caps = RTCRtpReceiver.getCapabilities('audio').codecs;
  const list = [];
  for (const n of names) {
    caps.filter((c) => c.mimeType.toLowerCase() === 'audio/' + n.toLowerCase()).forEach((c) => list.push(c));
  }
  if (!list.length) throw new Error('none of ' + names + ' in RTCRtpReceiver.getCapabilities');
  transceiver.setCodecPreferences(list);
}

function preferPcmu(transceiver) {
  const caps = RTCRtpReceiver.getCapabilities('audio');
  const pcmu = caps.codecs.filter((c) => c.mimeType.toLowerCase() === 'audio/pcmu');
  if (!pcmu.length) throw new Error('no audio/PCMU in RTCRtpReceiver.getCapabilities');
  transceiver.setCodecPreferences(pcmu);
}

function gatheringComplete(p, ms) {
  if (p.iceGatheringState === 'complete') return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    p.addEventListener('icegatheringstatechange', () => {
      if (p.iceGatheringState === 'complete') {
        clearTimeout(t);
        resolve(true);
      }
    });
  });
}

// Allowed capture once (fake device, fake UI): Chromium then exposes host addresses even where
// the mDNS obfuscation is not switched off by command line.
let captureTried = false;
async function grantCapture() {
  if (captureTried) return;
  captureTried = true;
  try {
    const s = await navigator.mediaDevices.getUserMedia({audio: true});
    s.getTracks().forEach((t) => t.stop());
  } catch (e) {
    log('getUserMedia (only for the permission):', String(e));
  }
}

const handlers = {
  async probe() {
    await grantCapture();
    const p = new RTCPeerConnection({iceServers: []});
    p.addTransceiver('audio');
    await p.setLocalDescription(await p.createOffer());
    const complete = await gatheringComplete(p, 5000);
    const sdp = p.localDescription.sdp;
    p.close();
    return {sdp, complete, userAgent: navigator.userAgent};
  },

  async offer(cmd) {
    await grantCapture();
    const p = newPeerConnection();
    toneStream = await tone(cmd.freq);
    const track = toneStream.getAudioTracks()[0];
    const tr = p.addTransceiver(track, {direction: 'sendrecv', streams: [toneStream]});
    if (cmd.codecs) preferCodecs(tr, cmd.codecs);
    else preferPcmu(tr);
    if (cmd.video) {
      const cam = await navigator.mediaDevices.getUserMedia(
          {video: {width: 320, height: 240, frameRate: 15}});
      cam.getVideoTracks().forEach((t) => toneStream.addTrack(t));
      const vt = p.addTransceiver(cam.getVideoTracks()[0], {direction: 'sendrecv', streams: [toneStream]});
      preferVp8(vt);
    }
    await p.setLocalDescription(await p.createOffer());
    const complete = await gatheringComplete(p, 5000);
    return {sdp: p.localDescription.sdp, complete};
  },

  async answer(cmd) {
    await grantCapture();
    const p = newPeerConnection();
    await p.setRemoteDescription({type: 'offer', sdp: cmd.sdp});
    toneStream = await tone(cmd.freq);
    const track = toneStream.getAudioTracks()[0];
    const tr = p.getTransceivers().find((t) => t.receiver.track && t.receiver.track.kind === 'audio');
    if (!tr) throw new Error('the offer has no audio transceiver');
    tr.direction = 'sendrecv';
    await tr.sender.replaceTrack(track);
    tr.sender.setStreams(toneStream);
    if (cmd.codecs) preferCodecs(tr, cmd.codecs);
    else preferPcmu(tr);
    await p.setLocalDescription(await p.createAnswer());
    const complete = await gatheringComplete(p, 5000);
    return {sdp: p.localDescription.sdp, complete};
  },

  // RTCDTMFSender.insertDTMF on the audio sender: {tones, duration, gap}
  async dtmf(cmd) {
    const s = pc.getSenders().find((x) => x.track && x.track.kind === 'audio');
    if (!s || !s.dtmf) throw new Error('no DTMF sender');
    // canInsertDTMF turns true once the audio sender sends, i.e. after DTLS connected, which may
    // be a few ms after setRemoteDescription returned: wait for it (up to 3 s)
    const t0 = performance.now();
    while (!s.dtmf.canInsertDTMF && performance.now() - t0 < 3000) await sleep(20);
    if (!s.dtmf.canInsertDTMF) {
      throw new Error('canInsertDTMF is false after 3 s (connectionState ' + pc.connectionState +
                      '; no telephone-event negotiated?)');
    }
    s.dtmf.insertDTMF(cmd.tones, cmd.duration || 100, cmd.gap || 70);
    return {toneBuffer: s.dtmf.toneBuffer};
  },

  async remote(cmd) {
    await pc.setRemoteDescription({type: cmd.type, sdp: cmd.sdp});
    return {signalingState: pc.signalingState};
  },

  async measure(cmd) {
    await sleep((cmd.warmup || 0) * 1000);
    const c = audioContext();
    const res = {sampleRate: c.sampleRate, contextState: c.state, frames: 0, peak: 0, freq: 0};
    if (analyser) {
      const bins = new Float32Array(analyser.frequencyBinCount);
      const sum = new Float64Array(analyser.frequencyBinCount);
      const td = new Float32Array(analyser.fftSize);
      const end = performance.now() + cmd.seconds * 1000;
      while (performance.now() < end) {
        await sleep(100);
        analyser.getFloatFrequencyData(bins);
        for (let i = 1; i < bins.length; i++) {
          if (Number.isFinite(bins[i])) sum[i] += Math.pow(10, bins[i] / 20);
        }
        analyser.getFloatTimeDomainData(td);
        for (let i = 0; i < td.length; i++) res.peak = Math.max(res.peak, Math.abs(td[i]));
        res.frames++;
      }
      let k = 1;
      for (let i = 2; i < sum.length; i++) if (sum[i] > sum[k]) k = i;
      // parabolic interpolation between the neighbouring bins
      let delta = 0;
      if (k > 1 && k < sum.length - 1 && sum[k] > 0) {
        const a = sum[k - 1], b = sum[k], d = sum[k + 1];
        const den = a - 2 * b + d;
        if (den !== 0) delta = 0.5 * (a - d) / den;
      }
      res.freq = sum[k] > 0 ? (k + delta) * c.sampleRate / analyser.fftSize : 0;
    } else {
      res.error = 'no remote track';
    }
    res.stats = await stats();
    res.iceConnectionState = pc.iceConnectionState;
    res.connectionState = pc.connectionState;
    return res;
  },

  async timeline(cmd) {
    const c = audioContext();
    for (const [from, to] of cmd.pauses || []) {
      if (!toneGain) throw new Error('no tone to pause');
      const at = c.currentTime + Math.max(0, from - Date.now()) / 1000;
      toneGain.gain.setValueAtTime(0, at);
      toneGain.gain.setValueAtTime(TONE_GAIN, at + (to - from) / 1000);
    }
    if (!analyser) throw new Error('no remote track');
    analyser.fftSize = cmd.fftSize || 8192;
    const bins = new Float32Array(analyser.frequencyBinCount);
    const td = new Float32Array(analyser.fftSize);
    const windows = (cmd.windows || []).map(() => new Float64Array(analyser.frequencyBinCount));
    const peaks = (cmd.windows || []).map(() => 0);
    const samples = [];
    const pick = (list, typ) => list.filter((r) => r.type === typ && (r.kind || 'audio') === 'audio');
    const sum = (list, key) => list.reduce((a, r) => a + (r[key] || 0), 0);
    for (;;) {
      const now = Date.now();
      const rep = [];
      (await pc.getStats()).forEach((r) => rep.push(r));
      const inb = pick(rep, 'inbound-rtp'), outb = pick(rep, 'outbound-rtp');
      analyser.getFloatTimeDomainData(td);
      let e = 0;
      for (let i = 0; i < td.length; i++) e += td[i] * td[i];
      samples.push({t: now, sent: sum(outb, 'packetsSent'), recv: sum(inb, 'packetsReceived'),
                    samplesReceived: sum(inb, 'totalSamplesReceived'),
                    concealed: sum(inb, 'concealedSamples'),
                    silentConcealed: sum(inb, 'silentConcealedSamples'),
                    level: Math.sqrt(e / td.length)});
      // a window takes the spectra whose whole FFT span lies inside it
      const span = analyser.fftSize / c.sampleRate * 1000;
      (cmd.windows || []).forEach(([from, to], w) => {
        if (now - span < from || now > to) return;
        analyser.getFloatFrequencyData(bins);
        for (let i = 1; i < bins.length; i++) {
          if (Number.isFinite(bins[i])) windows[w][i] += Math.pow(10, bins[i] / 20);
        }
        for (let i = 0; i < td.length; i++) peaks[w] = Math.max(peaks[w], Math.abs(td[i]));
      });
      if (now >= cmd.until) break;
      await sleep(Math.min(cmd.interval || 100, Math.max(1, cmd.until - Date.now())));
    }
    const freqs = windows.map((s) => {
      let k = 1;
      for (let i = 2; i < s.length; i++) if (s[i] > s[k]) k = i;
      if (!(s[k] > 0)) return 0;
      let delta = 0;
      if (k > 1 && k < s.length - 1) {
        const den = s[k - 1] - 2 * s[k] + s[k + 1];
        if (den !== 0) delta = 0.5 * (s[k - 1] - s[k + 1]) / den;
      }
      return (k + delta) * c.sampleRate / analyser.fftSize;
    });
    return {samples, freqs, peaks, sampleRate: c.sampleRate, stats: await stats()};
  },

  async close() {
    if (pc) pc.close();
    document.querySelectorAll('video').forEach((v) => v.remove());
    pc = null;
    if (toneStream) toneStream.getTracks().forEach((t) => t.stop());
    toneStream = null;
    toneGain = null;
    return {};
  },
};

async function stats() {
  const keep = ['inbound-rtp', 'outbound-rtp', 'remote-inbound-rtp', 'transport', 'candidate-pair',
                'local-candidate', 'remote-candidate', 'codec'];
  const out = [];
  if (!pc) return out;
  (await pc.getStats()).forEach((r) => {
    if (keep.includes(r.type)) out.push(r);
  });
  return out;
}

async function main() {
  log('page loaded:', navigator.userAgent);
  for (;;) {
    let cmd;
    try {
      const r = await fetch('/api/next', {cache: 'no-store'});
      cmd = await r.json();
    } catch (e) {
      await sleep(250);
      continue;
    }
    if (cmd.cmd === 'idle') continue;
    if (cmd.cmd === 'quit') break;
    let reply;
    try {
      const h = handlers[cmd.cmd];
      if (!h) throw new Error('unknown command ' + cmd.cmd);
      reply = {id: cmd.id, ok: true, result: await h(cmd)};
    } catch (e) {
      reply = {id: cmd.id, ok: false, error: String(e)};
      log('command', cmd.cmd, 'failed:', String(e));
    }
    for (let i = 0; i < 3; i++) {
      try {
        if (await post('/api/result', reply)) break;
      } catch (e) {
        await sleep(200);
      }
    }
  }
  log('page done');
}

main();
