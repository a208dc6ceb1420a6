// LiveKit Agents: the workers registered on /agent and each room's
// dispatches with their jobs, from GET /__admin/agents.
import { request, describeFailure } from './api.js';
import { $, el, setError, fmtTime } from './dom.js';

const dash = (v) => (v === undefined || v === null || v === '' ? '—' : String(v));
const agentLabel = (name) => (name ? name : '(unnamed)');

export class AgentsView {
  constructor() {
    this.last = '';
    this.inflight = null;
  }

  /** Fetches and redraws; a call while one is in flight shares it. */
  refresh() {
    this.inflight ??= this.load().finally(() => { this.inflight = null; });
    return this.inflight;
  }

  async load() {
    const r = await request('GET', '/__admin/agents');
    if (!r.ok) {
      setError('agents-error', describeFailure('GET', '/__admin/agents', r));
      return;
    }
    setError('agents-error', '');
    const text = JSON.stringify(r.data);
    if (text === this.last) return;
    this.last = text;
    const workers = Array.isArray(r.data?.workers) ? r.data.workers : [];
    const rooms = Array.isArray(r.data?.rooms) ? r.data.rooms : [];
    $('agents-empty').hidden = workers.length > 0;
    $('agents-workers').hidden = workers.length === 0;
    $('agents-workers-body').replaceChildren(...workers.map((w) => el('tr', { dataset: { worker: w.id } },
      el('th', { scope: 'row', className: 'mono' }, dash(w.id)),
      el('td', {}, agentLabel(w.agentName)),
      el('td', {}, dash(w.jobType)),
      el('td', {}, dash(w.status)),
      el('td', {}, Number.isFinite(w.load) ? w.load.toFixed(2) : '—'),
      el('td', {}, dash(w.jobs)),
      el('td', { title: w.registeredAt ?? '' }, w.registeredAt ? fmtTime(w.registeredAt) : '—'))));
    $('agents-rooms').replaceChildren(...rooms.map((room) => el('article', { className: 'room', dataset: { room: room.room } },
      el('h3', {}, `Room ${room.room}`),
      el('ul', { className: 'dispatches' }, ...(room.dispatches ?? []).map((d) => el('li', { dataset: { dispatch: d.id } },
        el('span', { className: 'mono' }, d.id), ` · ${agentLabel(d.agentName)}`,
        d.metadata ? ` · metadata: ${d.metadata}` : '',
        (d.jobs ?? []).length === 0 ? el('span', { className: 'muted' }, ' · no job')
          : el('ul', {}, ...d.jobs.map((j) => el('li', { dataset: { job: j.id } },
            el('span', { className: 'mono' }, j.id), ` · ${dash(j.status)} · ${dash(j.identity)} on ${dash(j.worker)}`,
            j.error ? ` · ${j.error}` : '')))))))));
  }
}
