// Calls to the mock's own HTTP API. Same origin only; the page group and the
// API origin rule both accept the page's own origin.

/**
 * @typedef {{ok: boolean, status: number, data: any, error?: string,
 *   code?: string, retryAfter?: number, headers?: Headers}} Result
 */

// The caller bearer of production mode (SPEC §5.4), kept for this tab only.
const BEARER_KEY = 'livekit-mock.bearer';

export function bearer() {
  try {
    return sessionStorage.getItem(BEARER_KEY) ?? '';
  } catch {
    return '';
  }
}

export function setBearer(token) {
  try {
    if (token) sessionStorage.setItem(BEARER_KEY, token);
    else sessionStorage.removeItem(BEARER_KEY);
  } catch {
    // storage off: the bearer lasts until reload only through the input
  }
}

/**
 * request('POST', '/api/livekit/token', {...}) never throws: network
 * failures come back as status 0 with an error sentence.
 * @returns {Promise<Result>}
 */
export async function request(method, path, body) {
  const init = {
    method,
    // Marks the page's own calls: its polls of /stats, /livekit/status,
    // /api/rooms and /__admin/info are then not counted as traffic.
    headers: { Accept: 'application/json', 'X-Livekit-Mock-Dashboard': '1' },
    cache: 'no-store',
    credentials: 'same-origin',
    // The page is served with Referrer-Policy: no-referrer, under which
    // browsers send "Origin: null" on POST; this keeps the real origin, which
    // the server's origin rule accepts as its own.
    referrerPolicy: 'same-origin',
  };
  const b = bearer();
  if (b) init.headers.Authorization = `Bearer ${b}`;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    return { ok: false, status: 0, data: null, error: 'the server did not answer (is it running?)' };
  }
  let text = '';
  try {
    text = await res.text();
  } catch {
    // body cut off: keep the status
  }
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  /** @type {Result} */
  const out = { ok: res.ok, status: res.status, data, headers: res.headers };
  if (!res.ok) {
    out.error = data && typeof data.error === 'string' ? data.error
      : data && typeof data.msg === 'string' ? data.msg
        : (text.trim().slice(0, 200) || res.statusText || 'error');
    if (data && typeof data.code === 'string') out.code = data.code;
    const ra = res.headers.get('Retry-After') ?? (data ? data.retryAfter : undefined);
    if (ra !== null && ra !== undefined && Number.isFinite(Number(ra))) out.retryAfter = Number(ra);
  }
  return out;
}

/** A sentence for a failed call: what was called, the status and why. */
export function describeFailure(method, path, r) {
  if (r.status === 0) return `${method} ${path}: ${r.error}`;
  let msg = `${method} ${path} answered ${r.status}: ${r.error}`;
  if (r.status === 404 && r.error === 'Endpoint not found') {
    msg += ' (this server does not offer that endpoint: is ADMIN_API on, and is this build recent?)';
  }
  if (r.status === 401) msg += ' (production mode needs a caller bearer: paste one under "Caller bearer")';
  if (r.status === 429 && r.retryAfter !== undefined) msg += ` Retry after ${r.retryAfter} s.`;
  return msg;
}

/** Accepts both a bare array and {key: [...]} list answers. */
export function listOf(data, key) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data[key])) return data[key];
  return [];
}

/** Decodes a JWT's header and payload (no verification: display only). */
export function decodeJWT(token) {
  const parts = String(token).split('.');
  if (parts.length !== 3) throw new Error('not a JWT (expected three dot-separated parts)');
  const dec = (s) => {
    const b64 = s.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(s.length / 4) * 4, '=');
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  };
  return { header: dec(parts[0]), payload: dec(parts[1]) };
}
