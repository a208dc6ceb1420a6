// Rooms, participants and tracks from GET /api/rooms, with a Remove button
// per participant (DELETE /__admin/rooms/:room/participants/:identity).
import { request, describeFailure, listOf } from './api.js';
import { $, el, setError, setStatus, fmtTime } from './dom.js';

const CONVERSATION_LINES = 20;
const AGENT_STATE = 'lk.agent.state';

const dash = (v) => (v === undefined || v === null || v === '' ? '—' : String(v));

export class RoomsView {
  /** @param {{onChange: () => void}} opts */
  constructor({ onChange }) {
    this.onChange = onChange;
    this.last = '';
    // Dialect and state of participants as the journal reported them at
    // join, for servers whose /api/rooms does not carry them.
    this.seen = new Map();
    // Scripted agents' recent turns, by room and agent identity.
    this.conversations = new Map();
    this.inflight = null;
    this.again = false;
    $('rooms-list').addEventListener('click', (ev) => {
      const btn = ev.target.closest('button[data-remove]');
      if (btn) this.remove(btn);
    });
    $('rooms-refresh').addEventListener('click', () => this.refresh());
  }

  /** Remembers dialect and state from participant_joined journal entries,
   * and scripted agents' conversations from their agent_* entries. */
  note(e) {
    if (e.type?.startsWith('agent_') && e.detail && e.room && e.identity) {
      this.noteTurn(e);
      return;
    }
    if (e.type !== 'participant_joined' || !e.detail || !e.room || !e.identity) return;
    const key = `${e.room}\u0000${e.identity}`;
    this.seen.set(key, { dialect: e.detail.dialect, state: e.detail.state });
    if (this.seen.size > 5000) this.seen.delete(this.seen.keys().next().value);
    this.last = ''; // redraw with it even if /api/rooms did not change
  }

  /** Keeps the last CONVERSATION_LINES turns of a scripted agent. */
  noteTurn(e) {
    const d = e.detail;
    let line = null;
    if (e.type === 'agent_heard') line = { who: d.from, text: d.text, how: d.via };
    else if (e.type === 'agent_said') line = { who: e.identity, text: d.text, how: d.greeting ? 'greeting' : 'said' };
    else if (e.type === 'agent_interrupted') line = { who: e.identity, text: `${d.spoken ?? ''}…`, how: 'interrupted' };
    if (!line) return;
    const key = `${e.room}\u0000${e.identity}`;
    const lines = this.conversations.get(key) ?? [];
    lines.push(line);
    if (lines.length > CONVERSATION_LINES) lines.shift();
    this.conversations.delete(key);
    this.conversations.set(key, lines);
    if (this.conversations.size > 500) this.conversations.delete(this.conversations.keys().next().value);
    this.last = '';
  }

  /** Fetches and redraws; calls made while one is in flight coalesce. */
  refresh() {
    if (this.inflight) {
      this.again = true;
      return this.inflight;
    }
    this.inflight = this.load().finally(() => {
      this.inflight = null;
      if (this.again) {
        this.again = false;
        this.refresh();
      }
    });
    return this.inflight;
  }

  async load() {
    const r = await request('GET', '/api/rooms');
    if (!r.ok) {
      setError('rooms-error', describeFailure('GET', '/api/rooms', r));
      return;
    }
    setError('rooms-error', '');
    const rooms = listOf(r.data, 'rooms');
    const text = JSON.stringify(rooms);
    if (text === this.last) return;
    this.last = text;
    this.render(rooms);
  }

  render(rooms) {
    // Keep keyboard focus on the same button across a redraw.
    const focused = document.activeElement?.closest?.('#rooms-list button[data-key]')?.dataset.key;
    rooms.sort((a, b) => String(a.name).localeCompare(String(b.name)));
    $('rooms-empty').hidden = rooms.length > 0;
    $('rooms-list').replaceChildren(...rooms.map((room) => this.roomNode(room)));
    if (focused) {
      const again = [...$('rooms-list').querySelectorAll('button[data-key]')].find((b) => b.dataset.key === focused);
      again?.focus();
    }
  }

