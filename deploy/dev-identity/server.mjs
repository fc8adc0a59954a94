// The company's OpenID Connect provider, for development and tests only: Node's certified
// `oidc-provider`, configured from a JSON file the Python side writes (tandem_kernel.devidentity).
//
//   node server.mjs config.json
//
// config.json: { port, audience, ttl_seconds, keys: [private JWKs, signing key first],
//   scopes: [...], accounts_file: a JSON file { login: {roles, employee_id, programs?} }, read at
//   every token so that accounts can be added while the provider runs,
//   clients: [{client_id, client_secret, scope, roles?} for client credentials],
//   web_client: {client_id, client_secret, redirect_uri} for people signing in (code flow + PKCE) }
//
// Access tokens are JWTs (RFC 9068) for the audience, carrying `roles`, `employee_id` and
// `programs` claims. Sign-in uses the provider's development interactions (any password).
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;
const accounts = () => JSON.parse(readFileSync(config.accounts_file, 'utf8'));
const clientRoles = Object.fromEntries(config.clients.map((client) => [client.client_id, client.roles ?? ['service']]));

function claimsOf(token) {
  if (token.accountId) {
    const account = accounts()[token.accountId] ?? {};
    return { roles: account.roles ?? [], employee_id: account.employee_id, programs: account.programs };
  }
  return { roles: clientRoles[token.clientId] ?? ['service'] };
}

const provider = new Provider(issuer, {
  jwks: { keys: config.keys },
  scopes: ['openid', ...config.scopes],
  clients: [
    ...config.clients.map((client) => ({
      client_id: client.client_id,
      client_secret: client.client_secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      scope: client.scope,
    })),
    {
      client_id: config.web_client.client_id,
      client_secret: config.web_client.client_secret,
      grant_types: ['authorization_code'],
      redirect_uris: [config.web_client.redirect_uri],
      response_types: ['code'],
      scope: 'openid',
    },
  ],
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => config.audience,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: config.scopes.join(' '),
        audience: config.audience,
        accessTokenFormat: 'jwt',
        accessTokenTTL: config.ttl_seconds,
      }),
    },
  },
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  // People sign in for this one application: their grant needs no consent screen.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid');
    grant.addResourceScope(config.audience, config.scopes.join(' '));
    await grant.save();
    return grant;
  },
  extraTokenClaims: async (ctx, token) => claimsOf(token),
});

provider.listen(config.port, '127.0.0.1', () => console.log(`oidc-provider ready on ${issuer}`));
