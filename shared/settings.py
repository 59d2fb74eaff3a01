"""Typed settings shared by every service (12-factor: environment variables only).

Infrastructure variables (`PG_DSN`, `KAFKA_BOOTSTRAP_SERVERS`, `TUITION_*`) are the same for all services;
each service subclasses `ServiceSettings` with its own env prefix (`INVOICING_`, ...) for its own knobs.
Nothing else in the code base reads `os.environ`.
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.sealed import Sealer, sealer_for

if TYPE_CHECKING:
    from shared.events.kafka import KafkaConnection, TopicPolicy

# The local infrastructure `tuition infra up` starts (loopback only). Below Linux's ephemeral range
# (32768-60999): a port in it can be taken by any outgoing connection while a server restarts (seen when
# the chaos run restarted Kafka on such a port: "Address already in use").
LOCAL_PG_PORT = 25432
LOCAL_KAFKA_PORT = 29092
LOCAL_KAFKA_CONTROLLER_PORT = 29093
LOCAL_PG_DSN = f"postgresql://postgres@127.0.0.1:{LOCAL_PG_PORT}/postgres"
LOCAL_KAFKA_BOOTSTRAP = f"127.0.0.1:{LOCAL_KAFKA_PORT}"

# Development-only signing secret for tokens; refused outside development and test.
DEV_JWT_SECRET = "dev-only-secret-change-me-0123456789abcdef"  # noqa: S105
# Development-only key of the data a service seals at rest (<SERVICE>_DATA_KEY).
DEV_DATA_KEY = "dev-only-data-key-0123456789abcdef"
# Every public development value of a secret (services add theirs: the pseudonym and receipt-key secrets).
DEVELOPMENT_VALUES: set[str] = {DEV_JWT_SECRET, DEV_DATA_KEY}

Environment = Literal["development", "test", "production"]

# Words of the values example files and guides show in place of a secret: a value holding one is refused in
# production (`kubectl apply` of an example, a guide's line pasted as it is).
PLACEHOLDER_MARKERS = ("replace-with", "replace_with", "change-me", "changeme", "placeholder", "example", "your-")


def weak_secret(value: str) -> str | None:
    """Why a secret of the suite's own (a signing or sealing key) cannot be used in production, or None."""
    lowered = value.lower()
    if value in DEVELOPMENT_VALUES or lowered.startswith("dev-only"):
        return "is the public development value"
    if any(marker in lowered for marker in PLACEHOLDER_MARKERS):
        return "is a placeholder from an example, not a secret"
    if len(value) < 32:
        return "is shorter than 32 characters"
    if len(set(value)) < 12:
        return "repeats too few characters to be random"
    return None


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class InfraSettings(BaseSettings):
    """Where PostgreSQL and Kafka are. Unset → the project's own local servers."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    pg_dsn: str | None = Field(default=None, validation_alias=_env("PG_DSN"))
    kafka_bootstrap_servers: str | None = Field(default=None, validation_alias=_env("KAFKA_BOOTSTRAP_SERVERS"))
    # A managed or Strimzi Kafka: TLS (the brokers' CA), SASL users (SCRAM).
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", validation_alias=_env("KAFKA_SECURITY_PROTOCOL")
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="SCRAM-SHA-512", validation_alias=_env("KAFKA_SASL_MECHANISM")
    )
    kafka_username: str = Field(default="", validation_alias=_env("KAFKA_USERNAME"))
    kafka_password: SecretStr = Field(default=SecretStr(""), validation_alias=_env("KAFKA_PASSWORD"))
    kafka_ca_file: str | None = Field(default=None, validation_alias=_env("KAFKA_CA_FILE"))

    @model_validator(mode="after")
    def _sasl_needs_a_user(self) -> InfraSettings:
        if self.kafka_security_protocol.startswith("SASL") and not (
            self.kafka_username and self.kafka_password.get_secret_value()
        ):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs KAFKA_USERNAME and KAFKA_PASSWORD"
            )
        return self

    def kafka_connection(self) -> KafkaConnection:
        from shared.events.kafka import KafkaConnection

        return KafkaConnection(
            self.effective_kafka,
            security_protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            username=self.kafka_username,
            password=self.kafka_password.get_secret_value(),
            ca_file=self.kafka_ca_file,
        )

    @property
    def uses_local_postgres(self) -> bool:
        return self.pg_dsn is None

    @property
    def uses_local_kafka(self) -> bool:
        return self.kafka_bootstrap_servers is None

    @property
    def effective_pg_dsn(self) -> str:
        return self.pg_dsn or LOCAL_PG_DSN

    @property
    def effective_kafka(self) -> str:
        return self.kafka_bootstrap_servers or LOCAL_KAFKA_BOOTSTRAP


class ServiceSettings(InfraSettings):
    """Base of every service's settings class."""

    environment: Environment = Field(default="development", validation_alias=_env("TUITION_ENV"))
    jwt_secret: SecretStr = Field(default=SecretStr(DEV_JWT_SECRET), validation_alias=_env("TUITION_JWT_SECRET"))
    # Prepended to every topic name: isolates tests and lets several districts share one cluster.
    topic_prefix: str = Field(default="", validation_alias=_env("TUITION_TOPIC_PREFIX"))
    # Consumer groups are named "<prefix><service>.<consumer>": a new prefix with an empty database
    # rebuilds a service's projections by replaying the topics from the start. Default: the topic prefix.
    consumer_group_prefix: str | None = Field(default=None, validation_alias=_env("TUITION_CONSUMER_GROUP_PREFIX"))
    topic_partitions: int = Field(default=6, ge=1, validation_alias=_env("TUITION_TOPIC_PARTITIONS"))
    # How the topics are created (shared/events/kafka.py TopicPolicy): a 3-broker cluster takes 3 and 2. The
    # topics are the record projections are rebuilt from: retention -1 keeps every event.
    topic_replication: int = Field(default=1, ge=1, le=7, validation_alias=_env("TUITION_TOPIC_REPLICATION"))
    topic_min_insync_replicas: int = Field(
        default=1, ge=1, le=7, validation_alias=_env("TUITION_TOPIC_MIN_INSYNC_REPLICAS")
    )
    topic_retention_ms: int = Field(default=-1, ge=-1, validation_alias=_env("TUITION_TOPIC_RETENTION_MS"))
    log_level: str = Field(default="INFO", validation_alias=_env("TUITION_LOG_LEVEL"))
    log_json: bool = Field(default=True, validation_alias=_env("TUITION_LOG_JSON"))
    # One line per HTTP request (method, route template, status, duration; shared/service.py).
    access_log: bool = Field(default=True, validation_alias=_env("TUITION_ACCESS_LOG"))
    # The service's own database on the PostgreSQL server named by PG_DSN.
    database: str = "tuition"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    # Processes serving the HTTP API on the port, each with its own relay standby and consumers (one consumer
    # group: Kafka spreads the partitions over them). The service's CPU-bound work then uses several cores.
    # Rate limits are kept per process.
    workers: int = Field(default=1, ge=1, le=32)
    # A client sends a request's headers within this, and its body within that (shared/http_protocol.py): a
    # slow-loris holds nothing for long. The body's bound leaves an 8 MiB statement 70 KB/s.
    http_header_timeout_s: float = Field(
        default=10.0, gt=0, le=300, validation_alias=_env("TUITION_HTTP_HEADER_TIMEOUT_S")
    )
    http_body_timeout_s: float = Field(
        default=120.0, gt=0, le=3600, validation_alias=_env("TUITION_HTTP_BODY_TIMEOUT_S")
    )
    # Each process's PostgreSQL pool, and how long one statement may run before it is cancelled (asyncpg's
    # command timeout). The deployment's max_connections holds replicas × workers × (pool + 2): a listener
    # and the start's migration connection (tests/deploy check it per overlay).
    pg_pool_size: int = Field(default=20, ge=2, le=200, validation_alias=_env("TUITION_PG_POOL_SIZE"))
    pg_command_timeout_s: float = Field(
        default=60.0, gt=0, le=3600, validation_alias=_env("TUITION_PG_COMMAND_TIMEOUT_S")
    )
    # Where spans go (OpenTelemetry's own variable: an OTLP/HTTP collector, e.g. http://otel-collector:4318);
    # empty: made for the logs' and events' trace ids, not sent (shared/tracing.py).
    otlp_endpoint: str = Field(default="", validation_alias=_env("OTEL_EXPORTER_OTLP_ENDPOINT"))
    # Stopping (SIGTERM) is bounded: requests under way get this long to finish (an open dashboard stream ends
    # at once: the page reconnects elsewhere), then the relay, consumers and pools that long to close.
    # Kubernetes' grace period covers both and the preStop pause (deploy/k8s/base/services.yaml).
    http_shutdown_timeout_s: float = Field(
        default=3.0, gt=0, le=60, validation_alias=_env("TUITION_HTTP_SHUTDOWN_TIMEOUT_S")
    )
    workers_stop_timeout_s: float = Field(
        default=10.0, gt=0, le=60, validation_alias=_env("TUITION_WORKERS_STOP_TIMEOUT_S")
    )
    # How long a hop of the event pipeline may hold what has arrived so that more shares its work: the relay
    # after an outbox notification, a consumer once its first records have come, the webhook intake's group
    # commit. At a district's usual pace credits arrive tens of milliseconds apart, and each batch pays a
    # transaction, a produce, a fetch and an offset commit: without a window every credit paid them all
    # alone. 0: each hop goes as soon as anything is there (shared/batching.py).
    batch_window_ms: int = Field(default=50, ge=0, le=1000, validation_alias=_env("TUITION_BATCH_WINDOW_MS"))
    # Connections and requests a process holds at once; past it, new ones get 503 (uvicorn's limit).
    http_max_connections: int = Field(
        default=1000, ge=10, le=100_000, validation_alias=_env("TUITION_HTTP_MAX_CONNECTIONS")
    )
    # Request rates on the public routes (shared/limits.py); off only for load benchmarks from one address.
    rate_limits: bool = Field(default=True, validation_alias=_env("TUITION_RATE_LIMITS"))
    # The reverse proxies in front (Caddy, ingress-nginx), as addresses or networks, comma-separated: from them
    # alone X-Forwarded-For names the client (the rightmost address not of a proxy), which rate limits key on.
    # A request from anywhere else is its own client, whatever its headers say.
    trusted_proxies: str = Field(default="127.0.0.1,::1", validation_alias=_env("TUITION_TRUSTED_PROXIES"))
    # <SERVICE>_DATA_KEY: seals secrets and personal data in the service's own database (shared/sealed.py);
    # required in production by the services that seal (`seals_data`).
    data_key: SecretStr = SecretStr(DEV_DATA_KEY)
    # <SERVICE>_DATA_KEYS_PREVIOUS: the keys the data key replaced, comma-separated: still read, never written
    # (`tuition reseal <service>` seals every stored value again with the data key; then they can go).
    data_keys_previous: SecretStr = SecretStr("")
    seals_data: ClassVar[bool] = False
    # Run the outbox relay and the Kafka consumers inside the HTTP process (one container per service).
    run_workers: bool = True
    # The accountant's workspace (served by invoicing at /ketoan) calls reconciliation's and receipts' APIs
    # from the browser: their origin is allowed there (CORS, bearer token only, no cookies). Empty: none.
    workspace_origin: str = Field(default="http://127.0.0.1:8101", validation_alias=_env("TUITION_WORKSPACE_ORIGIN"))

    @property
    def batch_window_s(self) -> float:
        return self.batch_window_ms / 1000

    def signed_in_origins(self) -> list[str]:
        """Other origins whose pages send the session cookie here (CORS with credentials). None but invoicing's."""
        return []

    @model_validator(mode="after")
    def _refuse_dev_secret_in_production(self) -> ServiceSettings:
        if self.environment == "production":
            self.refuse_weak_secrets()
        self.proxy_networks()
        if self.topic_min_insync_replicas > self.topic_replication:
            raise ValueError("TUITION_TOPIC_MIN_INSYNC_REPLICAS cannot exceed TUITION_TOPIC_REPLICATION")
        self.check_listening_on(self.http_host)
        return self

    def proxy_networks(self) -> list[str]:
        """TUITION_TRUSTED_PROXIES, each entry checked: an address or a network, never everyone."""
        import ipaddress

        entries = [e.strip() for e in self.trusted_proxies.split(",") if e.strip()]
        for entry in entries:
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"TUITION_TRUSTED_PROXIES: {entry!r} is neither an address nor a network") from None
            if network.prefixlen == 0:
                raise ValueError(
                    f"TUITION_TRUSTED_PROXIES: {entry!r} trusts every address: anyone could name any client"
                )
        return entries

    def topic_policy(self) -> TopicPolicy:
        from shared.events.kafka import TopicPolicy

        return TopicPolicy(
            partitions=self.topic_partitions,
            replication=self.topic_replication,
            min_insync_replicas=self.topic_min_insync_replicas,
            retention_ms=self.topic_retention_ms,
        )

    def own_secrets(self) -> dict[str, str]:
        """The suite's own keys this service holds, by variable (subclasses add theirs): each must be a real,
        random secret in production."""
        own = {"TUITION_JWT_SECRET": self.jwt_secret.get_secret_value()}
        if self.seals_data:
            own[f"{self._prefix()}DATA_KEY"] = self.data_key.get_secret_value()
            for n, key in enumerate(self.previous_data_keys(), start=1):
                own[f"{self._prefix()}DATA_KEYS_PREVIOUS (key {n})"] = key
        return own

    def refuse_weak_secrets(self) -> None:
        """Production: every own key is a real secret; no other secret setting holds an example's placeholder."""
        for name, value in self.own_secrets().items():
            if why := weak_secret(value):
                raise ValueError(f"{name} {why}: set it to 32+ random bytes (`openssl rand -base64 48`)")
        for field, value in self:
            text = value.get_secret_value() if isinstance(value, SecretStr) else ""
            if text and any(marker in text.lower() for marker in PLACEHOLDER_MARKERS):
                raise ValueError(f"{self._prefix()}{field.upper()} is a placeholder from an example, not a secret")

    def development_secrets(self) -> list[str]:
        """The variables still holding their public development values."""
        return [name for name, value in self.own_secrets().items() if value in DEVELOPMENT_VALUES]

    def _prefix(self) -> str:
        return str(self.model_config.get("env_prefix") or "")

    def previous_data_keys(self) -> list[str]:
        return [k.strip() for k in self.data_keys_previous.get_secret_value().split(",") if k.strip()]

    def sealer(self) -> Sealer:
        return sealer_for(self.data_key.get_secret_value(), *self.previous_data_keys())

    def check_public_urls(self, **urls: str) -> None:
        """In production, addresses that go out to parents and browsers (links, the verification URL printed on
        every receipt) must be their real https address: a loopback default would print 127.0.0.1 on receipts."""
        if self.environment != "production":
            return
        for name, url in urls.items():
            parts = urllib.parse.urlsplit(url)
            if parts.scheme != "https" or not parts.hostname or is_loopback(parts.hostname):
                raise ValueError(
                    f"{self._prefix()}{name.upper()} is {url!r}: in production it must be the https address "
                    "parents and staff reach (not loopback)"
                )

    def check_listening_on(self, host: str) -> None:
        """The development secrets are public: anyone could mint a token with them. A service that holds one
        listens on loopback only, whatever TUITION_ENV says."""
        dev = self.development_secrets()
        if dev and not is_loopback(host):
            raise ValueError(
                f"refusing to listen on {host} with the public development value of {', '.join(dev)}: "
                "set real secrets (and TUITION_ENV=production), or listen on 127.0.0.1"
            )


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
