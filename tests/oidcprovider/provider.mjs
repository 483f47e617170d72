// A third-party OpenID provider for direkt's tests: panva's oidc-provider (npm), configured by
// the test through a JSON file. See docs/identity.md, "Testing against a real provider".
//
//   node provider.mjs --config FILE [--port N]      (or OIDC_PROVIDER_CONFIG / OIDC_PROVIDER_PORT)
//
// Port 0 (the default) picks a free one. When listening it prints one line on stdout:
//   READY http://127.0.0.1:<port>
// which is the issuer. Nothing else goes to stdout; the provider's warnings go to stderr.
//
// Logging in needs no human: the login page (/interaction/<uid>) is a plain form with an
// "account" field (a key of config.accounts) that Chromium fills in or an HTTP client posts;
// with config.auto_login the named account is logged in without the form. Consent is
// implied: every scope and claim a registered client asks for is granted.
//
// Test-only routes (Authorization: Bearer <config.admin_token> when one is set):
//   POST /_test/rotate     new signing keys (fresh ones for config.signing_algs, or body {"keys": [...]})
//   POST /_test/config     merge the body's top-level keys into the config and rebuild the provider
//   POST /_test/reset      back to the config it started with (keeping the current keys), the log emptied
//   GET  /_test/requests   what the provider saw: requests (method, path, query, auth scheme) and events
//                          (event, client, error, detail)
//   DELETE /_test/requests forget them
// Rebuilding keeps sessions, grants and codes: oidc-provider's memory adapter is shared.

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const DEFAULT_CLAIMS = { acr: null, amr: null, sid: null, auth_time: null, iss: null, openid: ['sub'] };
const EVENTS = [
  'authorization.accepted', 'authorization.error', 'authorization.success', 'grant.success', 'grant.error',
  'end_session.success', 'end_session.error', 'userinfo.error', 'server_error', 'interaction.started',
];
const KEY_TYPES = {
  RS256: ['rsa', { modulusLength: 2048 }],
  PS256: ['rsa', { modulusLength: 2048 }],
  ES256: ['ec', { namedCurve: 'P-256' }],
  EdDSA: ['ed25519', {}],
};

const { values: args } = parseArgs({ options: { config: { type: 'string' }, port: { type: 'string' } } });
const configPath = args.config ?? process.env.OIDC_PROVIDER_CONFIG;
if (!configPath) {
  process.stderr.write('usage: node provider.mjs --config FILE [--port N]\n');
  process.exit(2);
}
const initial = JSON.parse(fs.readFileSync(configPath, 'utf8'));
let config = initial;
const port = Number(args.port ?? process.env.OIDC_PROVIDER_PORT ?? 0);
const cookieKeys = [crypto.randomBytes(32).toString('base64url')];
const seen = []; // the newest MAX_SEEN requests and events
const MAX_SEEN = 5000;
let keys = config.keys ?? freshKeys(config.signing_algs ?? ['RS256']);
let provider;
let handler;

function freshKeys(algs) {
  return algs.map((alg) => {
    const [type, options] = KEY_TYPES[alg] ?? fail(`no key type for ${alg}`);
    const { privateKey } = crypto.generateKeyPairSync(type, options);
    return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `${alg}-${crypto.randomUUID()}` };
  });
}

function fail(message) {
  throw new Error(message);
}

function account(id) {
  const found = Object.hasOwn(config.accounts ?? {}, id) ? config.accounts[id] : undefined;
  return found && { claims: {}, ...found };
}

function claims() {
  // Like a real e-ID broker, every ID token carries the login's acr (when acr_values are configured).
  const all = { ...DEFAULT_CLAIMS, ...(config.claims ?? {}) };
  return { ...all, openid: [...new Set([...all.openid, 'acr'])] };
}

function build(issuer) {
  const built = new Provider(issuer, {
    clients: config.clients ?? [],
    jwks: { keys },
    cookies: { keys: cookieKeys },
    claims: claims(),
    scopes: ['openid', ...(config.scopes ?? [])],
    acrValues: config.acr_values ?? [],
    conformIdTokenClaims: config.id_token_claims === false,
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      userinfo: { enabled: true },
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, id) {
      const found = account(id);
      if (!found) return undefined;
      return { accountId: id, claims: async () => ({ sub: found.sub ?? id, ...found.claims }) };
    },
    loadExistingGrant,
    renderError,
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
  });
  for (const name of EVENTS) {
    built.on(name, (ctx, error) => {
      const client = ctx?.oidc?.client?.clientId;
      note({ event: name, client, error: error?.error_description ?? error?.message, detail: error?.error_detail });
    });
  }
  return built;
}

// Consent is implied: grant exactly what the client asked for.
async function loadExistingGrant(ctx) {
  const accountId = ctx.oidc.session.accountId;
  if (!accountId) return undefined;
  const clientId = ctx.oidc.client.clientId;
  const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(clientId);
  let grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
  if (!grant || grant.accountId !== accountId) grant = new ctx.oidc.provider.Grant({ clientId, accountId });
  grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' '));
  if (ctx.oidc.requestParamClaims) grant.addOIDCClaims([...ctx.oidc.requestParamClaims]);
  await grant.save();
  return grant;
}

