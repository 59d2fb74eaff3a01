"""Bearer-token auth shared by every service: signed JWTs carrying a role and a scope.

- `parent`, `accountant`: scoped to one school (`school` claim); a parent token may also list students.
- `district`: scoped to a district (`district` claim): every school of that district.
- `principal` (hiệu trưởng): reads one school's figures (`school` claim); moves no money.
- `auditor`: reads, only; scoped to a district or to one school.
- `service`: another service of the suite; unscoped.
Missing or invalid token → 401; a role or scope that does not cover the resource → 403.

Every token carries `iat`, `exp` and a `jti`; its lifetime is at most `MAX_LIFETIME_S` for its role (a
person's token a week, a service's a month), and a revoked `jti` is refused (shared/revocation.py).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

DAY = 24 * 3600
ISSUER = "tuition-suite"
AUDIENCE = "tuition-suite"
ALGORITHM = "HS256"


class Role(StrEnum):
    PARENT = "parent"
    ACCOUNTANT = "accountant"
    DISTRICT = "district"
    PRINCIPAL = "principal"
    AUDITOR = "auditor"
    SERVICE = "service"


# The longest a token may live, by role: a person signs in again each week; a service's token is rotated.
MAX_LIFETIME_S: dict[Role, int] = {
    Role.PARENT: 7 * DAY,
    Role.ACCOUNTANT: 7 * DAY,
    Role.DISTRICT: 7 * DAY,
    Role.PRINCIPAL: 7 * DAY,
    Role.AUDITOR: 7 * DAY,
    Role.SERVICE: 30 * DAY,
}


class TokenError(ValueError):
    pass


@dataclass(frozen=True, kw_only=True)
class Principal:
    subject: str
    role: Role
    school: str | None = None
    district: str | None = None
    students: tuple[str, ...] = field(default_factory=tuple)
    jti: str = ""
    expires_at: int = 0


def mint_token(
    secret: str,
    *,
    role: Role | str,
    school: str | None = None,
    district: str | None = None,
    subject: str | None = None,
    students: list[str] | None = None,
    ttl_seconds: int = 8 * 3600,
) -> str:
    role = Role(role)
    if role in (Role.PARENT, Role.ACCOUNTANT, Role.PRINCIPAL) and not school:
        raise TokenError(f"a {role} token needs a school")
    if role is Role.AUDITOR and not (school or district):
        raise TokenError("an auditor token needs a school or a district")
    if role is Role.DISTRICT and not district:
        raise TokenError("a district token needs a district")
    if ttl_seconds > MAX_LIFETIME_S[role]:
        raise TokenError(f"a {role} token lives at most {MAX_LIFETIME_S[role] // DAY} days")
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + ttl_seconds,
        "sub": subject or f"{role}:{uuid.uuid4().hex[:8]}",
        "role": str(role),
        "jti": uuid.uuid4().hex,
    }
    if school:
        claims["school"] = school
    if district:
        claims["district"] = district
    if students:
        claims["students"] = students
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(secret: str, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "role", "jti"]},
        )
        role = Role(claims["role"])
    except (jwt.PyJWTError, ValueError) as exc:
        raise TokenError(str(exc)) from exc
    exp, iat = claims["exp"], claims["iat"]
    if not isinstance(exp, int) or not isinstance(iat, int) or exp - iat > MAX_LIFETIME_S[role]:
        raise TokenError(f"the token lives longer than a {role} token may ({MAX_LIFETIME_S[role] // DAY} days)")
    if not isinstance(claims["jti"], str) or not claims["jti"]:
        raise TokenError("the token has no id (jti)")
    return Principal(
        subject=claims["sub"],
        role=role,
        school=claims.get("school"),
        district=claims.get("district"),
        students=tuple(claims.get("students") or ()),
        jti=claims["jti"],
        expires_at=exp,
    )


_bearer = HTTPBearer(auto_error=False)

# Resolves a school id to its district id (each service answers from its own data).
DistrictOf = Callable[[str], Awaitable[str | None]]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


async def authenticate(request: Request, token: str) -> Principal:
    """The token's principal, or 401: a bad signature, an expired or too long-lived token, a revoked one."""
    secret: str = request.app.state.jwt_secret
    try:
        principal = decode_token(secret, token)
    except TokenError as exc:
        raise _unauthorized(f"invalid token: {exc}") from exc
    revocations = getattr(request.app.state, "revocations", None)
    if revocations is not None and await revocations.is_revoked(request.app.state.runtime.db(), principal.jti):
        raise _unauthorized("invalid token: it has been revoked")
    return principal


async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None:
        raise _unauthorized("missing bearer token")
    return await authenticate(request, credentials.credentials)


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """Dependency: the caller has one of `roles` (any scope)."""

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"role {principal.role} may not do this")
        return principal

    return dependency


async def check_school_scope(principal: Principal, school_id: str, district_of: DistrictOf) -> None:
    """403 unless the principal may see `school_id`."""
    if principal.role is Role.SERVICE:
        return
    if principal.role in (Role.ACCOUNTANT, Role.PARENT, Role.PRINCIPAL) or (
        principal.role is Role.AUDITOR and principal.school
    ):
        if principal.school == school_id:
            return
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"token is not scoped to school {school_id}")
    if principal.role in (Role.DISTRICT, Role.AUDITOR):
        district = await district_of(school_id)
        if district is not None and district == principal.district:
            return
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"school {school_id} is not in your district")
    raise HTTPException(status.HTTP_403_FORBIDDEN, detail="forbidden")


def require_school(*roles: Role, param: str = "school_id") -> Callable[..., Awaitable[Principal]]:
    """Dependency: the caller has one of `roles` and its scope covers the school in path parameter `param`.

    The app provides `app.state.district_of` (school id → district id) for district-scoped tokens.
    """

    async def dependency(request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"role {principal.role} may not do this")
        school_id = request.path_params.get(param)
        if school_id is None:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=f"missing path parameter {param}")
        district_of: DistrictOf = getattr(request.app.state, "district_of", _no_district)
        await check_school_scope(principal, school_id, district_of)
        return principal

    return dependency


async def _no_district(_: str) -> str | None:
    return None


# --- Permissions as named types: a route says who may call it in its signature ------------------------

STAFF_ROLES = (Role.ACCOUNTANT, Role.SERVICE)
READER_ROLES = (Role.ACCOUNTANT, Role.DISTRICT, Role.PRINCIPAL, Role.AUDITOR, Role.SERVICE)

# The school's accountant (or a service): the school in the path must be the token's school.
SchoolStaff = Annotated[Principal, Depends(require_school(*STAFF_ROLES))]
# Who may read a school's figures: its accountant and principal, its district, an auditor of either, a service.
SchoolReader = Annotated[Principal, Depends(require_school(*READER_ROLES))]
# The school's principal (chủ tài khoản), scoped to the school: approves what its accountant did (a day's close).
SchoolPrincipal = Annotated[Principal, Depends(require_school(Role.PRINCIPAL))]
# Any accountant, district or service; the route scopes what it shows by the principal.
ScopedReader = Annotated[Principal, Depends(require(*READER_ROLES))]
# A district office or a district's auditor (scoped to its district by the route), or a service.
DistrictReader = Annotated[Principal, Depends(require(Role.DISTRICT, Role.AUDITOR, Role.SERVICE))]
# Another service of the suite (operations, automation).
ServiceCaller = Annotated[Principal, Depends(require(Role.SERVICE))]
