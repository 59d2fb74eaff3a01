import time

import httpx
import pytest
from fastapi import Depends, FastAPI

from shared.auth import Principal, Role, TokenError, decode_token, mint_token, require, require_school

SECRET = "unit-test-secret-0123456789abcdef-0123"


def _app() -> FastAPI:
    app = FastAPI()
    app.state.jwt_secret = SECRET

    async def district_of(school_id: str) -> str | None:
        return {"S1": "D1", "S2": "D2"}.get(school_id)

    app.state.district_of = district_of

    @app.get("/schools/{school_id}/figures")
    async def figures(school_id: str, p: Principal = Depends(require_school(Role.ACCOUNTANT, Role.DISTRICT))):
        return {"school": school_id, "by": p.role}

    @app.get("/admin")
    async def admin(p: Principal = Depends(require(Role.SERVICE))):
        return {"ok": True}

    return app


async def _get(path: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t") as client:
        return await client.get(path, headers=headers)


def test_a_minted_token_decodes_to_its_role_and_scope():
    token = mint_token(SECRET, role="accountant", school="S1", subject="ke-toan-1")
    p = decode_token(SECRET, token)
    assert (p.role, p.school, p.subject) == (Role.ACCOUNTANT, "S1", "ke-toan-1")


def test_a_token_signed_with_another_secret_is_refused():
    token = mint_token("another-secret-0123456789abcdef-xyz", role="service")
    with pytest.raises(TokenError):
        decode_token(SECRET, token)


def test_an_expired_token_is_refused():
    token = mint_token(SECRET, role="service", ttl_seconds=-10)
    with pytest.raises(TokenError, match="expired"):
        decode_token(SECRET, token)


def test_school_roles_need_a_school_and_district_role_a_district():
    with pytest.raises(TokenError, match="needs a school"):
        mint_token(SECRET, role="accountant")
    with pytest.raises(TokenError, match="needs a district"):
        mint_token(SECRET, role="district")


async def test_no_token_is_401_and_a_garbage_token_is_401():
    assert (await _get("/schools/S1/figures")).status_code == 401
    r = await _get("/schools/S1/figures", "not.a.jwt")
    assert r.status_code == 401 and "invalid token" in r.json()["detail"]


async def test_an_accountant_reads_their_school_but_not_another():
    token = mint_token(SECRET, role="accountant", school="S1")
    assert (await _get("/schools/S1/figures", token)).status_code == 200
    r = await _get("/schools/S2/figures", token)
    assert r.status_code == 403 and "S2" in r.json()["detail"]


async def test_a_district_token_covers_only_its_districts_schools():
    token = mint_token(SECRET, role="district", district="D1")
    assert (await _get("/schools/S1/figures", token)).status_code == 200
    assert (await _get("/schools/S2/figures", token)).status_code == 403


async def test_a_parent_is_403_where_the_role_is_not_allowed():
    token = mint_token(SECRET, role="parent", school="S1")
    assert (await _get("/schools/S1/figures", token)).status_code == 403
    assert (await _get("/admin", token)).status_code == 403
    assert (await _get("/admin", mint_token(SECRET, role="service"))).status_code == 200


def _raw(claims: dict) -> str:
    import jwt

    base = {"iss": "tuition-suite", "aud": "tuition-suite", "sub": "x", "role": "accountant", "school": "S"}
    return jwt.encode(base | claims, SECRET, algorithm="HS256")


def test_a_token_that_lives_longer_than_its_role_allows_is_refused():
    now = int(time.time())
    century = _raw({"iat": now, "exp": now + 100 * 365 * 86400, "jti": "a"})
    with pytest.raises(TokenError, match="lives longer"):
        decode_token(SECRET, century)
    with pytest.raises(TokenError, match="at most 7 days"):
        mint_token(SECRET, role="accountant", school="S", ttl_seconds=8 * 86400)
    assert decode_token(SECRET, _raw({"iat": now, "exp": now + 6 * 86400, "jti": "b"})).jti == "b"


def test_a_token_without_an_id_or_issue_time_is_refused():
    now = int(time.time())
    with pytest.raises(TokenError, match="jti"):
        decode_token(SECRET, _raw({"iat": now, "exp": now + 60}))
    with pytest.raises(TokenError, match="iat"):
        decode_token(SECRET, _raw({"exp": now + 60, "jti": "c"}))


def test_a_principal_needs_a_school_and_an_auditor_a_school_or_a_district():
    from shared.auth import Role, TokenError, decode_token, mint_token

    with pytest.raises(TokenError, match="needs a school"):
        mint_token("s" * 32, role="principal")
    with pytest.raises(TokenError, match="school or a district"):
        mint_token("s" * 32, role="auditor")
    auditor = decode_token("s" * 32, mint_token("s" * 32, role="auditor", district="D1"))
    assert (auditor.role, auditor.district, auditor.school) == (Role.AUDITOR, "D1", None)
