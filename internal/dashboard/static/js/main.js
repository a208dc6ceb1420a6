// Wires the dashboard together. Refresh policy: the journal's live stream
// triggers refreshes of rooms and counters; slow polls cover a server without
// the stream, and speed up while the stream is down.
import { $ } from './dom.js';
import { ServerPanel, refreshCounters } from './server.js';
import { RoomsView } from './rooms.js';
import { JournalView } from './journal.js';
import { TokenForm } from './token.js';
import { AdminActions } from './admin.js';
import { AgentsView } from './agents.js';

const POLL_LIVE_MS = 10000; // rooms while the stream is open: a safety net
const POLL_FALLBACK_MS = 500; // rooms while it is not: keep the view current
const COUNTERS_MS = 3000;
const SERVER_MS = 15000;

const LIVE_TEXT = {
  connecting: ['Live stream: connecting…', 'state-wait'],
  open: ['Live stream: connected', 'state-ok'],
  reconnecting: ['Live stream: reconnecting…', 'state-wait'],
  closed: ['Live stream: unavailable (polling)', 'state-bad'],
};

function debounce(fn, ms) {
  let t = null;
  return () => {
    if (t !== null) return;
    t = setTimeout(() => { t = null; fn(); }, ms);
  };
}

function start() {
  let live = 'connecting';
  const server = new ServerPanel();
  const rooms = new RoomsView({ onChange: () => refreshSoon() });
  const agents = new AgentsView();
  const agentsSoon = debounce(() => agents.refresh(), 100);
  const counters = debounce(refreshCounters, 250);
  const roomsSoon = debounce(() => rooms.refresh(), 30);
  const refreshSoon = () => { roomsSoon(); counters(); };
  const admin = new AdminActions({ onChange: refreshSoon });
  new TokenForm({ onMinted: counters });

  const journal = new JournalView({
    onEvent: (e) => {
      rooms.note(e);
      refreshSoon();
      if (e.type.startsWith('agent_') || e.type.startsWith('room_') || e.type === 'reset') agentsSoon();
      if (e.type === 'fault_applied' || e.type === 'reset') admin.refreshFaults();
      if (e.type === 'reset') server.refresh();
    },
    onLive: (state) => {
      const wasOpen = live === 'open';
      live = state;
      const [text, cls] = LIVE_TEXT[state] ?? LIVE_TEXT.connecting;
      const pill = $('live-state');
      pill.textContent = text;
      pill.className = `pill ${cls}`;
      if (wasOpen && state !== 'open') pollRooms(); // switch to the fast poll now
      if (state === 'open' && !wasOpen) {
        // Back after a gap (or a restart): catch up at once.
        refreshSoon();
        server.refresh();
      }
    },
  });

  let pollTimer = null;
  const pollRooms = async () => {
    clearTimeout(pollTimer);
    pollTimer = null;
    await Promise.all([rooms.refresh(), agents.refresh()]);
    if (pollTimer === null) pollTimer = setTimeout(pollRooms, live === 'open' ? POLL_LIVE_MS : POLL_FALLBACK_MS);
  };
  pollRooms();
  refreshCounters();
  setInterval(refreshCounters, COUNTERS_MS);
  server.refresh();
  setInterval(() => server.refresh(), SERVER_MS);
  admin.refreshFaults();
  journal.start();
  document.addEventListener('bearer-changed', () => {
    journal.connect();
    refreshSoon();
    admin.refreshFaults();
  });
}

start();
