// Server panel (GET /livekit/status, GET /__admin/info) and live counters
// (GET /stats).
import { request, describeFailure, bearer, setBearer } from './api.js';
import { $, el, setError, fmtDuration, fmtNumber, fmtPercent } from './dom.js';

const LIMIT_LABELS = {
  rate_limit_max: 'Token mints per IP per window',
  rate_limit_window_seconds: 'Rate-limit window (s)',
  body_limit_bytes: 'Mint body cap (bytes)',
  max_participants: 'Participants per room (0: no cap)',
  rtc_max_connections_per_ip: '/rtc connections per IP',
  rtc_max_connections: '/rtc connections in all',
  rtc_message_rate: 'JSON messages per second',
  rtc_message_burst: 'JSON message burst',
  rtc_max_message_bytes: 'JSON frame cap (bytes)',
  rtc_outbox: 'Outbox per connection',
  room_empty_timeout_seconds: 'Empty room timeout (s)',
  room_departure_timeout_seconds: 'Departure timeout (s)',
  resume_window_seconds: 'Resume window (s)',
};

export class ServerPanel {
  constructor() {
    this.uptimeBase = null; // [uptime seconds, performance.now() at fetch]
    this.tick = setInterval(() => this.showUptime(), 1000);
    $('bearer-input').value = bearer();
    $('bearer-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      setBearer($('bearer-input').value.trim());
      $('bearer-status').textContent = bearer() ? 'Bearer set.' : 'Bearer cleared.';
      document.dispatchEvent(new CustomEvent('bearer-changed'));
      this.refresh();
    });
  }

  showUptime() {
    if (!this.uptimeBase) return;
    const [secs, at] = this.uptimeBase;
    $('srv-uptime').textContent = fmtDuration(secs + (performance.now() - at) / 1000);
  }

  async refresh() {
    const [status, info] = await Promise.all([
      request('GET', '/livekit/status'),
      request('GET', '/__admin/info'),
    ]);
    if (!status.ok) {
      setError('server-error', describeFailure('GET', '/livekit/status', status));
    } else {
      setError('server-error', '');
      const s = status.data ?? {};
      $('srv-version').textContent = s.version ?? '–';
      $('hdr-version').textContent = `version ${s.version ?? '?'}`;
      const mode = [s.mode, s.environment].filter(Boolean).join(', ');
      $('srv-mode').textContent = mode || '–';
      $('hdr-mode').textContent = s.environment ?? s.mode ?? 'mode ?';
      $('srv-wsurl').textContent = s.ws_url ?? '–';
      const acc = s.signalling?.accepting;
      // Production mode guards the admin and minting endpoints (SPEC §5.4).
      $('bearer-form').hidden = s.environment !== 'production' && !bearer();
      $('srv-accepting').textContent = acc === undefined ? '–' : acc ? 'yes' : 'no';
      if (!info.ok) $('srv-keys').textContent = s.api_key ?? '–';
      if (typeof s.uptime_seconds === 'number') this.uptimeBase = [s.uptime_seconds, performance.now()];
      this.showUptime();
    }
    if (!info.ok) {
      setError('limits-error', describeFailure('GET', '/__admin/info', info));
      $('srv-names').textContent = '–';
      return;
    }
    setError('limits-error', '');
    const i = info.data ?? {};
    const keys = Array.isArray(i.api_keys) && i.api_keys.length ? i.api_keys : [i.api_key].filter(Boolean);
    $('srv-keys').textContent = keys.map((k) => (k === i.api_key && keys.length > 1 ? `${k} (mints)` : k)).join(', ') || '–';
    $('srv-names').textContent = i.name_policy ?? '–';
    const rows = [];
    for (const [k, v] of Object.entries(i.limits ?? {})) {
      rows.push(el('div', {}, el('dt', {}, LIMIT_LABELS[k] ?? k), el('dd', {}, String(v))));
    }
    rows.push(el('div', {}, el('dt', {}, 'JSON dialect requires a token'), el('dd', {}, i.rtc_require_token ? 'yes' : 'no')));
    rows.push(el('div', {}, el('dt', {}, 'Allowed origins'), el('dd', { className: 'mono' }, (i.allowed_origins ?? []).join(', ') || 'none (same origin only)')));
    rows.push(el('div', {}, el('dt', {}, 'Journal size'), el('dd', {}, String(i.journal_size ?? '–'))));
    $('srv-limits').replaceChildren(...rows);
  }
}

export async function refreshCounters() {
  const r = await request('GET', '/stats');
  if (!r.ok) {
    setError('counters-error', describeFailure('GET', '/stats', r));
    return;
  }
  setError('counters-error', '');
  const s = r.data ?? {};
  $('cnt-rooms').textContent = fmtNumber(s.rooms);
  $('cnt-participants').textContent = fmtNumber(s.participants);
  $('cnt-connections').textContent = fmtNumber(s.connections);
  $('cnt-tokens').textContent = fmtNumber(s.tokens?.generated_total);
  $('cnt-tokens-minute').textContent = fmtNumber(s.tokens?.generated_last_minute);
  $('cnt-validations').textContent = `${fmtNumber(s.validations?.total)} (${fmtPercent(s.validations?.success_rate)})`;
  $('cnt-requests').textContent = `${fmtNumber(s.requests?.total)} (${fmtPercent(s.requests?.error_rate)})`;
  $('cnt-ratelimited').textContent = fmtNumber(s.rate_limit?.rejections);
  const rt = s.response_time_ms ?? {};
  $('cnt-latency').textContent = [rt.p50, rt.p95, rt.p99].map((v) => fmtNumber(v, 1)).join(' / ') + ' ms';
}
