"""Accounts administered by scope: a province administrator (or the operator, with a service token)
creates district administrators; a district administrator creates and disables its district's officers,
administrators and school accountants (each accountant of one or more of its schools). Every change is
in the audit log. A new account gets a one-time invitation link; a forgotten password a reset link."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from invoicing.adapters import credentials
from invoicing.app.sign_in import SECOND_FACTOR_ROLES, end_and_revoke
from invoicing.domain.credentials import check_password, normalise_username
from invoicing.stores import accounts_store
from invoicing.stores.accounts_store import Account
from shared import revocation
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.events.outbox import Outbox
from shared.sealed import Sealer

ROLES = ("province_admin", "district_admin", "district", "accountant", "principal", "auditor")
# Roles whose accounts are given schools (one or more); the others see their whole district.
SCHOOL_ROLES = ("accountant", "principal")
LINK_LIFETIME = timedelta(hours=72)


@dataclass(frozen=True)
class Admin:
    """Who administers: a signed-in account, or the operator (a service token: `account` is None)."""

    name: str
    account: Account | None

    def may_manage(self, role: str, district_code: str | None) -> bool:
        if self.account is None:
            return True
        if self.account.role == "province_admin":
            return role in ("province_admin", "district_admin")
        if self.account.role == "district_admin":
            return role in ROLES[1:] and district_code == self.account.district_code
        return False

    @property
    def district(self) -> str | None:
        """The district whose accounts this administrator sees (None: every one)."""
        if self.account is None or self.account.role == "province_admin":
            return None
        return self.account.district_code


@dataclass(frozen=True)
class NewAccount:
    username: str
    display_name: str
    role: str
    district_code: str | None = None
    schools: tuple[str, ...] = ()


@dataclass(frozen=True)
class Invited:
    account_id: uuid.UUID
    username: str
    link_secret: str
    expires_at: datetime


def link_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _forbidden() -> Forbidden:
    return Forbidden("Bạn không có quyền quản lý tài khoản này.")


async def _check_schools(conn: asyncpg.Connection, new: NewAccount) -> None:
    if new.role not in SCHOOL_ROLES:
        if new.schools:
            raise Invalid("Chỉ tài khoản kế toán và hiệu trưởng được giao trường.")
        return
    if not new.schools:
        raise Invalid("Tài khoản kế toán hoặc hiệu trưởng cần ít nhất một trường.")
    districts = await accounts_store.schools_of_district(conn, list(new.schools))
    unknown = sorted(set(new.schools) - set(districts))
    if unknown:
        raise Invalid(f"Không có trường {', '.join(unknown)}.")
    other = sorted(s for s, d in districts.items() if d != new.district_code)
    if other:
        raise Forbidden(f"Trường {', '.join(other)} không thuộc phòng giáo dục {new.district_code}.")


async def create(pool: asyncpg.Pool, admin: Admin, new: NewAccount) -> Invited:
    if new.role not in ROLES:
        raise Invalid(f"Vai trò {new.role!r} không có; các vai trò: {', '.join(ROLES)}.")
    username = normalise_username(new.username)
    district = None if new.role == "province_admin" else (new.district_code or admin.district)
    if new.role != "province_admin" and not district:
        raise Invalid("Tài khoản cần phòng giáo dục (district_code).")
    new = NewAccount(username, new.display_name.strip()[:200], new.role, district, tuple(dict.fromkeys(new.schools)))
    if not new.display_name:
        raise Invalid("Tài khoản cần họ tên người dùng.")
    if not admin.may_manage(new.role, district):
        raise _forbidden()
    async with pool.acquire() as conn, conn.transaction():
        await _check_schools(conn, new)
        account_id = uuid.uuid4()
        made = await accounts_store.create(
            conn,
            account_id=account_id,
            username=username,
            display_name=new.display_name,
            role=new.role,
            district_code=district,
            schools=list(new.schools),
            created_by=admin.name,
        )
        if not made:
            raise Conflict(f"Tên đăng nhập {username} đã có người dùng.")
        invited = await _new_link(conn, account_id, username, "invitation", admin.name)
        await accounts_store.audit(
            conn,
            actor=admin.name,
            action="account.created",
            district_code=district,
            subject=username,
            detail={"role": new.role, "schools": list(new.schools)},
        )
    return invited


async def _new_link(conn: asyncpg.Connection, account_id: uuid.UUID, username: str, purpose: str, by: str) -> Invited:
    secret = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + LINK_LIFETIME
    await accounts_store.add_link(conn, link_hash(secret), account_id, purpose, expires, by)
    return Invited(account_id, username, secret, expires)


async def _managed(conn: asyncpg.Connection, admin: Admin, account_id: uuid.UUID) -> Account:
    account = await accounts_store.by_id(conn, account_id, lock=True)
    if account is None:
        raise NotFound("Không có tài khoản này.")
    if not admin.may_manage(account.role, account.district_code):
        raise _forbidden()
    return account


async def set_disabled(
    pool: asyncpg.Pool,
    outbox: Outbox,
    revocations: revocation.RevocationList,
    admin: Admin,
    account_id: uuid.UUID,
    *,
    disabled: bool,
) -> None:
    """A disabled account is signed out everywhere at once: its sessions end and their API tokens are revoked."""
    if admin.account is not None and admin.account.account_id == account_id:
        raise Invalid("Bạn không thể tự khóa tài khoản của mình.")
    async with pool.acquire() as conn, conn.transaction():
        account = await _managed(conn, admin, account_id)
        await accounts_store.set_disabled(conn, account_id, disabled)
        if disabled:
            await end_and_revoke(conn, outbox, revocations, account_id, None)
        await accounts_store.audit(
            conn,
            actor=admin.name,
            action="account.disabled" if disabled else "account.enabled",
            district_code=account.district_code,
            subject=account.username,
        )


async def set_schools(pool: asyncpg.Pool, admin: Admin, account_id: uuid.UUID, schools: list[str]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        account = await _managed(conn, admin, account_id)
        new = NewAccount(account.username, account.display_name, account.role, account.district_code, tuple(schools))
        await _check_schools(conn, new)
        await accounts_store.set_schools(conn, account_id, list(dict.fromkeys(schools)))
        await accounts_store.audit(
            conn,
            actor=admin.name,
            action="account.schools",
            district_code=account.district_code,
            subject=account.username,
            detail={"before": list(account.schools), "after": schools},
        )


async def reset(pool: asyncpg.Pool, admin: Admin, account_id: uuid.UUID) -> Invited:
    """A reset link: the person sets a new password and enrols their authenticator again."""
    async with pool.acquire() as conn, conn.transaction():
        account = await _managed(conn, admin, account_id)
        invited = await _new_link(conn, account_id, account.username, "reset", admin.name)
        await accounts_store.audit(
            conn,
            actor=admin.name,
            action="account.reset",
            district_code=account.district_code,
            subject=account.username,
        )
    return invited


# The person's side of a link


@dataclass(frozen=True)
class Opened:
    username: str
    display_name: str
    purpose: str
    totp_secret: str | None
    totp_uri: str | None


async def _live_link(conn: asyncpg.Connection, secret: str) -> accounts_store.Link:
    row = await accounts_store.link(conn, link_hash(secret), lock=True)
    if row is None:
        raise NotFound("Liên kết không đúng. Hãy kiểm tra lại hoặc xin liên kết mới.")
    if row.used_at is not None:
        raise Conflict("Liên kết này đã được dùng. Hãy đăng nhập, hoặc xin quản trị viên liên kết mới.")
    if row.expires_at <= datetime.now(UTC):
        raise Conflict("Liên kết này đã hết hạn. Hãy xin quản trị viên gửi liên kết mới.")
    return row


async def open_link(pool: asyncpg.Pool, sealer: Sealer, secret: str) -> Opened:
    """What the link's page shows: whose account, and (for roles that need one) a new authenticator secret."""
    async with pool.acquire() as conn, conn.transaction():
        row = await _live_link(conn, secret)
        account = await accounts_store.by_id(conn, row.account_id, lock=True)
        assert account is not None
        if account.disabled_at is not None:
            raise Forbidden("Tài khoản này đã bị khóa.")
        totp = None
        if account.role in SECOND_FACTOR_ROLES:
            totp = sealer.open(account.totp_pending) if account.totp_pending else credentials.new_totp_secret()
            await accounts_store.set_totp_pending(conn, account.account_id, sealer.seal(totp))
    uri = credentials.provisioning_uri(totp, account.username) if totp else None
    return Opened(account.username, account.display_name, row.purpose, totp, uri)


