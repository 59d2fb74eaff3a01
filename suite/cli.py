"""`tuition`: the suite's one command-line tool. Services add their own subcommands via `register`."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import signal
import sys
from collections.abc import Callable
from typing import Any

from shared.auth import Role, TokenError, mint_token
from shared.settings import ServiceSettings

SERVICES = ("invoicing", "reconciliation", "receipts", "reporting")

# Modules that add subcommands: each has `register(subparsers) -> None`.
EXTENSIONS: tuple[str, ...] = ("invoicing.entrypoints.cli", "receipts.entrypoints.cli", "simulator.cli")


def _infra(args: argparse.Namespace) -> int:
    """Development only: `devinfra` is in a clone of the repository, not in the service image."""
    try:
        import devinfra as infra
        from devinfra.proc import InfraError
    except ImportError:
        print(
            "tuition infra: the development package `devinfra` is not installed here (run from a clone)",
            file=sys.stderr,
        )
        return 2
    try:
        if args.action == "up":
            ep = infra.up()
            print(
                json.dumps(
                    {
                        "pg_dsn": ep.pg_dsn,
                        "kafka_bootstrap_servers": ep.kafka_bootstrap,
                        "started": {"postgresql": ep.started_postgres, "kafka": ep.started_kafka},
                    }
                )
            )
        elif args.action == "down":
            infra.down()
            print(json.dumps(infra.status()))
        else:
            print(json.dumps(infra.status()))
    except InfraError as exc:
        print(f"tuition infra {args.action}: {exc}", file=sys.stderr)
        return 1
    return 0


def _totp(args: argparse.Namespace) -> int:
    import pyotp

    print(pyotp.TOTP(args.secret.replace(" ", "").upper()).now())
    return 0


def _token_mint(args: argparse.Namespace) -> int:
    settings = ServiceSettings()
    try:
        token = mint_token(
            settings.jwt_secret.get_secret_value(),
            role=args.role,
            school=args.school,
            district=args.district,
            subject=args.subject,
            students=args.student or None,
            ttl_seconds=args.ttl,
        )
    except TokenError as exc:
        print(f"tuition token mint: {exc}", file=sys.stderr)
        return 2
    print(token)
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    """Revoke a token at one service (it tells the others): its id and expiry are read from the token."""
    import httpx
    import jwt

    settings = ServiceSettings()
    secret = settings.jwt_secret.get_secret_value()
    try:
        claims = jwt.decode(
            args.token, secret, algorithms=["HS256"], options={"verify_exp": False, "verify_aud": False}
        )
        body = {"jti": claims["jti"], "expires_at": int(claims["exp"]), "reason": args.reason}
    except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
        print(f"tuition token revoke: not a token of this suite: {exc}", file=sys.stderr)
        return 2
    service = mint_token(secret, role="service", subject="tuition-cli", ttl_seconds=300)
    try:
        r = httpx.post(
            args.url.rstrip("/") + "/tokens/revoked",
            json=body,
            headers={"Authorization": f"Bearer {service}"},
            timeout=10,
        )
    except httpx.HTTPError as exc:
        print(f"tuition token revoke: {args.url} did not answer: {exc}", file=sys.stderr)
        return 1
    print(r.text)
    return 0 if r.status_code == 201 else 1


def _service_call(what: str, method: str, url: str, **params: str | int | None) -> int:
    """One call to a service's operator API with a short-lived service token minted from TUITION_JWT_SECRET;
    prints the answer's JSON. Exit 0 on success, 1 when the service refused or could not be reached."""
    import httpx

    settings = ServiceSettings()
    token = mint_token(settings.jwt_secret.get_secret_value(), role="service", subject="tuition-cli", ttl_seconds=300)
    query = {k: v for k, v in params.items() if v is not None}
    try:
        r = httpx.request(method, url, params=query, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    except httpx.HTTPError as exc:
        print(f"tuition {what}: {url} did not answer: {exc}", file=sys.stderr)
        return 1
    if r.status_code >= 400:
        print(f"tuition {what}: {r.status_code} {r.text}", file=sys.stderr)
        return 1
    print(json.dumps(r.json(), ensure_ascii=False, indent=2))
    return 0


def _dead_letters(args: argparse.Namespace) -> int:
    base = args.url.rstrip("/") + "/ops/dead-letters"
    if args.dl_cmd == "list":
        replayed = "true" if args.replayed else "false"
        return _service_call(
            "dead-letters list", "GET", base, consumer=args.consumer, replayed=replayed, limit=args.limit
        )
    if args.dl_cmd == "show":
        return _service_call("dead-letters show", "GET", f"{base}/{args.id}")
    return _service_call("dead-letters replay", "POST", f"{base}/{args.id}/replay")


HTTP_PROTOCOL = "shared.http_protocol:BoundedHttpToolsProtocol"


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    module = importlib.import_module(f"{args.service}.main")
    app = module.create_app()
    settings = app.state.settings
    host = args.host or settings.http_host
    try:
        settings.check_listening_on(host)
    except ValueError as exc:
        print(f"tuition serve: {exc}", file=sys.stderr)
        return 2
    workers = args.workers or settings.workers
    uvicorn.run(
        # Several processes: each builds its own app (and runtime) from the factory.
        app if workers == 1 else f"{args.service}.main:create_app",
        factory=workers > 1,
        workers=workers,
        host=host,
        port=args.port or settings.http_port,
        # Uvicorn's own lines go through the service's JSON logging (shared/logging.py); the access log is the
        # service's (RequestMiddleware: route templates, never paths or query strings).
        log_config=None,
        log_level=settings.log_level.lower(),
        access_log=False,
        # What bounds a stranger's connection: headers and body in time (the protocol), connections at once.
        http=HTTP_PROTOCOL,
        limit_concurrency=settings.http_max_connections,
        proxy_headers=False,  # the app reads them, from TUITION_TRUSTED_PROXIES only (shared/service.py)
        timeout_graceful_shutdown=settings.http_shutdown_timeout_s,
    )
    return 0


def _relay(args: argparse.Namespace) -> int:
    """Run only the outbox relay of one service database, until SIGTERM/SIGINT."""
    from shared.db import create_pool, with_database
    from shared.events.kafka import make_producer
    from shared.events.relay import OutboxRelay
    from shared.logging import configure_logging

    settings = ServiceSettings()
    configure_logging(settings.log_level, json=settings.log_json)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        pool = await create_pool(with_database(settings.effective_pg_dsn, args.database), min_size=2, max_size=4)
        producer = make_producer(settings.kafka_connection(), client_id=f"relay-{args.database}")
        await producer.start()
        try:
            await OutboxRelay(pool, producer, batch_size=args.batch_size).run(stop)
        finally:
            await producer.stop()
            await pool.close()

    asyncio.run(run())
    return 0


SEALING = ("invoicing", "reconciliation")


def _reseal(args: argparse.Namespace) -> int:
    """Seal every stored value again with the service's data key (after a rotation; values from before sealing)."""

    from shared.db import create_pool, with_database
    from shared.resealing import reseal

    settings_module = importlib.import_module(f"{args.service}.settings")
    settings = getattr(settings_module, f"{args.service.capitalize()}Settings")()
    columns = importlib.import_module(f"{args.service}.stores.sealed_columns").SEALED_COLUMNS

    async def run() -> dict[str, int]:
        pool = await create_pool(with_database(settings.effective_pg_dsn, settings.database), max_size=2)
        try:
            return await reseal(pool, settings.sealer(), columns)
        finally:
            await pool.close()

    print(json.dumps({"service": args.service, "resealed": asyncio.run(run())}))
    return 0


def _add_dead_letters(sub: Any) -> None:
    dl = sub.add_parser("dead-letters", help="events a consumer could not apply: list, show, replay")
    dl_sub = dl.add_subparsers(dest="dl_cmd", required=True)
    dl_list = dl_sub.add_parser("list", help="the dead letters waiting (or replayed), oldest first")
    dl_list.add_argument("--consumer", help="only this consumer's (<service>.<consumer>)")
    dl_list.add_argument("--replayed", action="store_true", help="the ones already replayed")
    dl_list.add_argument("--limit", type=int, default=100)
    dl_show = dl_sub.add_parser("show", help="one dead letter, its event decoded")
    dl_show.add_argument("id", type=int)
    dl_replay = dl_sub.add_parser("replay", help="apply it again through its consumer, once its cause is fixed")
    dl_replay.add_argument("id", type=int)
    for p_dl in (dl_list, dl_show, dl_replay):
        p_dl.add_argument("--url", default="http://127.0.0.1:8101", help="the service whose consumer it is")
    dl.set_defaults(func=_dead_letters)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tuition", description="Cashless tuition suite")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("infra", help="start/stop the local PostgreSQL and Kafka (no Docker)")
    p.add_argument("action", choices=["up", "down", "status"])
    p.set_defaults(func=_infra)

    tok = sub.add_parser("token", help="bearer tokens for development").add_subparsers(dest="token_cmd", required=True)
    m = tok.add_parser("mint", help="mint a signed token for a role and scope")
    m.add_argument("--role", required=True, choices=[r.value for r in Role])
    m.add_argument("--school", help="school id (parent, accountant)")
    m.add_argument("--district", help="district id (district)")
    m.add_argument("--subject", help="who the token is for")
    m.add_argument("--student", action="append", default=[], help="student id a parent token covers (repeat)")
    m.add_argument("--ttl", type=int, default=8 * 3600, help="lifetime in seconds")
    m.set_defaults(func=_token_mint)
    rv = tok.add_parser("revoke", help="revoke a token before it expires (every service refuses it)")
    rv.add_argument("token", help="the token to revoke")
    rv.add_argument("--reason", default="", help="why (kept with the revocation)")
    rv.add_argument("--url", default="http://127.0.0.1:8101", help="any service of the suite")
    rv.set_defaults(func=_token_revoke)

    tp = sub.add_parser("totp", help="the current code of an authenticator secret (for the demo's account)")
    tp.add_argument("secret", help="the base32 secret the invitation page shows")
    tp.set_defaults(func=_totp)

    s = sub.add_parser("serve", help="run one service's HTTP API with its relay and consumers")
    s.add_argument("service", choices=SERVICES)
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--workers", type=int, help="processes (default: the service's <SERVICE>_WORKERS, 1)")
    s.set_defaults(func=_serve)

    rs = sub.add_parser("reseal", help="seal every stored secret and personal value again with the data key")
    rs.add_argument("service", choices=SEALING)
    rs.set_defaults(func=_reseal)

    o = sub.add_parser("outbox", help="outbox tools").add_subparsers(dest="outbox_cmd", required=True)
    r = o.add_parser("relay", help="run only the outbox relay of one database")
    r.add_argument("--database", required=True)
    r.add_argument("--batch-size", type=int, default=1000)
    r.set_defaults(func=_relay)

    _add_dead_letters(sub)

    for name in EXTENSIONS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    return func(args)


if __name__ == "__main__":
    sys.exit(main())
