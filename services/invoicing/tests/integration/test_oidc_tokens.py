"""The ID token the province's provider sends back is believed only when its signature, issuer, audience,
nonce and time are right: each wrong one is refused. Against a provider served over real HTTP here, whose
tokens this test signs (the browser flow against a real Keycloak is tests/e2e/test_oidc_browser.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi import FastAPI, Form
from joserfc import jwt
from joserfc.jwk import RSAKey

from devinfra.testing import free_port, serving
from invoicing.adapters import oidc
from shared.errors import Unauthorized

pytestmark = pytest.mark.integration
CLIENT = "thu-hoc-phi"


def _provider_app(base: str, key: RSAKey, claims: dict[str, Any]) -> FastAPI:
    app = FastAPI()

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, str]:
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/auth",
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks",
        }

    @app.get("/jwks")
    async def jwks() -> dict[str, Any]:
        return {"keys": [key.as_dict(private=False)]}

    @app.post("/token")
    async def token(code: str = Form(...)) -> dict[str, str]:
        return {"access_token": "x", "token_type": "Bearer", "id_token": claims[code]}

    return app


async def test_a_wrong_signature_issuer_audience_nonce_or_time_is_refused():
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    key, stranger = (
        RSAKey.generate_key(2048, parameters={"kid": "k1"}),
        RSAKey.generate_key(2048, parameters={"kid": "k1"}),
    )
    now = int(time.time())
    good = {"iss": base, "aud": CLIENT, "sub": "p-1", "nonce": "n-1", "iat": now, "exp": now + 300}

    def signed(claims: dict[str, Any], by: RSAKey = key) -> str:
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, by)

    tokens = {
        "good": signed(good),
        "forged": signed(good, stranger),
        "issuer": signed(good | {"iss": "https://other.example"}),
        "audience": signed(good | {"aud": "another-client"}),
        "nonce": signed(good | {"nonce": "n-2"}),
        "expired": signed(good | {"exp": now - 3600}),
    }
    provider = oidc.Provider(issuer=base, client_id=CLIENT, client_secret="s", redirect_uri="http://x/cb")
    async with serving(_provider_app(base, key, tokens), port):
        claims = await oidc.claims_for_code(provider, code="good", code_verifier="v", nonce="n-1")
        assert (claims["sub"], claims["iss"]) == ("p-1", base)
        for bad in ("forged", "issuer", "audience", "nonce", "expired"):
            with pytest.raises(Unauthorized, match="không hợp lệ"):
                await oidc.claims_for_code(provider, code=bad, code_verifier="v", nonce="n-1")
        request = await oidc.authorization_request(provider)
        assert "code_challenge_method=S256" in request.url and request.state in request.url
        assert request.code_verifier not in request.url
