"""OpenID Connect with the province's identity provider: the authorization request with PKCE (S256, authlib's
helpers), the code exchanged for tokens at the provider's token endpoint (client_secret_basic), and the ID
token checked with joserfc (signature by the provider's published keys, issuer, audience, nonce, time).
Discovery and keys are cached for ten minutes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from shared.errors import Unauthorized, Unavailable

CACHE_S = 600.0
_cache: dict[str, tuple[float, Any]] = {}


@dataclass(frozen=True)
class Provider:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    timeout_s: float = 10.0


@dataclass(frozen=True)
class Request:
    """What the authorization request needs remembered until its answer."""

    state: str
    nonce: str
    code_verifier: str
    url: str


async def _get_json(url: str, timeout: float) -> Any:
    hit = _cache.get(url)
    if hit is not None and time.monotonic() - hit[0] < CACHE_S:
        return hit[1]
    try:
        async with httpx.AsyncClient(timeout=timeout) as http:
            r = await http.get(url)
            r.raise_for_status()
            value = r.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise Unavailable("Không kết nối được với hệ thống đăng nhập của Sở. Vui lòng thử lại sau.") from exc
    _cache[url] = (time.monotonic(), value)
    return value


async def discovery(p: Provider) -> dict[str, Any]:
    doc: dict[str, Any] = await _get_json(f"{p.issuer.rstrip('/')}/.well-known/openid-configuration", p.timeout_s)
    if doc.get("issuer") != p.issuer.rstrip("/"):
        raise Unavailable("the provider's discovery document names another issuer")
    return doc


async def authorization_request(p: Provider) -> Request:
    doc = await discovery(p)
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    query = {
        "response_type": "code",
        "client_id": p.client_id,
        "redirect_uri": p.redirect_uri,
        "scope": "openid profile email",
        "state": state,
        "nonce": nonce,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    return Request(state, nonce, verifier, f"{doc['authorization_endpoint']}?{urlencode(query)}")


async def claims_for_code(p: Provider, *, code: str, code_verifier: str, nonce: str) -> dict[str, Any]:
    """The ID token's claims, checked, for the code the provider sent back."""
    doc = await discovery(p)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": p.redirect_uri,
        "code_verifier": code_verifier,
    }
    try:
        async with httpx.AsyncClient(timeout=p.timeout_s) as http:
            r = await http.post(doc["token_endpoint"], data=form, auth=(p.client_id, p.client_secret))
    except httpx.HTTPError as exc:
        raise Unavailable("Không kết nối được với hệ thống đăng nhập của Sở. Vui lòng thử lại sau.") from exc
    if r.status_code != 200:
        raise Unauthorized("Hệ thống đăng nhập của Sở không chấp nhận yêu cầu. Hãy đăng nhập lại.")
    id_token = r.json().get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise Unauthorized("Hệ thống đăng nhập của Sở không gửi thông tin người dùng (id_token).")
    keys = KeySet.import_key_set(await _get_json(doc["jwks_uri"], p.timeout_s))
    expected = jwt.JWTClaimsRegistry(
        leeway=60,
        iss={"essential": True, "value": doc["issuer"]},
        aud={"essential": True, "value": p.client_id},
        nonce={"essential": True, "value": nonce},
        sub={"essential": True},
        exp={"essential": True},
    )
    try:
        token = jwt.decode(id_token, keys, algorithms=["RS256", "PS256", "ES256"])
        expected.validate(token.claims)
    except (JoseError, ValueError) as exc:
        raise Unauthorized(f"Thông tin đăng nhập từ Sở không hợp lệ ({type(exc).__name__}).") from exc
    return dict(token.claims)
