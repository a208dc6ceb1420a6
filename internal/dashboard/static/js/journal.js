// The journal as a live list: history from GET /__admin/events, then the SSE
// stream GET /__admin/events/stream. The browser's EventSource reconnects by
// itself and sends Last-Event-ID ("<boot id>:<seq>"), so a restarted server
// replays its ring and the list goes on, marked with a divider.
import { request, describeFailure, bearer } from './api.js';
import { $, el, setError, setStatus, fmtTime } from './dom.js';

// SPEC §10. Streams may name their events by type; listen for each.
export const TYPES = [
  'room_started', 'room_finished', 'participant_joined', 'participant_left', 'participant_resumed',
  'track_published', 'track_unpublished', 'track_muted', 'data_sent', 'metadata_changed',
  'token_minted', 'token_refused', 'rate_limited', 'origin_refused',
  'connection_opened', 'connection_refused', 'connection_closed', 'fault_applied', 'reset',
];

const MAX_ROWS = 2000;
const HISTORY = 300; // events shown from before the page opened
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 15000;

// Types that repeat as traffic (a fake's periodic data): consecutive entries
// of one with the same room, identity and topic share a row. Every other
// type, refusals above all, gets a row per entry.
const RUNS = new Set(['data_sent']);

/** The run an entry belongs to, or '' when it stands alone. */
function runKey(e) {
  if (!RUNS.has(e.type)) return '';
  const topic = e.detail && typeof e.detail === 'object' ? e.detail.topic ?? '' : '';
  return JSON.stringify([e.type, e.room ?? '', e.identity ?? '', topic]);
}

export class JournalView {
  /** @param {{onEvent: (e: object) => void, onLive: (state: string) => void}} opts */
  constructor({ onEvent, onLive }) {
    this.onEvent = onEvent;
    this.onLive = onLive;
    this.boot = null; // boot id of the events shown last
    this.seen = new Set(); // seq numbers of the current boot
    this.types = new Set();
    this.es = null;
    this.resumeAt = null; // where the first connection starts
    this.lastId = null; // the last event id seen, for manual reconnects
    this.retryMs = RETRY_MIN_MS;
    this.retryTimer = null;
    for (const t of TYPES) this.addType(t);
    $('jf-text').addEventListener('input', () => this.applyFilter());
    $('jf-type').addEventListener('change', () => this.applyFilter());
    $('journal-filters').addEventListener('submit', (ev) => ev.preventDefault());
    $('journal-clear').addEventListener('click', () => {
      $('journal-body').replaceChildren();
      this.applyFilter();
    });
  }

  addType(t) {
    if (!t || this.types.has(t)) return;
    this.types.add(t);
    $('jf-type').append(el('option', { value: t }, t));
  }

  /** Shows the last HISTORY events, then follows the stream from there. */
  async start() {
    const r = await request('GET', '/__admin/events?limit=1');
    if (!r.ok) {
      setError('journal-error', describeFailure('GET', '/__admin/events', r));
    } else if (r.data && typeof r.data.bootId === 'string' && typeof r.data.lastSeq === 'number') {
      this.resumeAt = `${r.data.bootId}:${Math.max(0, r.data.lastSeq - HISTORY)}`;
    }
    this.connect();
  }

  connect() {
    clearTimeout(this.retryTimer);
    this.es?.close();
    // EventSource sends no headers of ours: the bearer and the first resume
    // point go in the query. Its own reconnects send Last-Event-ID, which
    // the server prefers to the query.
    const q = new URLSearchParams();
    const b = bearer();
    if (b) q.set('access_token', b);
    const resume = this.lastId ?? this.resumeAt;
    if (resume) q.set('lastEventId', resume);
    const es = new EventSource(`/__admin/events/stream${q.size ? `?${q}` : ''}`);
    this.es = es;
    this.onLive('connecting');
    const handle = (ev) => {
      let entry;
      try {
        entry = JSON.parse(ev.data);
      } catch {
        return; // a comment or keep-alive
      }
      if (!entry || typeof entry !== 'object') return;
      if (ev.lastEventId) this.lastId = ev.lastEventId;
      this.add(entry, ev.lastEventId || null);
      this.onEvent(entry);
    };
    es.addEventListener('message', handle);
    for (const t of TYPES) es.addEventListener(t, handle);
    es.addEventListener('open', () => {
      this.retryMs = RETRY_MIN_MS;
      setError('journal-error', '');
      this.onLive('open');
    });
    es.addEventListener('error', () => {
      if (es.readyState === EventSource.CONNECTING) {
        this.onLive('reconnecting'); // the browser retries with Last-Event-ID
        return;
      }
      // CLOSED: the answer was not a stream (404, 401, 5xx); say why and retry.
      this.onLive('closed');
      const wait = this.retryMs;
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
      this.explainFailure(wait);
      this.retryTimer = setTimeout(() => this.connect(), wait);
    });
  }