function page(title, body) {
  return `<!DOCTYPE html><html lang="sv"><head><meta charset="utf-8"><title>${title}</title>
<link rel="icon" href="data:,"><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>${title}</h1>${body}</main></body></html>`;
}

function escape(text) {
  return String(text ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function logoutSource(ctx, form) {
  // The provider's confirmation form, submitted at once (a script in Chromium; an HTTP client posts it).
  const yes = '<input type="hidden" name="logout" value="yes" form="op.logoutForm">';
  ctx.body = page('Testleverantör – logga ut', `${form}${yes}
<button type="submit" form="op.logoutForm">Logga ut / Sign out</button>
<script>document.getElementById('op.logoutForm').submit()</script>`);
}

async function postLogoutSuccessSource(ctx) {
  ctx.body = page('Testleverantör – utloggad', '<p>Du är utloggad. / You are signed out.</p>');
}

async function renderError(ctx, out) {
  ctx.type = 'html';
  ctx.body = page('Testleverantör – fel', `<p id="error">${escape(out.error)}: ${escape(out.error_description)}</p>`);
}

function loginPage(uid, hint, problem) {
  return page('Testleverantör – logga in', `${problem ? `<p role="alert">${escape(problem)}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<label for="account">Konto / Account</label>
<input id="account" name="account" value="${escape(hint)}" autocomplete="off" required>
<button type="submit">Logga in / Sign in</button>
</form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit">Avbryt / Cancel</button></form>`);
}

function send(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(body);
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 1_000_000) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function finishLogin(req, res, id) {
  const found = account(id);
  const acr = found.acr ?? config.acr;
  const login = { accountId: id, amr: ['pwd'], ...(acr ? { acr } : {}) };
  await provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, 'text/plain', 'interaction mismatch');
  if (action === '/abort') {
    const result = { error: 'access_denied', error_description: 'the user cancelled the login' };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }
  if (action === '/login') {
    const id = new URLSearchParams(await readBody(req)).get('account') ?? '';
    if (!account(id)) return send(res, 400, 'text/html; charset=utf-8', loginPage(uid, id, 'Okänt konto / Unknown account'));
    return finishLogin(req, res, id);
  }
  if (config.auto_login && account(config.auto_login)) return finishLogin(req, res, config.auto_login);
  return send(res, 200, 'text/html; charset=utf-8', loginPage(uid, details.params.login_hint ?? ''));
}

async function admin(req, res, path) {
  if (config.admin_token && req.headers.authorization !== `Bearer ${config.admin_token}`) {
    return send(res, 401, 'application/json', '{"error":"unauthorized"}');
  }
  const body = req.method === 'POST' ? JSON.parse((await readBody(req)) || '{}') : {};
  if (req.method === 'POST' && path === '/_test/rotate') {
    keys = body.keys ?? freshKeys(config.signing_algs ?? ['RS256']);
  } else if (req.method === 'POST' && path === '/_test/config') {
    config = { ...config, ...body };
    if (body.keys || body.signing_algs) keys = body.keys ?? freshKeys(config.signing_algs);
  } else if (req.method === 'POST' && path === '/_test/reset') {
    config = initial;
    seen.length = 0;
  } else if (req.method === 'GET' && path === '/_test/requests') {
    return send(res, 200, 'application/json', JSON.stringify(seen));
  } else if (req.method === 'DELETE' && path === '/_test/requests') {
    seen.length = 0;
    return send(res, 200, 'application/json', '{}');
  } else {
    return send(res, 404, 'application/json', '{"error":"not_found"}');
  }
  provider = build(provider.issuer);
  handler = provider.callback();
  return send(res, 200, 'application/json', JSON.stringify({ kids: keys.map((key) => key.kid) }));
}

function note(entry) {
  seen.push(entry);
  if (seen.length > MAX_SEEN) seen.splice(0, seen.length - MAX_SEEN);
}

function record(req, url) {
  const auth = (req.headers.authorization ?? '').split(' ')[0] || null;
  note({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), auth });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://provider');
  const step = url.pathname.match(/^\/interaction\/([\w-]+)(\/login|\/abort)?$/);
  let work;
  if (url.pathname.startsWith('/_test/')) work = admin(req, res, url.pathname);
  else if (url.pathname === '/favicon.ico') work = send(res, 204, 'text/plain', '');
  else if (step) work = interaction(req, res, step[1], step[2]);
  else {
    record(req, url);
    return handler(req, res);
  }
  return Promise.resolve(work).catch((error) => {
    process.stderr.write(`provider.mjs: ${req.method} ${url.pathname}: ${error.stack ?? error}\n`);
    if (!res.headersSent) send(res, 400, 'application/json', JSON.stringify({ error: String(error.message) }));
  });
});

server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  provider = build(issuer);
  handler = provider.callback();
  process.stdout.write(`READY ${issuer}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
