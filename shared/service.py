"""What every service shares at run time: its database, its outbox relay, its consumers, its HTTP app.

A service declares a `ServiceSpec` (name, migrations, topics it writes, consumers it runs) and gets a
FastAPI app with `/healthz` (the process is alive) and `/readyz` (its database and Kafka answer), request
correlation ids, and—when `run_workers` is on—the relay and consumers running beside the HTTP server.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from shared import problems, revocation, tracing
from shared.auth import Principal, Role, require
from shared.db import apply_migrations, create_pool, ensure_database, migration_dirs, with_database
from shared.errors import DomainError
from shared.events import dead_letters
from shared.events.consumer import EventConsumer
from shared.events.handlers import Handlers
from shared.events.kafka import ensure_topics, make_producer
from shared.events.outbox import Outbox
from shared.events.relay import OutboxRelay
from shared.events.topics import Topic, all_topics, topic_name
from shared.http_protocol import BoundedHttpToolsProtocol
from shared.limits import BodyLimit, BodyLimitMiddleware, RateLimit, RateLimitMiddleware
from shared.logging import bind_correlation_id, clear_context, configure_logging, get_logger
from shared.metrics import CONTENT_TYPE, Metrics, sample_shared
from shared.revocation import RevocationList, revocation_handlers
from shared.settings import ServiceSettings

log = get_logger(__name__)


@dataclass(frozen=True)
class ConsumerSpec:
    name: str  # unique per service: the inbox and the consumer group are keyed by it
    topics: list[Topic]
    # Built once the runtime is up, so that handlers can close over it (outbox, settings).
    handlers: Callable[[ServiceRuntime], Handlers]
    # Whether its fetches wait the batch window (TUITION_BATCH_WINDOW_MS) to apply more records together; a
    # consumer of rare events that must act at once (a revoked session) does not.
    gathers: bool = True


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    migrations: Path
    consumers: list[ConsumerSpec] = field(default_factory=list)
    # What a request may cost (shared/limits.py): body sizes per route, rates on the public routes.
    body_limits: list[BodyLimit] = field(default_factory=list)
    rate_limits: list[RateLimit] = field(default_factory=list)
    # The service's own figures for /metrics, read from its database (shared/metrics.py).
    metrics: Callable[[Metrics, asyncpg.Pool], Awaitable[None]] | None = None
    # What the HTTP side needs running beside it (a cache following changes), by name: built from the
    # started runtime, run until the stop event, restarted if it fails; run whether or not workers are.
    background: dict[str, Callable[[ServiceRuntime], Callable[[asyncio.Event], Awaitable[None]]]] = field(
        default_factory=dict
    )
    # Work the event workers also do every so many seconds, by name (what an event may have missed: a key
    # and the invoice it opens applied at once by two instances); run only where the workers run.
    periodic: dict[str, tuple[float, Callable[[ServiceRuntime], Awaitable[object]]]] = field(default_factory=dict)
    # A school's district, from the service's own records (the scope of a district's token); None: the
    # service knows no school, so no district token reaches a school's route.
    district_of: Callable[[asyncpg.Pool, str], Awaitable[str | None]] | None = None


S = TypeVar("S", bound=ServiceSettings)
T = TypeVar("T")


class ServiceRuntime:
    def __init__(self, spec: ServiceSpec, settings: ServiceSettings) -> None:
        self.spec = spec
        self.settings = settings
        self.outbox = Outbox(producer=spec.name, topic_prefix=settings.topic_prefix)
        self.pool: asyncpg.Pool | None = None
        self.relay: OutboxRelay | None = None
        self.consumers: list[EventConsumer] = []
        self.revocations = RevocationList()
        self.metrics = Metrics()
        self._stop = asyncio.Event()
        # Set as soon as the server is told to stop (before it waits for open responses): long-lived answers
        # (the dashboard's stream) end at once instead of holding the stop for its whole timeout.
        self.stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._handlers: dict[str, Handlers] | None = None
        self._kept: dict[type, object] = {}

    @property
    def dsn(self) -> str:
        return with_database(self.settings.effective_pg_dsn, self.settings.database)

    def db(self) -> asyncpg.Pool:
        assert self.pool is not None, "runtime not started"
        return self.pool

    def keep(self, kind: type[T], make: Callable[[ServiceRuntime], T]) -> T:
        """What a service keeps for the life of its runtime (a queue, a cache), one of each kind, made at first
        use: the runtime owns the process's state, not module globals."""
        kept = self._kept.get(kind)
        if kept is None:
            kept = self._kept[kind] = make(self)
        assert isinstance(kept, kind)
        return kept

    async def start(self) -> None:
        s = self.settings
        await ensure_database(s.effective_pg_dsn, s.database)
        await apply_migrations(self.dsn, migration_dirs(self.spec.migrations))
        self.pool = await create_pool(
            self.dsn, min_size=2, max_size=s.pg_pool_size, command_timeout=s.pg_command_timeout_s
        )
        for name, make in self.spec.background.items():
            self._tasks.append(asyncio.create_task(self._supervise(name, make(self)), name=name))
        if not s.run_workers:
            return
        kafka = s.kafka_connection()
        await ensure_topics(kafka, all_topics(s.topic_prefix), s.topic_policy())

        def new_producer() -> AIOKafkaProducer:
            return make_producer(kafka, client_id=f"{self.spec.name}-relay")

        producer = new_producer()
        await producer.start()
        self.relay = OutboxRelay(self.pool, producer, new_producer=new_producer, window_s=s.batch_window_s)
        self._tasks.append(asyncio.create_task(self._supervise("relay", self.relay.run), name="relay"))
        handlers = self.consumer_handlers()
        for cs in self._consumer_specs():
            consumer = EventConsumer(
                name=f"{self.spec.name}.{cs.name}",
                pool=self.pool,
                bootstrap=kafka,
                topics=[topic_name(t, s.topic_prefix) for t in cs.topics],
                handlers=handlers[f"{self.spec.name}.{cs.name}"],
                group_id=f"{s.consumer_group_prefix if s.consumer_group_prefix is not None else s.topic_prefix}"
                f"{self.spec.name}.{cs.name}",
                window_s=s.batch_window_s if cs.gathers else 0.0,
            )
            self.consumers.append(consumer)
            self._tasks.append(asyncio.create_task(self._supervise(cs.name, consumer.run), name=cs.name))
        for name, (seconds, work) in self.spec.periodic.items():
            self._tasks.append(asyncio.create_task(self._supervise(name, self._every(seconds, work)), name=name))
        log.info("service.started", service=self.spec.name, database=s.database)

    def _consumer_specs(self) -> list[ConsumerSpec]:
        # Every service hears of revoked tokens, whichever service they were revoked at.
        auth = ConsumerSpec(
            name="auth", topics=[Topic.AUTH], handlers=lambda rt: revocation_handlers(rt.revocations), gathers=False
        )
        return [*self.spec.consumers, auth]

    def consumer_handlers(self) -> dict[str, Handlers]:
        """Each consumer's handlers by its full name (the inbox's and the dead letters' `consumer`), built once:
        a dead letter is replayed through them, also where the consumers run in another process."""
        if self._handlers is None:
            self._handlers = {f"{self.spec.name}.{cs.name}": cs.handlers(self) for cs in self._consumer_specs()}
        return self._handlers

    def _every(
        self, seconds: float, work: Callable[[ServiceRuntime], Awaitable[object]]
    ) -> Callable[[asyncio.Event], Awaitable[None]]:
        async def run(stop: asyncio.Event) -> None:
            while not stop.is_set():
                await work(self)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=seconds)

        return run

    async def _supervise(self, what: str, run: Callable[[asyncio.Event], Any]) -> None:
        """Keep a worker running: a crash is logged and the worker restarted after a pause."""
        while not self._stop.is_set():
            try:
                await run(self._stop)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("service.worker.crashed", service=self.spec.name, worker=what)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=2.0)

    async def stop(self) -> None:
        """Bounded by `workers_stop_timeout_s`: the workers finish what they hold (a consumer commits its
        batch), then the producer and the pool close; what is still running at the end is cancelled."""
        self._stop.set()
        deadline = asyncio.get_running_loop().time() + self.settings.workers_stop_timeout_s
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=self.settings.workers_stop_timeout_s * 0.7)
            for task in pending:
                log.warning("service.worker.cancelled_at_stop", service=self.spec.name, worker=task.get_name())
                task.cancel()
            await asyncio.wait(self._tasks, timeout=1.0)
        if self.producer is not None:
            left = max(0.1, deadline - asyncio.get_running_loop().time())
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.producer.stop(), timeout=left)
        if self.pool is not None:
            try:
                await asyncio.wait_for(
                    self.pool.close(), timeout=max(0.1, deadline - asyncio.get_running_loop().time())
                )
            except TimeoutError:
                self.pool.terminate()

    @property
    def producer(self) -> AIOKafkaProducer | None:
        """The relay's producer (it replaces a producer that can no longer send)."""
        return self.relay.producer if self.relay is not None else None

    def settings_as(self, cls: type[S]) -> S:
        if not isinstance(self.settings, cls):
            raise TypeError(f"{self.spec.name} runs with {type(self.settings).__name__}, not {cls.__name__}")
        return self.settings

    def consumer_counts(self) -> dict[str, dict[str, Any]]:
        """What each consumer has applied, seen twice, dead-lettered, and not known (by event type)."""
        return {
            c.name: {
                "applied": c.applied,
                "duplicates": c.duplicates,
                "dead_lettered": c.dead_lettered,
                "unknown_types": dict(c.unknown),
            }
            for c in self.consumers
        }

    async def sample_metrics(self) -> None:
        """Refresh the figures of /metrics that live in the database and in the consumers."""
        await sample_shared(self.metrics, self.db())
        for c in self.consumers:
            self.metrics.consumer_lag.labels(c.name).set(sum(c.lag.values()))
            self.metrics.count_dead_lettered(c.name, c.dead_lettered)
        if self.spec.metrics is not None:
            await self.spec.metrics(self.metrics, self.db())

    async def readiness(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        try:
            async with self.db().acquire() as conn:
                await conn.fetchval("SELECT 1")
            checks["postgres"] = "ok"
        except Exception as exc:
            checks["postgres"] = f"error: {type(exc).__name__}"
        if self.settings.run_workers:
            checks["kafka"] = await self._kafka_answers()
        return checks

    async def _kafka_answers(self) -> str:
        """A broker answers a metadata request within 2 s (the producer's own connections)."""
        if self.producer is None:
            return "error: not started"
        try:
            await asyncio.wait_for(self.producer.client.fetch_all_metadata(), timeout=2)
        except Exception as exc:
            return f"error: {type(exc).__name__}"
        return "ok"


async def _runtime(request: Request) -> ServiceRuntime:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a cost on every request.
    return request.app.state.runtime  # type: ignore[no-any-return]


# FastAPI dependency of every route that needs the service's database or outbox.
Runtime = Annotated[ServiceRuntime, Depends(_runtime)]


def settings_dependency(cls: type[S]) -> Callable[[Request], Awaitable[S]]:
    """A typed settings dependency: `Settings = Annotated[XSettings, Depends(settings_dependency(XSettings))]`."""

    async def dependency(request: Request) -> S:
        return (await _runtime(request)).settings_as(cls)

    return dependency


tokens_router = APIRouter()


class RevokeIn(BaseModel):
    jti: str = Field(min_length=1, max_length=200, description="the token's id (its jti claim)")
    expires_at: int = Field(ge=0, le=7_258_118_400, description="the token's exp claim (Unix seconds, before 2200)")
    reason: str = Field(default="", max_length=500)


@tokens_router.post(
    "/tokens/revoked",
    tags=["ops"],
    status_code=201,
    summary="Revoke a token before it expires: refused here at once, by every service within seconds",
)
async def revoke_token(
    body: RevokeIn, rt: Runtime, p: Annotated[Principal, Depends(require(Role.SERVICE))]
) -> dict[str, object]:
    new = await revocation.revoke(
        rt.db(), rt.outbox, jti=body.jti, expires_at=body.expires_at, reason=body.reason, revoked_by=p.subject
    )
    rt.revocations.add(body.jti)
    log.warning("auth.token.revoked", jti=body.jti, revoked_by=p.subject)
    return {"jti": body.jti, "revoked": True, "new": new}


ops_router = APIRouter(prefix="/ops/dead-letters", tags=["ops"])
Operator = Annotated[Principal, Depends(require(Role.SERVICE))]


class DeadLetterOut(BaseModel):
    id: int
    consumer: str = Field(description="the consumer that could not apply it (<service>.<consumer>)")
    topic: str
    partition: int
    offset: int
    event_id: str | None = Field(description="None when the record is not an envelope of this suite")
    error: str = Field(description="the last failure: at the consumer, or at the last replay")
    created_at: datetime
    replayed_at: datetime | None


class DeadLetterDetail(DeadLetterOut):
    event: dict[str, Any] = Field(description="the envelope and its payload decoded, or why it cannot be read")


class ReplayOut(BaseModel):
    letter: DeadLetterOut
    applied: bool = Field(description="false: the consumer had applied this event already (not applied twice)")


def _letter_out(letter: dead_letters.DeadLetter) -> DeadLetterOut:
    return DeadLetterOut(**{k: getattr(letter, k) for k in DeadLetterOut.model_fields})


@ops_router.get("", summary="Dead letters waiting for an operator (or replayed ones), oldest first")
async def list_dead_letters(
    rt: Runtime,
    _: Operator,
    consumer: Annotated[str | None, Query(max_length=200)] = None,
    replayed: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeadLetterOut]:
    letters = await dead_letters.listed(rt.db(), consumer=consumer, replayed=replayed, limit=limit)
    return [_letter_out(letter) for letter in letters]


@ops_router.get("/{letter_id}", summary="One dead letter with its event decoded")
async def show_dead_letter(letter_id: int, rt: Runtime, _: Operator) -> DeadLetterDetail:
    letter = await dead_letters.one(rt.db(), letter_id)
    return DeadLetterDetail(**_letter_out(letter).model_dump(), event=letter.decoded())


@ops_router.post(
    "/{letter_id}/replay",
    summary="Apply a dead letter's event again through its consumer (once the cause is fixed); at most once",
)
async def replay_dead_letter(letter_id: int, rt: Runtime, p: Operator) -> ReplayOut:
    letter, applied = await dead_letters.replay(rt.db(), letter_id, rt.consumer_handlers())
    log.warning("events.dead_letter.replayed", letter_id=letter_id, consumer=letter.consumer, by=p.subject)
    return ReplayOut(letter=_letter_out(letter), applied=applied)


def build_app(
    spec: ServiceSpec,
    settings: ServiceSettings,
    *,
    title: str,
    description: str = "",
    routers: list[Any] | None = None,
) -> FastAPI:
    configure_logging(settings.log_level, json=settings.log_json)
    tracing.configure(spec.name, settings.otlp_endpoint)
    # Every process that builds the app (each worker) bounds its connections in time.
    BoundedHttpToolsProtocol.configure(
        header_timeout_s=settings.http_header_timeout_s, body_timeout_s=settings.http_body_timeout_s
    )
    runtime = ServiceRuntime(spec, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()

        async def district_of(school_id: str) -> str | None:
            return await spec.district_of(runtime.db(), school_id) if spec.district_of is not None else None

        app.state.district_of = district_of
        _tell_when_stopping(runtime.stopping)
        try:
            yield
        finally:
            runtime.stopping.set()
            await runtime.stop()

    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.runtime = runtime
    app.state.revocations = runtime.revocations
    app.state.settings = settings
    app.state.jwt_secret = settings.jwt_secret.get_secret_value()

    _install_error_model_and_probes(app, spec, runtime)
    problems.document(app)
    app.include_router(tokens_router)
    app.include_router(ops_router)
    for router in routers or []:
        app.include_router(router)
    _install_middleware(app, spec, settings, runtime)
    return app


def _install_middleware(app: FastAPI, spec: ServiceSpec, settings: ServiceSettings, runtime: ServiceRuntime) -> None:
    """Innermost first: body sizes, rates, CORS, the request's id and access line, the proxies' client."""
    app.add_middleware(BodyLimitMiddleware, rules=spec.body_limits)
    if settings.rate_limits:
        app.add_middleware(RateLimitMiddleware, rules=spec.rate_limits)
    origins = [o.rstrip("/") for o in [settings.workspace_origin, *settings.signed_in_origins()] if o]
    if origins:
        # The session cookie is only ever read by invoicing's /auth and /accounts routes, whose changes also
        # need the session's CSRF token: credentials are allowed for the suite's own origins, no other.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_credentials=bool(settings.signed_in_origins()),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-CSRF-Token"],
            expose_headers=["Content-Disposition"],  # an export's file name
            max_age=600,
        )
    # Refusals by size or rate get a correlation id, an access line and their count too.
    app.add_middleware(RequestMiddleware, metrics=runtime.metrics, access_log=settings.access_log)
    # Outermost: the client is the one a trusted proxy names (rate limits key on it), whatever serves the app.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.proxy_networks())


def _tell_when_stopping(stopping: asyncio.Event) -> None:
    """Set `stopping` when uvicorn is told to stop (SIGTERM, Ctrl-C): its own signal handlers are wrapped
    (they are in place while it serves, in each worker process). Elsewhere (a test's embedded server) nothing
    is wrapped: the lifespan's end sets it."""
    import signal

    import uvicorn

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(sig)
        if not isinstance(getattr(previous, "__self__", None), uvicorn.Server):
            continue

        def handler(signum: int, frame: Any, previous: Any = previous) -> None:
            loop.call_soon_threadsafe(stopping.set)
            previous(signum, frame)

        signal.signal(sig, handler)


class ConsumerCounts(BaseModel):
    applied: int
    duplicates: int
    dead_lettered: int
    unknown_types: dict[str, int] = Field(description="events of a type the consumer does not know, by type")


def readiness_status(checks: dict[str, str]) -> str:
    """Ready is what answering needs: the database. Without Kafka the service still answers (parent pages,
    /verify, webhooks: events wait in the outbox and go when it is back): "degraded", still ready."""
    if checks.get("postgres") != "ok":
        return "unavailable"
    return "ok" if all(v == "ok" for v in checks.values()) else "degraded"


class Readiness(BaseModel):
    status: str = Field(description="ok; degraded (Kafka unreachable: still answering, events wait); unavailable")
    checks: dict[str, str] = Field(description="postgres and kafka: ok, or what is wrong")
    consumers: dict[str, ConsumerCounts]


class RequestMiddleware:
    """The outermost layer of every request, so that refusals by size or rate get it too: binds the request's
    correlation id (X-Correlation-ID, or a new one) to its logs and echoes it; counts and times the request
    by its route template; writes the access log line: method, route template (never the path: it holds
    student codes and invoice ids; never the query string or the client's address), status and duration.

    One plain ASGI wrapper and one timer per request. (Starlette's `@app.middleware("http")` runs every
    request through a task group and memory streams, a large share of a small request's cost.)"""

    def __init__(self, app: ASGIApp, *, metrics: Metrics | None = None, access_log: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        # Made with the app, after logging is configured (a logger is cached at its first line, with its level).
        self.access = get_logger("access") if access_log else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == b"x-correlation-id"), None)
        cid = bind_correlation_id(given.decode("latin-1")[:64] if given is not None else None)
        parent = next((v for k, v in scope["headers"] if k == b"traceparent"), b"").decode("latin-1")[:64]
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Correlation-ID"] = cid
                headers["traceparent"] = tracing.current_traceparent()
            await send(message)

        with tracing.request_span(scope["method"], parent) as span:
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                self._done(scope, span, status, time.perf_counter() - started)

    def _done(self, scope: Scope, span: Any, status: int, seconds: float) -> None:
        """The request's span named by its route, its count and time, its access line (in its trace)."""
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        span.update_name(f"{scope['method']} {route}")
        span.set_attribute("http.response.status_code", status)
        if self.metrics is not None:
            self.metrics.observe_request(route, scope["method"], status, seconds)
        if self.access is not None:
            self.access.info(
                "http.request", method=scope["method"], route=route, status=status, duration_ms=round(seconds * 1000, 1)
            )
        clear_context()


