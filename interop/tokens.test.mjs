// Tokens cross the language boundary both ways (SPEC §5.1, §5.2):
//  1. tokens minted by the mock (POST /api/livekit/token) pass the official
//     Node SDK's TokenVerifier with the grants the request asked for;
//  2. tokens minted by the SDK's AccessToken pass `livekit-mock token verify`.
// Needs the binary: `go build -o bin/livekit-mock ./cmd/livekit-mock` at the
// repository root (or LIVEKIT_MOCK_BIN), then `npm test` here.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { AccessToken, TokenVerifier, TrackSource } from 'livekit-server-sdk';
import { startServer, runCli, binaryPath } from './lib/server.mjs';

const KEY = 'devkey';
const SECRET = 'secret';

function decode(token) {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')),
  };
}

test('the binary under test exists', () => {
  assert.ok(existsSync(binaryPath()), `no binary at ${binaryPath()}: run \`go build -o bin/livekit-mock ./cmd/livekit-mock\` at the repository root, or set LIVEKIT_MOCK_BIN`);
});

async function mint(srv, body) {
  const res = await fetch(`${srv.url}/api/livekit/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `POST /api/livekit/token answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

describe('tokens minted by the mock pass the Node SDK verifier', () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => {
    const code = await srv?.stop();
    assert.equal(code, 0, `server exited with ${code}\n${srv?.stderr()}`);
  });

  test('participant token from POST /api/livekit/token', async () => {
    const out = await mint(srv, {
      roomName: 'r1', participantName: 'Alice', participantIdentity: 'alice', metadata: 'm',
    });
    assert.equal(out.identity, 'alice');
    assert.equal(out.roomName, 'r1');

    const claims = await new TokenVerifier(KEY, SECRET).verify(out.token);
    assert.equal(claims.iss, KEY);
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.name, 'Alice');
    assert.equal(claims.metadata, 'm');
    assert.equal(claims.video.room, 'r1');
    assert.equal(claims.video.roomJoin, true);
    assert.equal(claims.video.canPublish, true);
    assert.equal(claims.video.canSubscribe, true);
    assert.equal(claims.video.canPublishData, true);
    assert.notEqual(claims.video.canUpdateOwnMetadata, true, 'canUpdateOwnMetadata defaults to false');
    assert.equal(claims.video.roomAdmin, undefined, 'no admin grant on a participant token');
    assert.equal(typeof claims.jti, 'string');
    assert.ok(claims.jti.length > 0, 'jti set');
    assert.equal(claims.exp - claims.nbf, 3600, 'default ttl is one hour');
    assert.equal(new Date(out.expiresAt).getTime(), claims.exp * 1000, 'expiresAt is the exp claim');

    const { header } = decode(out.token);
    assert.deepEqual(header, { alg: 'HS256', typ: 'JWT' });

    await assert.rejects(new TokenVerifier(KEY, 'not-the-secret').verify(out.token), 'another secret must fail');
    await assert.rejects(new TokenVerifier('otherkey', SECRET).verify(out.token), 'another issuer must fail');
  });

  test('permissions asked for end up in the grant', async () => {
    const out = await mint(srv, {
      roomName: 'r2', participantName: 'Viewer', participantIdentity: 'viewer',
      canPublish: false, canPublishData: false, canUpdateOwnMetadata: true, ttl: 120,
    });
    const claims = await new TokenVerifier(KEY, SECRET).verify(out.token);
    assert.equal(claims.video.canPublish, false);
    assert.equal(claims.video.canPublishData, false);
    assert.equal(claims.video.canSubscribe, true);
    assert.equal(claims.video.canUpdateOwnMetadata, true);
    assert.equal(claims.exp - claims.nbf, 120);
  });

  test('a missing identity becomes user_<uuid>, and jtis differ', async () => {
    const a = await mint(srv, { roomName: 'r1', participantName: 'Anon' });
    const b = await mint(srv, { roomName: 'r1', participantName: 'Anon' });
    const ca = await new TokenVerifier(KEY, SECRET).verify(a.token);
    const cb = await new TokenVerifier(KEY, SECRET).verify(b.token);
    assert.match(ca.sub, /^user_[0-9a-f-]{36}$/);
    assert.equal(ca.sub, a.identity);
    assert.notEqual(ca.sub, cb.sub);
    assert.notEqual(ca.jti, cb.jti);
  });
});

