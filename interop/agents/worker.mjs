// A LiveKit Agents worker (the official @livekit/agents) for the interop
// tests and the README: it says hello to the room by text stream and data
// packet, and answers the `ping` RPC with `pong`.
//
//   LIVEKIT_URL=ws://127.0.0.1:7880 LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret \
//     node worker.mjs dev
//
// AGENT_NAME registers a named agent (dispatched explicitly only).
import { fileURLToPath } from 'node:url';
import { cli, defineAgent, WorkerOptions } from '@livekit/agents';

export default defineAgent({
  entry: async (ctx) => {
    await ctx.connect();
    const room = ctx.room;
    const me = room.localParticipant;
    me.registerRpcMethod('ping', async () => 'pong');
    const hello = `hello from ${me.identity}`;
    await me.sendText(hello, { topic: 'lk.chat' });
    await me.publishData(new TextEncoder().encode(hello), { reliable: true, topic: 'hello' });
    // The job runs until the worker is told to end it or the room closes.
  },
});

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  cli.runApp(
    new WorkerOptions({
      agent: fileURLToPath(import.meta.url),
      agentName: process.env.AGENT_NAME || '',
      host: '127.0.0.1',
      // The default load is the whole machine's CPU: a busy CI box would
      // report itself full. A fixed low load keeps the worker available.
      loadFunc: async () => 0.1,
      // One process ready for the next job, and time for a slow cold start.
      numIdleProcesses: 1,
      initializeProcessTimeout: 60_000,
    }),
  );
}
