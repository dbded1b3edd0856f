// call.js — 1:1 audio/video calls (docs/calls.md): the WebRTC peer
// connection, its signalling over the real-time socket, and the call
// window (ringing, calling, in call) with mute, camera off, screen share
// and hang up. One call at a time per device; a second incoming call is
// answered busy.
import { h, icon, replace } from '../dom.js';
import { avatar, toast, errorText } from './ui.js';

const ENDED = {
  missed: 'Missed call', declined: 'Call declined', busy: 'Busy', cancelled: 'Call cancelled',
  completed: 'Call ended', dropped: 'Call dropped',
};

// LOSS_MS is how long a call's media may stay disconnected before this
// device hangs up; RING_SLACK_MS is how long past its ring time a ringing
// window waits for the server's verdict before closing by itself.
const LOSS_MS = 15000;
const RING_SLACK_MS = 5000;

export function durationText(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

export function createCalls(ctx) {
  const { store, rt, api } = ctx;
  // cur: the call this device is in or ringing for, or null.
  //   call: the server's call object; role: 'caller' | 'callee';
  //   here: this device answered (callee) or rang (caller);
  //   pc, local (MediaStream), screen (MediaStreamTrack), pending ICE.
  let cur = null;
  let win = null;
  let tick = null;

  const other = (c) => (c.caller_id === store.me.id ? c.callee_id : c.caller_id);
  const send = (frame) => rt.request(frame).catch((e) => { if (cur) console.warn('call signalling', frame.type, e.message); });

  async function iceServers() {
    try {
      const r = await api.req('GET', '/calls/ice-servers');
      return r?.ice_servers || [];
    } catch { return []; }
  }

  async function media(video) {
    if (!navigator.mediaDevices?.getUserMedia) throw new Error('This browser cannot make calls');
    try {
      return await navigator.mediaDevices.getUserMedia({ audio: true, video });
    } catch (e) {
      if (!video) throw e;
      toast('No camera: calling with audio only');
      return navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    }
  }

  // peer creates the connection with the local tracks; a video transceiver
  // is there even in an audio call, so screen sharing needs no renegotiation.
  async function peer() {
    const pc = new RTCPeerConnection({ iceServers: await iceServers() });
    cur.pc = pc;
    cur.pendingICE = [];
    const a = cur.local.getAudioTracks()[0];
    const v = cur.local.getVideoTracks()[0];
    if (a) pc.addTrack(a, cur.local);
    if (v) cur.videoSender = pc.addTrack(v, cur.local);
    else cur.videoSender = pc.addTransceiver('video', { direction: 'sendrecv', streams: [cur.local] }).sender;
    pc.onicecandidate = (e) => {
      if (e.candidate && cur?.pc === pc) send({ type: 'call_ice', call_id: cur.call.id, candidate: e.candidate.toJSON() });
    };
    pc.ontrack = (e) => {
      if (!cur || cur.pc !== pc) return;
      cur.remote = cur.remote || new MediaStream();
      if (!cur.remote.getTracks().includes(e.track)) cur.remote.addTrack(e.track);
      e.track.onunmute = () => render();
      render();
    };
    pc.onconnectionstatechange = () => {
      if (cur?.pc !== pc) return;
      if (pc.connectionState === 'connected' && !cur.connectedAt) cur.connectedAt = Date.now();
      // A connection that failed, or stays disconnected, ends the call
      // (the hang-up also covers a lost "ended" event).
      clearTimeout(cur.lossTimer);
      if (pc.connectionState === 'failed') lost();
      else if (pc.connectionState === 'disconnected') cur.lossTimer = setTimeout(lost, LOSS_MS);
      render();
    };
    return pc;
  }

  async function flushICE() {
    const list = cur.pendingICE;
    cur.pendingICE = [];
    for (const c of list) { try { await cur.pc.addIceCandidate(c); } catch { /* stale */ } }
  }

  // start rings the other member of the direct conversation c.
  async function start(c, video) {
    if (cur) { toast('You are already in a call'); return; }
    const peerId = store.peerOf(c)?.id;
    cur = { call: { conversation_id: c.id, caller_id: store.me.id, callee_id: peerId, video, state: 'starting' }, role: 'caller', here: true };
    render();
    const me = cur;
    try {
      const local = await media(video);
      if (cur !== me) { stopLocal({ local }); return; }
      cur.local = local;
      const r = await rt.request({ type: 'call_ring', conversation_id: c.id, video });
      if (cur !== me) { send({ type: 'call_cancel', call_id: r.call.id }); return; }
      cur.call = r.call;
      ringGuard(r.call);
      render();
    } catch (e) {
      const msg = e.code === 'conflict' ? (e.frame?.error?.field === 'callee_id' ? `${store.displayName(peerId)} is busy` : 'You are in another call') : errorText(e);
      toast(msg, 'error');
      finish();
    }
  }

  async function accept() {
    if (!cur || cur.role !== 'callee' || cur.here) return;
    cur.here = true;
    render();
    const me = cur;
    try {
      const local = await media(!!cur.call.video);
      if (cur !== me) { stopLocal({ local }); return; }
      cur.local = local;
      await peer();
      const r = await rt.request({ type: 'call_accept', call_id: cur.call.id });
      if (cur) { cur.call = r.call; render(); }
      if (cur?.offer) await answer(cur.offer);
    } catch (e) {
      toast(errorText(e), 'error');
      if (cur === me) { send({ type: 'call_hangup', call_id: cur.call.id }); finish(); }
    }
  }

  async function answer(offer) {
    const pc = cur.pc;
    cur.offer = null;
    await pc.setRemoteDescription({ type: 'offer', sdp: offer });
    await flushICE();
    const ans = await pc.createAnswer();
    await pc.setLocalDescription(ans);
    send({ type: 'call_sdp', call_id: cur.call.id, sdp_type: 'answer', sdp: pc.localDescription.sdp });
  }

  // offer runs on the caller once the call is answered.
  async function offer() {
    const pc = await peer();
    const o = await pc.createOffer();
    await pc.setLocalDescription(o);
    send({ type: 'call_sdp', call_id: cur.call.id, sdp_type: 'offer', sdp: pc.localDescription.sdp });
  }

  function lost() {
    if (!cur) return;
    if (cur.call.id) send({ type: 'call_hangup', call_id: cur.call.id });
    finish('Call lost: the connection failed');
  }

  // ringGuard closes a ringing window once the call cannot be ringing any
  // more, should its end not reach this device (a reconnect in between).
  function ringGuard(c) {
    const ms = Date.parse(c.ring_until) - Date.parse(c.created_at);
    if (!(ms > 0) || cur?.ringTimer) return;
    const me = cur;
    cur.ringTimer = setTimeout(() => {
      if (cur === me && cur.call.state === 'ringing') finish(cur.role === 'callee' ? 'Missed call' : 'No answer');
    }, ms + RING_SLACK_MS);
  }

  function decline() {
    if (!cur) return;
    send({ type: 'call_decline', call_id: cur.call.id });
    finish();
  }

  function hangup() {
    if (!cur) return;
    if (cur.call.id) send({ type: 'call_hangup', call_id: cur.call.id });
    finish();
  }

  function toggleMute() {
    const t = cur?.local?.getAudioTracks()[0];
    if (!t) return;
    t.enabled = !t.enabled;
    render();
  }

  function toggleCamera() {
    const t = cur?.local?.getVideoTracks()[0];
    if (!t) return;
    t.enabled = !t.enabled;
    render();
  }

  async function toggleScreen() {
    if (!cur?.pc) return;
    if (cur.screen) { stopScreen(); return; }
    try {
      const s = await navigator.mediaDevices.getDisplayMedia({ video: true });
      const track = s.getVideoTracks()[0];
      if (!cur || !track) { track?.stop(); return; }
      cur.screen = track;
      track.onended = () => stopScreen();
      await cur.videoSender.replaceTrack(track);
      render();
    } catch (e) {
      if (e.name !== 'NotAllowedError') toast('Screen sharing failed: ' + (e.message || e.name), 'error');
    }
  }

  function stopScreen() {
    if (!cur?.screen) return;
    cur.screen.stop();
    cur.screen = null;
    cur.videoSender?.replaceTrack(cur.local?.getVideoTracks()[0] || null).catch(() => {});
    render();
  }

  function stopLocal(c) {
    for (const t of c?.local?.getTracks() || []) t.stop();
    c?.screen?.stop();
  }

  // finish closes this device's side of the call and the window.
  function finish(text) {
    const c = cur;
    cur = null;
    if (c) {
      clearTimeout(c.ringTimer);
      clearTimeout(c.lossTimer);
      stopLocal(c);
      try { c.pc?.close(); } catch { /* closed */ }
    }
    clearInterval(tick);
    tick = null;
    win?.remove();
    win = null;
    document.documentElement.classList.remove('in-call');
    if (text) toast(text);
    store.emit('call');
  }

  // onFrame takes the call, call_sdp and call_ice frames of the socket.
  async function onFrame(f) {
    try {
      if (f.type === 'call') await onCall(f.call);
      else if (f.type === 'call_sdp' && cur?.call.id === f.call_id && cur.here) {
        if (f.sdp_type === 'offer') {
          if (cur.pc && cur.call.state === 'active') await answer(f.sdp); else cur.offer = f.sdp;
        } else if (cur.pc) {
          await cur.pc.setRemoteDescription({ type: 'answer', sdp: f.sdp });
          await flushICE();
        }
      } else if (f.type === 'call_ice' && cur?.call.id === f.call_id && cur.here) {
        if (cur.pc?.remoteDescription) await cur.pc.addIceCandidate(f.candidate).catch(() => {});
        else cur.pendingICE ? cur.pendingICE.push(f.candidate) : (cur.pendingICE = [f.candidate]);
      }
    } catch (e) {
      console.warn('call', e);
    }
  }

  async function onCall(c) {
    if (!c?.id) return;
    const mine = cur && (cur.call.id === c.id || (!cur.call.id && cur.role === 'caller' && c.caller_id === store.me.id && c.state === 'ringing'));
    if (c.state === 'ringing' && c.callee_id === store.me.id) {
      if (cur && cur.call.id !== c.id) { send({ type: 'call_busy', call_id: c.id }); return; }
      if (!cur) {
        cur = { call: c, role: 'callee', here: false };
        await store.ensureUsers([c.caller_id]).catch(() => {});
        render();
        ringGuard(c);
        notifyIncoming(c);
      }
      return;
    }
    if (!mine) return;
    if (c.state === 'ended') {
      finish(ENDED[c.end] ? ENDED[c.end] + (c.end === 'completed' && c.answered_at && c.ended_at ? ' · ' + durationText(Date.parse(c.ended_at) - Date.parse(c.answered_at)) : '') : 'Call ended');
      return;
    }
    const was = cur.call.state;
    cur.call = c;
    if (c.state === 'active' && cur.role === 'callee' && !cur.here) { finish('Answered on another device'); return; }
    if (c.state === 'active' && was !== 'active' && cur.role === 'caller' && cur.here && !cur.pc) await offer();
    render();
  }

  function notifyIncoming(c) {
    if (!document.hidden || typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
    try {
      const n = new Notification(`${store.displayName(c.caller_id)} is calling`, { body: c.video ? 'Video call' : 'Audio call', tag: 'call-' + c.id, icon: '/assets/icon.svg' });
      n.onclick = () => { window.focus(); n.close(); };
    } catch { /* service-worker-only platforms */ }
  }

  function ctl(name, label, onclick, cls = '', pressed) {
    const b = h('button', { type: 'button', class: 'call-btn ' + cls, 'aria-label': label, title: label, onclick, dataset: { action: name } }, icon(name));
    if (pressed != null) b.setAttribute('aria-pressed', String(pressed));
    return b;
  }

  function video(stream, cls, muted) {
    const v = h('video', { class: cls, autoplay: true, playsinline: true });
    v.muted = !!muted;
    v.srcObject = stream;
    v.play?.().catch(() => {});
    return v;
  }

  function render() {
    if (!cur) return;
    document.documentElement.classList.add('in-call');
    if (!win) {
      win = h('div', { class: 'call-window', role: 'dialog', 'aria-modal': 'true', 'aria-label': 'Call' });
      document.body.append(win);
    }
    const c = cur.call;
    const peerId = other(c);
    const name = store.displayName(peerId);
    const user = store.users.get(peerId) || { id: peerId };
    const state = cur.role === 'callee' && !cur.here ? 'incoming' : c.state === 'active' ? (cur.pc?.connectionState === 'connected' ? 'connected' : 'connecting') : 'outgoing';
    if (state === 'connected' && !cur.connectedAt) cur.connectedAt = Date.now();
    win.dataset.state = state;
    const kind = c.video ? 'video' : 'audio';
    let status;
    if (state === 'incoming') status = `Incoming ${kind} call`;
    else if (state === 'outgoing') status = c.state === 'starting' ? 'Starting…' : 'Calling…';
    else if (state === 'connecting') status = 'Connecting…';
    else status = durationText(Date.now() - (cur.connectedAt || Date.now()));

    const a = cur.local?.getAudioTracks()[0];
    const v = cur.local?.getVideoTracks()[0];
    const remoteVideo = cur.remote?.getVideoTracks().some((t) => t.readyState === 'live' && !t.muted);
    // The media elements survive re-renders (re-attaching restarts playback).
    if (cur.remote && (!cur.remoteEl || cur.remoteEl.srcObject !== cur.remote)) cur.remoteEl = video(cur.remote, 'call-remote');
    if (cur.local && v && !cur.localEl) cur.localEl = video(cur.local, 'call-local', true);
    if (cur.remoteEl) cur.remoteEl.classList.toggle('no-video', !remoteVideo);
    const controls = [];
    if (state === 'incoming') {
      controls.push(ctl('phoneOff', 'Decline', decline, 'danger'), ctl(c.video ? 'video' : 'phone', 'Accept', accept, 'accept'));
    } else {
      controls.push(ctl(a && !a.enabled ? 'micOff' : 'mic', a && !a.enabled ? 'Unmute' : 'Mute', toggleMute, '', !!(a && !a.enabled)));
      if (v) controls.push(ctl(v.enabled ? 'video' : 'videoOff', v.enabled ? 'Turn camera off' : 'Turn camera on', toggleCamera, '', !v.enabled));
      if (state !== 'outgoing' && navigator.mediaDevices?.getDisplayMedia) controls.push(ctl('screen', cur.screen ? 'Stop sharing' : 'Share screen', toggleScreen, '', !!cur.screen));
      controls.push(ctl('phoneOff', state === 'outgoing' ? 'Cancel call' : 'Hang up', hangup, 'danger'));
    }
    replace(win,
      h('div', { class: 'call-stage' },
        cur.remoteEl || null,
        remoteVideo ? null : (cur.peerEl = cur.peerEl || h('div', { class: 'call-peer' }, avatar(store, user, { size: 'xl' }), h('div', { class: 'call-name' }, name))),
        v && v.enabled && cur.localEl ? cur.localEl : null),
      h('div', { class: 'call-bar' },
        h('div', { class: 'call-info' }, h('div', { class: 'call-title' }, name), h('div', { class: 'call-status', role: 'status' }, status)),
        h('div', { class: 'call-controls' }, ...controls)));
    if (state === 'connected' && !tick) tick = setInterval(() => render(), 1000);
    store.emit('call');
  }

  return {
    start, accept, decline, hangup, toggleMute, toggleCamera, toggleScreen, onFrame,
    get current() { return cur; },
    stop() { if (cur) hangup(); },
  };
}
