// Test-control actions (SPEC §10): fake participants, fault rules, reset.
import { request, describeFailure, listOf } from './api.js';
import { $, el, setError, setStatus } from './dom.js';

const num = (v) => (v.trim() === '' ? undefined : Number(v));

export class AdminActions {
  /** @param {{onChange: () => void}} opts */
  constructor({ onChange }) {
    this.onChange = onChange;
    $('fake-form').addEventListener('submit', (ev) => { ev.preventDefault(); this.addFake(); });
    $('fault-form').addEventListener('submit', (ev) => { ev.preventDefault(); this.addFault(); });
    $('fault-clear').addEventListener('click', () => this.deleteFault(null));
    $('fault-body').addEventListener('click', (ev) => {
      const btn = ev.target.closest('button[data-fault]');
      if (btn) this.deleteFault(btn.dataset.fault);
    });
    $('reset-form').addEventListener('submit', (ev) => { ev.preventDefault(); this.reset(); });
  }

  async run(method, path, body, errId, okId, okText) {
    setError(errId, '');
    setStatus(okId, '');
    const r = await request(method, path, body);
    if (!r.ok) {
      setError(errId, describeFailure(method, path, r));
      return null;
    }
    setStatus(okId, okText);
    this.onChange?.();
    return r;
  }

  async addFake() {
    const f = $('fake-form').elements;
    const room = f.room.value.trim();
    const identity = f.identity.value.trim();
    if (!room || !identity) {
      setError('fake-error', 'Room and identity are required.');
      return;
    }
    const tracks = [];
    if (f.audio.checked) tracks.push({ kind: 'audio', name: 'microphone', source: 'microphone' });
    if (f.video.checked) tracks.push({ kind: 'video', name: 'camera', source: 'camera' });
    const body = { identity, name: f.name.value.trim(), tracks };
    if (f.metadata.value) body.metadata = f.metadata.value;
    const path = `/__admin/rooms/${encodeURIComponent(room)}/participants`;
    await this.run('POST', path, body, 'fake-error', 'fake-ok', `Added ${identity} to ${room}.`);
  }

  async addFault() {
    const f = $('fault-form').elements;
    const action = f.action.value;
    const match = {};
    for (const k of ['route', 'room', 'identity']) {
      const v = f[k].value.trim();
      if (v) match[k] = v;
    }
    const body = { target: f.target.value, action, match };
    if (action === 'status') body.status = num(f.status.value);
    if (action === 'close') body.close_code = num(f.close_code.value);
    for (const k of ['latency_ms', 'probability', 'count']) {
      const v = num(f[k].value);
      if (v !== undefined) body[k] = v;
    }
    for (const [k, v] of Object.entries(body)) {
      if (typeof v === 'number' && !Number.isFinite(v)) {
        setError('fault-error', `${k} must be a number.`);
        return;
      }
    }
    const r = await this.run('POST', '/__admin/faults', body, 'fault-error', 'fault-ok', 'Fault injected.');
    if (r) this.refreshFaults();
  }

  async deleteFault(id) {
    const path = id ? `/__admin/faults/${encodeURIComponent(id)}` : '/__admin/faults';
    const r = await this.run('DELETE', path, undefined, 'fault-error', 'fault-ok', id ? `Fault ${id} removed.` : 'All faults cleared.');
    if (r) this.refreshFaults();
  }

  async refreshFaults() {
    const r = await request('GET', '/__admin/faults');
    if (!r.ok) {
      setError('fault-error', describeFailure('GET', '/__admin/faults', r));
      return;
    }
    const faults = listOf(r.data, 'faults');
    $('fault-empty').hidden = faults.length > 0;
    $('fault-body').replaceChildren(...faults.map((ft) => {
      const match = Object.entries(ft.match ?? {}).map(([k, v]) => `${k}=${v}`).join(' ') || 'everything';
      const what = [ft.action, ft.status, ft.latency_ms !== undefined ? `${ft.latency_ms} ms` : null, ft.close_code]
        .filter((v) => v !== undefined && v !== null && v !== '').join(' ');
      const left = ft.remaining ?? ft.count ?? '∞';
      return el('tr', {},
        el('th', { scope: 'row', className: 'mono' }, String(ft.id ?? '')),
        el('td', {}, String(ft.target ?? '')),
        el('td', { className: 'mono' }, match),
        el('td', {}, what),
        el('td', {}, String(left)),
        el('td', {}, el('button', { type: 'button', className: 'secondary small', dataset: { fault: ft.id ?? '' },
          'aria-label': `Remove fault ${ft.id}` }, 'Remove')));
    }));
  }

  async reset() {
    const what = [...$('reset-form').querySelectorAll('input[name=what]:checked')].map((i) => i.value);
    if (what.length === 0) {
      setError('reset-error', 'Choose at least one thing to reset.');
      return;
    }
    const r = await this.run('POST', '/__admin/reset', { what }, 'reset-error', 'reset-ok', `Reset: ${what.join(', ')}.`);
    if (r) this.refreshFaults();
  }
}
