"""A real OpenID provider for the sign-in tests: node-oidc-provider in a `node` process.

`provider.mjs` (beside this file) is its whole configuration code; this module writes its
configuration file (the clients, the signing keys, the people and their groups), starts it
on a free 127.0.0.1 port and waits until it serves. `rotate()` restarts it with new signing
keys, as a provider rotating its keys does. Without node or the npm package (`npm ci` in
tests/oidc) the tests are skipped locally and fail in CI (`CI=true`).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc.jwk import RSAKey

HERE = Path(__file__).parent
REQUIRE_PROVIDER = os.environ.get("CI", "").lower() == "true" or (
    os.environ.get("CLIENTSCORE_TEST_REQUIRE_POSTGRES") == "1"
)
CLIENT_ID = "clientscore"
CLIENT_SECRET = "test-client-secret"
OTHER_CLIENT = "another-app"  # a second client: its tokens are not for clientscore
# The people of the tests and their groups at the provider.
ACCOUNTS = {
    "agent.wang": {"name": "Wang Fang", "groups": ["cc-agents"], "team": "north"},
    "agent.liu": {"name": "Liu Yang", "groups": ["cc-agents"], "team": "south"},
    "lead.zhao": {"name": "Zhao Lei", "groups": ["cc-agents", "cc-leads"], "team": "north"},
    "analyst.li": {"name": "Li Na", "groups": ["risk-analysts"]},
    "admin.chen": {"name": "Chen Jie", "groups": ["cs-admins"]},
    "clerk.sun": {"name": "Sun Mei", "groups": ["finance"]},  # no clientscore role
}
ROLE_MAP = {
    "cc-agents": "agent",
    "cc-leads": "team_lead",
    "risk-analysts": "analyst",
    "cs-admins": "admin",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def signing_key() -> dict[str, Any]:
    """A new private RSA signing key as a JWK, with a key id of its own."""
    key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "use": "sig"})
    return dict(key.as_dict(private=True))


def missing() -> str | None:
    """Why the provider cannot run here, if it cannot."""
    if shutil.which("node") is None:
        return "no node: apt-get install nodejs npm"
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        return "oidc-provider is not installed: run `npm ci` in tests/oidc"
    return None


@dataclass
class TestProvider:
    """A running provider: its issuer URL, and the private keys it signs with."""

    __test__ = False  # not a test class

    folder: Path
    redirects: list[str]
    port: int = field(default_factory=free_port)
    keys: list[dict[str, Any]] = field(default_factory=lambda: [signing_key()])
    accounts: dict[str, dict[str, Any]] = field(default_factory=lambda: dict(ACCOUNTS))
    _process: subprocess.Popen[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings(self, redirect: str) -> dict[str, Any]:
        """clientscore's settings for this provider, signing in at `redirect`."""
        return {
            "oidc_issuer": self.issuer,
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": CLIENT_SECRET,
            "oidc_redirect_url": redirect,
            "oidc_scopes": "openid profile email groups",
            "oidc_role_map": ROLE_MAP,
        }

    def _config(self) -> dict[str, Any]:
        logout = sorted(
            {r.replace("/desk/sign-in/callback", "/desk/sign-in") for r in self.redirects}
        )
        client = {
            "client_secret": CLIENT_SECRET,
            "redirect_uris": self.redirects,
            "post_logout_redirect_uris": logout,
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
        }
        return {
            "issuer": self.issuer,
            "cookie_key": secrets.token_hex(16),
            "clients": [
                {"client_id": CLIENT_ID, **client},
                {"client_id": OTHER_CLIENT, **client},
            ],
            "jwks": {"keys": self.keys},
            "accounts": self.accounts,
        }

    def start(self) -> None:
        config = self.folder / "provider.json"
        config.write_text(json.dumps(self._config()))
        with (self.folder / "provider.log").open("ab") as log:
            self._process = subprocess.Popen(
                ["node", str(HERE / "provider.mjs"), str(config)],
                cwd=HERE,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        url = f"{self.issuer}/.well-known/openid-configuration"
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    "the OpenID provider exited: " + (self.folder / "provider.log").read_text()
                )
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the OpenID provider did not serve {url} within 30 s")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)
        self._process = None

    def restart(self) -> None:
        """Started again with its configuration as changed (accounts, keys); the people's
        sessions at the provider are gone."""
        self.stop()
        self.start()

    def rotate(self) -> None:
        """New signing keys, the old ones retired: the provider restarted with them."""
        self.stop()
        self.keys = [signing_key()]
        self.start()


@contextmanager
def running_provider(folder: Path, redirects: list[str]) -> Iterator[TestProvider]:
    reason = missing()
    if reason is not None:
        if REQUIRE_PROVIDER:
            pytest.fail(f"the OpenID provider is required: {reason}")
        pytest.skip(reason)
    provider = TestProvider(folder, redirects)
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()