async def accept_link(pool: asyncpg.Pool, sealer: Sealer, secret: str, password: str, totp_code: str) -> str:
    """The password set (and the authenticator, by a code it shows); the link used. Returns the user name."""
    async with pool.acquire() as conn, conn.transaction():
        row = await _live_link(conn, secret)
        account = await accounts_store.by_id(conn, row.account_id, lock=True)
        assert account is not None
        checked = check_password(password, own_words=(account.username, account.display_name))
        totp = None
        if account.role in SECOND_FACTOR_ROLES:
            if not account.totp_pending:
                raise Conflict("Hãy mở lại liên kết để lấy mã cho ứng dụng xác thực.")
            totp = sealer.open(account.totp_pending)
            if credentials.totp_step(totp, totp_code) is None:
                raise Invalid("Mã xác thực không đúng: hãy nhập mã 6 số ứng dụng đang hiện.")
        await accounts_store.set_credentials(
            conn,
            account.account_id,
            password_hash=await credentials.hash_password(checked),
            totp_secret=sealer.seal(totp) if totp else None,
        )
        await accounts_store.use_link(conn, row.link_hash)
        await accounts_store.audit(
            conn,
            actor=account.username,
            action="account.invitation_accepted" if row.purpose == "invitation" else "account.password_reset",
            district_code=account.district_code,
        )
    return account.username


async def listed(pool: asyncpg.Pool, admin: Admin) -> list[Account]:
    if admin.account is not None and admin.account.role not in ("province_admin", "district_admin"):
        raise _forbidden()
    return await accounts_store.listed(pool, district_code=admin.district)


async def audit_log(pool: asyncpg.Pool, admin: Admin, limit: int) -> list[accounts_store.AuditEntry]:
    if admin.account is not None and admin.account.role not in ("province_admin", "district_admin", "district"):
        raise _forbidden()
    return await accounts_store.audit_entries(pool, district_code=admin.district, limit=limit)