  async explainFailure(wait) {
    const secs = Math.round(wait / 1000);
    const ctl = new AbortController();
    const path = '/__admin/events/stream';
    try {
      const b = bearer();
      const headers = b ? { Authorization: `Bearer ${b}` } : {};
      const res = await fetch(path, { signal: ctl.signal, cache: 'no-store', referrerPolicy: 'same-origin', headers });
      if (res.ok) {
        setError('journal-error', `The live stream broke off; retrying in ${secs} s.`);
        return;
      }
      let msg = res.statusText;
      try {
        const data = JSON.parse(await res.text());
        msg = data.error ?? msg;
      } catch {
        // not JSON
      }
      setError('journal-error', describeFailure('GET', path, { status: res.status, error: msg }) +
        ` The list will not update live; retrying in ${secs} s.`);
    } catch {
      setError('journal-error', `${path}: the server did not answer. Retrying in ${secs} s.`);
    } finally {
      ctl.abort();
    }
  }

  /** Adds one entry unless already shown; lastEventId carries the boot id. */
  add(e, lastEventId) {
    let boot = this.boot;
    if (lastEventId && lastEventId.includes(':')) boot = lastEventId.slice(0, lastEventId.lastIndexOf(':'));
    if (boot !== this.boot) {
      // History fetched before the stream has no boot id: it is this boot's.
      if (this.boot !== null) {
        $('journal-body').prepend(el('tr', { className: 'divider' },
          el('td', { colSpan: 6 }, `Server restarted (boot ${boot}) at ${fmtTime(new Date().toISOString())}`)));
        this.seen.clear();
      }
      this.boot = boot;
    }
    const seq = e.seq;
    if (seq !== undefined) {
      if (this.seen.has(seq)) return;
      this.seen.add(seq);
    }
    this.addType(e.type);
    const body = $('journal-body');
    if (this.collapse(body.firstElementChild, e)) {
      this.count();
      return;
    }
    const detail = e.detail && typeof e.detail === 'object' && Object.keys(e.detail).length ? JSON.stringify(e.detail) : '';
    const row = el('tr', { dataset: { type: e.type ?? '', seq: seq ?? '' } },
      el('td', {}, seq ?? ''),
      el('td', { title: e.time ?? '' }, e.time ? fmtTime(e.time) : ''),
      el('td', { className: 'type' }, e.type ?? ''),
      el('td', {}, e.room ?? ''),
      el('td', {}, e.identity ?? ''),
      el('td', {}, detail));
    row.dataset.hay = [e.type, e.room, e.identity, detail].join(' ').toLowerCase();
    row.dataset.run = runKey(e);
    row.dataset.n = '1';
    row.dataset.first = seq ?? '';
    row.hidden = !this.matches(row);
    body.prepend(row);
    while (body.rows.length > MAX_ROWS) body.lastElementChild.remove();
    this.count();
  }

  /**
   * Folds e into row, the newest one, when both belong to the same run (a
   * fake's periodic data, say): the row then shows the latest entry and
   * "×n", and its title the first seq and time of the run.
   */
  collapse(row, e) {
    const key = runKey(e);
    if (!key || !row || row.dataset.run !== key) return false;
    const n = Number(row.dataset.n) + 1;
    row.dataset.n = String(n);
    if (!row.dataset.firstTime) row.dataset.firstTime = row.cells[1].title;
    const detail = e.detail && typeof e.detail === 'object' && Object.keys(e.detail).length ? JSON.stringify(e.detail) : '';
    row.dataset.seq = e.seq ?? '';
    row.cells[0].textContent = e.seq ?? '';
    row.cells[1].textContent = e.time ? fmtTime(e.time) : '';
    row.cells[1].title = e.time ?? '';
    row.cells[2].replaceChildren(e.type ?? '', ' ', el('span', { className: 'badge run-count' }, `×${n}`));
    row.cells[5].textContent = detail;
    row.title = `${n} consecutive ${e.type} events from seq ${row.dataset.first} (${row.dataset.firstTime || '?'}) to ${e.seq ?? '?'}`;
    row.dataset.hay = [e.type, e.room, e.identity, detail].join(' ').toLowerCase();
    row.hidden = !this.matches(row);
    return true;
  }

  matches(row) {
    const type = $('jf-type').value;
    const text = $('jf-text').value.trim().toLowerCase();
    if (row.classList.contains('divider')) return !type && !text;
    if (type && row.dataset.type !== type) return false;
    return !text || text.split(/\s+/).every((w) => row.dataset.hay.includes(w));
  }

  applyFilter() {
    for (const row of $('journal-body').rows) row.hidden = !this.matches(row);
    this.count();
  }

  count() {
    const rows = [...$('journal-body').rows].filter((r) => !r.classList.contains('divider'));
    const events = (list) => list.reduce((sum, r) => sum + Number(r.dataset.n || 1), 0);
    const total = events(rows);
    const shown = events(rows.filter((r) => !r.hidden));
    $('journal-empty').hidden = rows.length > 0;
    setStatus('journal-count', total === shown ? `${total} events` : `Showing ${shown} of ${total} events`);
  }
}