def install_problem_handlers(app: FastAPI) -> None:
    """Every error as RFC 9457 problem details (shared/problems.py): the error model's, the framework's (a
    request that does not validate, an unknown route, the auth dependencies') and the database's refusals."""

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        # The one mapping of the error model to HTTP (shared/errors.py); the transaction was rolled back.
        retry = getattr(exc, "retry_after_s", None)
        headers = {"Retry-After": str(retry)} if retry is not None else None
        english = problems.prefers_english(request.headers.get("accept-language"))
        body = problems.problem(exc.status, exc.message, code=exc.code, english=english, errors=exc.details)
        return JSONResponse(body, status_code=exc.status, headers=headers, media_type=problems.MEDIA_TYPE)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # What FastAPI checks before a handler runs (types, bounds, required fields), said field by field.
        english = problems.prefers_english(request.headers.get("accept-language"))
        errors = problems.field_errors(exc.errors(), english=english)
        body = problems.problem(
            422, problems.validation_detail(errors, english=english), code="validation", english=english, errors=errors
        )
        return JSONResponse(body, status_code=422, media_type=problems.MEDIA_TYPE)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # Raised by the framework and the auth dependencies (401, 403, 404 for an unknown route, 405).
        english = problems.prefers_english(request.headers.get("accept-language"))
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found" and not english:
            detail = "Không có trang hoặc địa chỉ API này."
        elif exc.status_code == 405 and not english:
            detail = "Địa chỉ này không nhận thao tác đó."
        body = problems.problem(exc.status_code, detail, english=english)
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers, media_type=problems.MEDIA_TYPE)

    @app.exception_handler(asyncpg.exceptions.DataError)
    async def data_error(_: Request, exc: asyncpg.exceptions.DataError) -> JSONResponse:
        # SQLSTATE class 22: the input itself cannot be stored (a NUL character, a number out of range...).
        # The transaction was rolled back: nothing is stored half-way.
        log.warning("service.request.data_error", sqlstate=exc.sqlstate)
        # The message alone (exc.args[0]): its DETAIL may hold what was sent, personal data included.
        body = problems.problem(422, f"Dữ liệu không lưu được: {exc.args[0]}", code="unstorable")
        return JSONResponse(body, status_code=422, media_type=problems.MEDIA_TYPE)

    @app.exception_handler(asyncpg.exceptions.IntegrityConstraintViolationError)
    async def integrity_error(_: Request, exc: asyncpg.exceptions.IntegrityConstraintViolationError) -> JSONResponse:
        # SQLSTATE class 23: a rule of the books held against the request (a CHECK, a unique key). The handler
        # should have refused it first; the row it names (names, memos) goes neither to the log nor the answer.
        log.error(
            "service.request.constraint_violated",
            sqlstate=exc.sqlstate,
            constraint=getattr(exc, "constraint_name", None),
            table=getattr(exc, "table_name", None),
        )
        constraint = getattr(exc, "constraint_name", None) or "a rule of the books"
        detail = f"Yêu cầu trái với dữ liệu đã ghi ({constraint}); không có gì thay đổi."
        return JSONResponse(problems.problem(409, detail), status_code=409, media_type=problems.MEDIA_TYPE)


def _install_error_model_and_probes(app: FastAPI, spec: ServiceSpec, runtime: ServiceRuntime) -> None:
    """The one mapping of errors to HTTP, the metrics, and the health and readiness probes."""

    @app.get(
        "/metrics",
        tags=["ops"],
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE: {"schema": {"type": "string"}}}}},
        summary="Prometheus metrics: requests, consumer lag, outbox, dead letters, the service's own figures",
    )
    async def metrics() -> Response:
        return Response(await runtime.metrics.render(runtime.sample_metrics), media_type=CONTENT_TYPE)

    install_problem_handlers(app)

    @app.get("/healthz", tags=["ops"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": spec.name}

    @app.get(
        "/readyz",
        tags=["ops"],
        summary="The service can answer: its database does (Kafka's state is shown, and does not stop it)",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "the database does not answer"}},
    )
    async def readyz() -> JSONResponse:
        checks = await runtime.readiness()
        status = readiness_status(checks)
        body = {"status": status, "checks": checks, "consumers": runtime.consumer_counts()}
        return JSONResponse(body, status_code=503 if status == "unavailable" else 200)
