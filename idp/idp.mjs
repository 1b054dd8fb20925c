// A local, offline OpenID Connect provider for closedloop's sign-in tests (tests/app/test_oidc_browser.py).
// Real OIDC (npm oidc-provider, OpenID-certified): discovery, JWKS, RS256-signed id_token, auth code + PKCE,
// RP-initiated logout. Its built-in "devInteractions" show a login form that accepts ANY username and password:
// the typed name becomes `sub` and is looked up in USERS. Anyone can be anyone here: tests only, never deploy.
//
//   IDP_PORT=9400 APP_PORT=8501 CLIENT_ID=closedloop CLIENT_SECRET=... node idp.mjs
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const IDP_PORT = Number(process.env.IDP_PORT || 9400);
const APP_PORT = Number(process.env.APP_PORT || 8501);
const ISSUER = `http://127.0.0.1:${IDP_PORT}`;
const CLIENT_ID = process.env.CLIENT_ID || 'closedloop';
// The test passes a fresh secret per run; it is never printed (the tests grep this process's output for it).
const CLIENT_SECRET = process.env.CLIENT_SECRET || randomBytes(24).toString('hex');

// Typed login name -> claims. One person per role, a scoped finance person (closedloop.toml [access] scopes
// limits fiona@corp.test), and unknown names sign in with no groups (the "no role" page).
const USERS = {
  eve: { email: 'eve@corp.test', name: 'Eve Executive', groups: ['executive'] },
  fred: { email: 'fred@corp.test', name: 'Fred Finance', groups: ['finance'] },
  fiona: { email: 'fiona@corp.test', name: 'Fiona Finance (US only)', groups: ['finance'] },
  sam: { email: 'sam@corp.test', name: 'Sam Support', groups: ['support'] },
  ada: { email: 'ada@corp.test', name: 'Ada Admin', groups: ['admin'] },
  nora: { email: 'nora@corp.test', name: 'Nora Norole', groups: [] },
};

// An ephemeral RS256 signing key per start (Streamlit fetches the JWKS at sign-in).
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key-1', use: 'sig', alg: 'RS256' };
const appCallback = `http://127.0.0.1:${APP_PORT}/oauth2callback`;

const configuration = {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: [appCallback],
    post_logout_redirect_uris: [appCallback], // st.logout() returns to the redirect_uri
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic', // Authlib's default
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
  // Streamlit reads claims only from the id_token, never /userinfo: put the scopes' claims in it.
  conformIdTokenClaims: false,
  async findAccount(ctx, sub) {
    const u = USERS[sub] || { email: `${sub}@unknown.test`, name: sub, groups: [] };
    return {
      accountId: sub,
      async claims() {
        return { sub, email: u.email, email_verified: true, name: u.name, groups: u.groups };
      },
    };
  },
  features: {
    devInteractions: { enabled: true }, // built-in login and consent pages
    rpInitiatedLogout: { enabled: true }, // end_session_endpoint for st.logout()
  },
  pkce: { required: () => false }, // Streamlit sends S256 anyway when advertised
  ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
};

const provider = new Provider(ISSUER, configuration);
// Errors by name and description only: never the request, which may carry a code or a token.
for (const event of ['server_error', 'authorization.error', 'grant.error', 'end_session.error']) {
  provider.on(event, (ctx, err) => console.error(event, err.message, err.error_description || ''));
}
provider.listen(IDP_PORT, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${ISSUER} (discovery: ${ISSUER}/.well-known/openid-configuration)`);
});
