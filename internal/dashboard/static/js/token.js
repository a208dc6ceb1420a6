// The token form: POST /api/livekit/token, then the token decoded in the
// page, a copy button and a livekit-client snippet.
import { request, describeFailure, decodeJWT } from './api.js';
import { $, setError, setStatus, copyText } from './dom.js';

const GRANTS = ['canPublish', 'canSubscribe', 'canPublishData', 'canUpdateOwnMetadata'];

export class TokenForm {
  constructor({ onMinted } = {}) {
    this.onMinted = onMinted;
    this.form = $('token-form');
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.mint();
    });
    $('tk-copy').addEventListener('click', () => this.copy($('tk-out').value, $('tk-out'), 'Token copied.'));
    $('tk-copy-snippet').addEventListener('click', () => this.copy($('tk-snippet').textContent, null, 'Snippet copied.'));
  }

  body() {
    const f = this.form.elements;
    const body = {
      roomName: f.roomName.value.trim(),
      participantName: f.participantName.value.trim(),
    };
    const identity = f.participantIdentity.value.trim();
    if (identity) body.participantIdentity = identity;
    for (const g of GRANTS) body[g] = f[g].checked;
    const ttl = f.ttl.value.trim();
    if (ttl !== '') body.ttl = Number(ttl);
    const metadata = f.metadata.value;
    if (metadata) body.metadata = metadata;
    return body;
  }

  async mint() {
    const path = '/api/livekit/token';
    const btn = $('tk-submit');
    btn.disabled = true;
    setError('token-error', '');
    const r = await request('POST', path, this.body());
    btn.disabled = false;
    if (!r.ok) {
      let msg = describeFailure('POST', path, r);
      if (r.status === 429 && r.retryAfter === undefined) msg += ' Try again later.';
      setError('token-error', msg);
      return;
    }
    const out = r.data ?? {};
    $('tk-out').value = out.token ?? '';
    let claims;
    try {
      claims = decodeJWT(out.token);
    } catch (err) {
      setError('token-error', `The server answered, but its token could not be decoded: ${err.message}`);
      return;
    }
    const p = claims.payload;
    const when = (s) => (typeof s === 'number' ? new Date(s * 1000).toISOString() : '—');
    $('tk-claims').textContent = `${JSON.stringify(claims.header)}\n${JSON.stringify(p, null, 2)}\n\n` +
      `valid from ${when(p.nbf)} until ${when(p.exp)}`;
    $('tk-snippet').textContent = snippet(out.serverUrl ?? '', out.token ?? '');
    setStatus('tk-copy-status', '');
    $('token-result').hidden = false;
    this.onMinted?.(out);
  }

  async copy(text, area, done) {
    const ok = await copyText(text, area);
    setStatus('tk-copy-status', ok ? done : 'Copy failed: select the text and copy it by hand.');
  }
}

/** A ready-to-paste livekit-client example. JSON.stringify quotes safely. */
export function snippet(serverUrl, token) {
  return `import { Room, RoomEvent } from 'livekit-client';

const room = new Room();
room.on(RoomEvent.ParticipantConnected, (p) => console.log('joined:', p.identity));
await room.connect(${JSON.stringify(serverUrl)}, ${JSON.stringify(token)});
console.log('connected to', room.name, 'as', room.localParticipant.identity);
await room.localParticipant.setMicrophoneEnabled(true);`;
}