  roomNode(room) {
    const people = Array.isArray(room.participantDetails) ? room.participantDetails : [];
    const headId = `room-${room.sid || room.name}`;
    const node = el('article', { className: 'room', 'aria-labelledby': headId, dataset: { room: room.name } },
      el('h3', { id: headId }, `Room ${room.name}`),
      el('p', { className: 'room-meta' },
        el('span', {}, `sid ${dash(room.sid)}`),
        el('span', {}, `created ${room.createdAt ? fmtTime(room.createdAt) : '—'}`),
        el('span', {}, `${people.length} participant${people.length === 1 ? '' : 's'}`),
        room.metadata ? el('span', {}, `metadata: ${room.metadata}`) : null));
    if (people.length === 0) {
      node.append(el('p', { className: 'empty' }, 'Nobody here: the room closes after its timeout.'));
      return node;
    }
    const rows = people.flatMap((p) => [this.participantRow(room, p), this.conversationRow(room, p)].filter(Boolean));
    node.append(el('div', { className: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': `Participants of ${room.name}` },
      el('table', {},
        el('caption', { className: 'sr-only' }, `Participants of room ${room.name}`),
        el('thead', {}, el('tr', {},
          ...['Identity', 'Name', 'Dialect', 'State', 'Metadata', 'Tracks', 'Joined'].map((h) => el('th', { scope: 'col' }, h)),
          el('th', { scope: 'col' }, el('span', { className: 'sr-only' }, 'Actions')))),
        el('tbody', {}, ...rows))));
    return node;
  }

  participantRow(room, p) {
    const tracks = Array.isArray(p.tracks) ? p.tracks : [];
    const trackList = tracks.length === 0 ? el('span', { className: 'muted' }, 'none')
      : el('ul', { className: 'tracks' }, ...tracks.map((t) => el('li', { dataset: { track: t.sid } },
        `${dash(t.kind)} · ${dash(t.source)}${t.name ? ` · ${t.name}` : ''} `,
        el('span', { className: t.muted ? 'badge muted-track' : 'badge' }, t.muted ? 'muted' : 'live'))));
    const key = `${room.name}\u0000${p.identity}`;
    const noted = this.seen.get(key) ?? {};
    return el('tr', { dataset: { identity: p.identity } },
      el('th', { scope: 'row', className: 'mono' }, dash(p.identity)),
      el('td', {}, dash(p.name)),
      el('td', {}, dash(p.dialect ?? noted.dialect)),
      el('td', {}, dash(p.state ?? noted.state),
        p.attributes?.[AGENT_STATE] ? el('span', { className: 'badge agent-state', dataset: { agentState: p.attributes[AGENT_STATE] } },
          `agent ${p.attributes[AGENT_STATE]}`) : null),
      el('td', { className: 'meta mono' }, dash(p.metadata)),
      el('td', {}, trackList),
      el('td', { title: p.joinedAt ?? '' }, p.joinedAt ? fmtTime(p.joinedAt) : '—'),
      el('td', {}, el('button', {
        type: 'button', className: 'secondary small',
        dataset: { remove: '1', room: room.name, identity: p.identity, key },
        'aria-label': `Remove ${p.identity} from ${room.name}`,
      }, 'Remove')));
  }

  /** The conversation of a scripted agent, under its row; null for others. */
  conversationRow(room, p) {
    if (!p.attributes?.[AGENT_STATE]) return null;
    const lines = this.conversations.get(`${room.name}\u0000${p.identity}`) ?? [];
    const body = lines.length === 0 ? el('span', { className: 'muted' }, 'No turns yet.')
      : el('ol', { className: 'conversation', 'aria-label': `Conversation of ${p.identity}` },
        ...lines.map((l) => el('li', { dataset: { how: l.how } },
          el('span', { className: 'mono' }, `${dash(l.who)} (${l.how}): `), dash(l.text))));
    return el('tr', { className: 'conversation-row', dataset: { conversation: p.identity } },
      el('td', { colSpan: 8 }, body));
  }

  async remove(btn) {
    const { room, identity } = btn.dataset;
    const path = `/__admin/rooms/${encodeURIComponent(room)}/participants/${encodeURIComponent(identity)}`;
    btn.disabled = true;
    setStatus('rooms-status', `Removing ${identity}…`);
    const r = await request('DELETE', path);
    btn.disabled = false;
    if (!r.ok) {
      setStatus('rooms-status', '');
      setError('rooms-error', describeFailure('DELETE', path, r));
      return;
    }
    setError('rooms-error', '');
    setStatus('rooms-status', `Removed ${identity} from ${room}.`);
    this.refresh();
    this.onChange?.();
  }
}
