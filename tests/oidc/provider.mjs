// The OpenID provider of the sign-in tests: node-oidc-provider on 127.0.0.1.
//
//   node provider.mjs <config.json>
//
// The configuration file (written by tests/oidc_provider.py) gives the issuer and port, the
// clients, the signing keys (a private JWKS: a new file and a restart rotate them) and the
// people with their groups. People sign in on the provider's own development login form
// (any password); a login not in `accounts` is a person with no groups. A person's `team`
// travels in the token's `team` claim (the groups scope). Consent is not
// asked: the clients are first-party. Prints "listening <issuer>" when it serves.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: config.jwks,
  cookies: { keys: [config.cookie_key] },
  scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
  claims: {
    openid: ['sub'],
    profile: ['name'],
    email: ['email'],
    groups: ['groups', 'team'],
  },
  // The ID token carries the claims of its scopes (as Entra ID and Okta can be set to do).
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  ttl: { IdToken: 300, AccessToken: 300, Session: 3600, Interaction: 600, Grant: 3600 },
  async findAccount(_ctx, sub) {
    const person = config.accounts[sub] ?? { name: sub, groups: [] };
    return {
      accountId: sub,
      async claims() {
        return {
          sub, name: person.name, email: `${sub}@insurer.test`, groups: person.groups,
          ...(person.team ? { team: person.team } : {}),
        };
      },
    };
  },
  // First-party clients: every scope and claim asked for is granted without a consent page.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.params.scope);
    grant.addOIDCClaims(['sub', 'name', 'email', 'groups', 'team']);
    await grant.save();
    return grant;
  },
});
provider.proxy = false;

const url = new URL(config.issuer);
const server = provider.listen(Number(url.port), url.hostname, () => {
  console.log(`listening ${config.issuer}`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