describe('a configured key pair is used for minting', () => {
  const key = 'APIinteropKey';
  const secret = 'interop-secret-that-is-longer-than-32-bytes';
  let srv;
  before(async () => { srv = await startServer({ env: { LIVEKIT_API_KEY: key, LIVEKIT_API_SECRET: secret } }); });
  after(async () => { await srv?.stop(); });

  test('the SDK verifies with that pair', async () => {
    const out = await mint(srv, { roomName: 'r1', participantName: 'Alice', participantIdentity: 'alice' });
    const claims = await new TokenVerifier(key, secret).verify(out.token);
    assert.equal(claims.iss, key);
    await assert.rejects(new TokenVerifier(KEY, SECRET).verify(out.token));
  });
});

describe('tokens minted by the Node SDK pass `livekit-mock token verify`', () => {
  const cases = [
    {
      name: 'participant with grants, metadata and attributes',
      make: () => {
        const at = new AccessToken(KEY, SECRET, {
          identity: 'alice', name: 'Alice', metadata: '{"role":"host"}', attributes: { team: 'blue' }, ttl: '1h',
        });
        at.addGrant({ roomJoin: true, room: 'r1', canPublish: true, canSubscribe: true, canPublishData: false });
        return at;
      },
      check: (c) => {
        assert.equal(c.identity, 'alice');
        assert.equal(c.name, 'Alice');
        assert.equal(c.metadata, '{"role":"host"}');
        assert.deepEqual(c.attributes, { team: 'blue' });
        assert.equal(c.video.room, 'r1');
        assert.equal(c.video.roomJoin, true);
        assert.equal(c.video.canPublishData, false);
      },
    },
    {
      name: 'canPublishSources',
      make: () => {
        const at = new AccessToken(KEY, SECRET, { identity: 'bob', ttl: 600 });
        at.addGrant({ roomJoin: true, room: 'r2', canPublishSources: [TrackSource.CAMERA, TrackSource.SCREEN_SHARE] });
        return at;
      },
      check: (c) => {
        assert.equal(c.identity, 'bob');
        assert.deepEqual(c.video.canPublishSources, ['camera', 'screen_share']);
      },
    },
    {
      name: 'admin token without identity (no sub, no jti, no iat)',
      make: () => {
        const at = new AccessToken(KEY, SECRET, { ttl: '10m' });
        at.addGrant({ roomAdmin: true, roomList: true, room: 'r1' });
        return at;
      },
      check: (c) => {
        assert.equal(c.identity, '');
        assert.equal(c.video.roomAdmin, true);
      },
    },
  ];

  for (const tc of cases) {
    test(tc.name, async () => {
      const token = await tc.make().toJwt();
      const res = await runCli(['token', 'verify', token], { env: { LIVEKIT_API_KEY: KEY, LIVEKIT_API_SECRET: SECRET } });
      assert.equal(res.code, 0, `exit ${res.code}: ${res.stderr}`);
      const claims = JSON.parse(res.stdout);
      tc.check(claims);
      if (claims.identity) assert.ok(res.stdout.includes(claims.identity), 'prints the identity');
    });
  }

  test('wrong secret: exit 1 with the reason, never the token', async () => {
    const at = new AccessToken(KEY, 'not-the-secret', { identity: 'mallory' });
    at.addGrant({ roomJoin: true, room: 'r1' });
    const token = await at.toJwt();
    const res = await runCli(['token', 'verify', token], { env: { LIVEKIT_API_KEY: KEY, LIVEKIT_API_SECRET: SECRET } });
    assert.equal(res.code, 1, `exit ${res.code}: ${res.stdout}${res.stderr}`);
    assert.match(res.stderr, /bad_signature/);
    for (const part of token.split('.')) {
      if (part.length >= 20) assert.ok(!(res.stdout + res.stderr).includes(part), 'output repeats the token');
    }
  });

  test('expired beyond the 60 s leeway: exit 1, expired', async () => {
    const at = new AccessToken(KEY, SECRET, { identity: 'late', ttl: '-10m' });
    at.addGrant({ roomJoin: true, room: 'r1' });
    const token = await at.toJwt();
    const res = await runCli(['token', 'verify', token], { env: { LIVEKIT_API_KEY: KEY, LIVEKIT_API_SECRET: SECRET } });
    assert.equal(res.code, 1, `exit ${res.code}: ${res.stdout}${res.stderr}`);
    assert.match(res.stderr, /expired/);
  });
});
