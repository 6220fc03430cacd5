"""The identity provider, through OpenID Connect: the authorization code flow with PKCE.

Authlib's OAuth 2 client builds the authorization URL (with the PKCE challenge, `state` and
`nonce`) and exchanges the code; joserfc (Authlib's JOSE library) verifies the ID token's
signature against the provider's JWKS. The provider's metadata comes from discovery
(`<issuer>/.well-known/openid-configuration`), read when first needed and again an hour
later, so the service starts and serves its API while the provider is down. The JWKS is
kept, and fetched again when a token names a key it does not hold (the provider rotated its
keys), at most once every `REFETCH_SECONDS`.

Authlib, joserfc (and with it `cryptography`) and the HTTP client are imported at a
sign-in's first use of them: a worker whose desk never signs anyone in by OIDC, or has no
provider configured, does not load them (about a fifth of a second of every start).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from authlib.integrations.httpx_client import AsyncOAuth2Client
    from joserfc.jwk import KeySet

METADATA_SECONDS = 3600.0
REFETCH_SECONDS = 10.0
LEEWAY_SECONDS = 60  # clock skew allowed between the provider and this service
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384")


class ProviderUnreachable(Exception):
    """The provider did not answer (discovery, keys or the token endpoint)."""


class SignInRefused(Exception):
    """The provider's answer cannot sign anyone in: the reason is for the log only."""


@dataclass(frozen=True, slots=True)
class Identity:
    subject: str
    name: str
    claims: Mapping[str, Any]
    id_token: str


@dataclass(frozen=True, slots=True)
class Start:
    """What a sign-in keeps until its callback, and the provider URL it sends the browser to."""

    url: str
    state: str
    nonce: str
    code_verifier: str


class Provider:
    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        client_secret: str | None,
        redirect_url: str,
        scopes: str,
        timeout: float,
        refetch_seconds: float = REFETCH_SECONDS,
    ) -> None:
        self.issuer = issuer
        self.refetch_seconds = refetch_seconds
        self.client_id = client_id
        self._secret = client_secret
        self.redirect_url = redirect_url
        self._scopes = scopes
        self._timeout = timeout
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._keys_at = 0.0
        self._lock = asyncio.Lock()

    def _client(self) -> AsyncOAuth2Client:
        from authlib.integrations.httpx_client import AsyncOAuth2Client

        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self._secret,
            token_endpoint_auth_method="client_secret_basic" if self._secret else "none",
            scope=self._scopes,
            redirect_uri=self.redirect_url,
            code_challenge_method="S256",
            timeout=self._timeout,
        )

    async def _get(self, url: str) -> dict[str, Any]:
        import httpx2

        try:
            async with httpx2.AsyncClient(timeout=self._timeout) as http:
                response = await http.get(url, headers={"Accept": "application/json"})
                response.raise_for_status()
                body = response.json()
        except (httpx2.HTTPError, ValueError) as exc:
            raise ProviderUnreachable(f"{url}: {exc!r}") from exc
        if not isinstance(body, dict):
            raise ProviderUnreachable(f"{url}: not a JSON object")
        return body

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document, read at most once an hour."""
        if self._metadata is not None and time.monotonic() - self._metadata_at < METADATA_SECONDS:
            return self._metadata
        async with self._lock:
            if self._metadata is None or time.monotonic() - self._metadata_at >= METADATA_SECONDS:
                url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
                found = await self._get(url)
                if found.get("issuer") != self.issuer:
                    raise ProviderUnreachable(f"{url} names issuer {found.get('issuer')!r}")
                for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(found.get(field), str):
                        raise ProviderUnreachable(f"{url} has no {field}")
                self._metadata, self._metadata_at = found, time.monotonic()
        return self._metadata

    async def _key_set(self, *, refetch: bool) -> KeySet:
        from joserfc.errors import JoseError
        from joserfc.jwk import KeySet

        async with self._lock:
            stale = time.monotonic() - self._keys_at >= self.refetch_seconds
            if self._keys is None or (refetch and stale):
                meta = self._metadata or {}
                found = await self._get(str(meta["jwks_uri"]))
                try:
                    self._keys = KeySet.import_key_set(found)  # type: ignore[arg-type]
                except (JoseError, ValueError, KeyError, TypeError) as exc:
                    raise ProviderUnreachable(f"the provider's JWKS is unusable: {exc}") from exc
                self._keys_at = time.monotonic()
            return self._keys

    async def start(self) -> Start:
        """A new sign-in: the provider's authorization URL with a fresh state, nonce and
        PKCE verifier (S256)."""
        from authlib.common.security import generate_token

        meta = await self.metadata()
        state, nonce, verifier = generate_token(43), generate_token(43), generate_token(64)
        async with self._client() as client:
            url, _ = client.create_authorization_url(
                meta["authorization_endpoint"], state=state, code_verifier=verifier, nonce=nonce
            )
        return Start(str(url), state, nonce, verifier)

    async def finish(self, *, code: str, nonce: str, code_verifier: str) -> Identity:
        """The person the provider signed in: the code exchanged, the ID token verified."""
        import httpx2
        from authlib.integrations.base_client import OAuthError

        meta = await self.metadata()
        try:
            async with self._client() as client:
                token = await client.fetch_token(
                    meta["token_endpoint"], code=code, code_verifier=code_verifier
                )
        except OAuthError as exc:
            raise SignInRefused(f"the token endpoint refused the code: {exc}") from exc
        except httpx2.HTTPError as exc:
            raise ProviderUnreachable(f"the token endpoint: {exc!r}") from exc
        id_token = token.get("id_token") if isinstance(token, Mapping) else None
        if not isinstance(id_token, str):
            raise SignInRefused("the token response has no ID token")
        claims = await self.verify(id_token, nonce=nonce)
        subject = str(claims["sub"])
        name = claims.get("name") or claims.get("preferred_username") or claims.get("email")
        return Identity(subject, str(name or subject), claims, id_token)

    async def verify(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """The claims of an ID token this provider signed for this client, unexpired, with
        this sign-in's nonce; else SignInRefused."""
        from joserfc import jwt
        from joserfc.errors import InvalidKeyIdError, JoseError

        await self.metadata()
        try:
            try:
                decoded = jwt.decode(
                    id_token, await self._key_set(refetch=False), algorithms=list(ALGORITHMS)
                )
            except InvalidKeyIdError:  # a key the provider rotated in since the last fetch
                decoded = jwt.decode(
                    id_token, await self._key_set(refetch=True), algorithms=list(ALGORITHMS)
                )
            claims = dict(decoded.claims)
            jwt.JWTClaimsRegistry(
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "value": self.issuer},
                sub={"essential": True},
                aud={"essential": True, "value": self.client_id},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(claims)
        except (JoseError, ValueError) as exc:
            raise SignInRefused(f"the ID token is not valid: {exc!r}") from exc
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise SignInRefused("the ID token has several audiences and another party")
        return claims

    async def end_session_url(self, *, id_token: str | None, after: str) -> str | None:
        """Where to send the browser so the provider ends its session too, if it can."""
        import httpx2

        try:
            meta = await self.metadata()
        except ProviderUnreachable:
            return None
        endpoint = meta.get("end_session_endpoint")
        if not isinstance(endpoint, str):
            return None
        query = httpx2.QueryParams(
            {"client_id": self.client_id, "post_logout_redirect_uri": after}
            | ({"id_token_hint": id_token} if id_token else {})
        )
        return str(httpx2.URL(endpoint).copy_merge_params(query))
