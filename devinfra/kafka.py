"""A single-node Apache Kafka 4.x in KRaft mode, from its jars on Maven Central (no tarball, no Docker).

The jars are resolved by `mvn dependency:copy-dependencies` from `deploy/kafka/pom.xml` into a cache
folder keyed by the pom's hash, the log directory is formatted once, and the broker runs as
`java -cp <jars> kafka.Kafka server.properties` listening on 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from devinfra.proc import InfraError, apt_install, pid_alive, port_open, read_pid, terminate
from shared.logging import get_logger
from shared.settings import LOCAL_KAFKA_CONTROLLER_PORT, LOCAL_KAFKA_PORT

log = get_logger(__name__)

READY_LINE = "Kafka Server started"
START_TIMEOUT_S = 90.0

LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = STDOUT
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
"""


def server_properties(data: Path, port: int, controller_port: int) -> str:
    return f"""\
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={data}
num.partitions=6
num.recovery.threads.per.data.dir=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
file.delete.delay.ms=1000
log.retention.hours=-1
"""


def _ensure_toolchain() -> None:
    missing = [pkg for tool, pkg in (("java", "openjdk-17-jre-headless"), ("mvn", "maven")) if not shutil.which(tool)]
    if missing:
        apt_install(*missing)


def ensure_jars(jars_root: Path, pom: Path) -> Path:
    """The broker's runtime jars, fetched once per pom version."""
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()[:12]
    libs = jars_root / digest
    if (libs / ".complete").exists():
        return libs
    _ensure_toolchain()
    tmp = jars_root / f"{digest}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    log.info("infra.kafka.fetching_jars", pom=str(pom))
    res = subprocess.run(
        [
            "mvn",
            "-B",
            "-q",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={tmp}",
        ],
        check=False,
        text=True,
        capture_output=True,
    )
    if res.returncode != 0:
        raise InfraError(f"mvn could not fetch the Kafka jars: {(res.stdout + res.stderr)[-2000:]}")
    (tmp / ".complete").touch()
    shutil.rmtree(libs, ignore_errors=True)
    tmp.rename(libs)
    return libs


def new_cluster_id() -> str:
    """A cluster id as Kafka writes them: a random UUID, URL-safe Base64 without padding (may start with "-")."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def format_storage(classpath: str, props: Path, cluster_id: str) -> None:
    # `--cluster-id=ID`, never `-t ID`: one id in 64 starts with "-", which argparse takes for an option.
    res = subprocess.run(
        [
            *("java", "-cp", classpath, "kafka.tools.StorageTool", "format", "--standalone"),
            *(f"--cluster-id={cluster_id}", "-c", str(props)),
        ],
        check=False,
        text=True,
        capture_output=True,
    )
    if res.returncode != 0:
        raise InfraError(f"kafka storage format failed: {res.stderr.strip() or res.stdout.strip()}")


def is_running(state: Path, port: int = LOCAL_KAFKA_PORT) -> bool:
    pid = read_pid(state / "kafka.pid")
    return pid is not None and pid_alive(pid) and port_open(port)


def start(
    state: Path,
    *,
    jars_dir: Path,
    pom: Path,
    port: int = LOCAL_KAFKA_PORT,
    controller_port: int = LOCAL_KAFKA_CONTROLLER_PORT,
) -> bool:
    """Start the broker if it is not running. Returns True when this call started it."""
    if is_running(state, port):
        return False
    for p in (port, controller_port):
        if port_open(p):
            raise InfraError(
                f"port {p} is taken by another program; stop it or set KAFKA_BOOTSTRAP_SERVERS to use that broker"
            )
    libs = ensure_jars(jars_dir, pom)
    state.mkdir(parents=True, exist_ok=True)
    data = state / "data"
    props = state / "server.properties"
    props.write_text(server_properties(data, port, controller_port))
    (state / "log4j2.properties").write_text(LOG4J2)
    classpath = f"{libs}/*"
    if not (data / "meta.properties").exists():
        shutil.rmtree(data, ignore_errors=True)
        format_storage(classpath, props, new_cluster_id())
    out = state / "kafka.out"
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [
                "java",
                "-Xms512m",
                "-Xmx1g",
                "-XX:+UseSerialGC",
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={state / 'log4j2.properties'}",
                "-cp",
                classpath,
                "kafka.Kafka",
                str(props),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    (state / "kafka.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise InfraError(f"Kafka exited with code {proc.returncode} while starting: {out.read_text()[-2000:]}")
        if READY_LINE in out.read_text(errors="replace") and port_open(port):
            log.info("infra.kafka.started", port=port, pid=proc.pid)
            return True
        time.sleep(0.25)
    terminate(proc.pid)
    raise InfraError(f"Kafka did not start within {START_TIMEOUT_S:.0f}s; see {out}")


def stop(state: Path) -> None:
    pid = read_pid(state / "kafka.pid")
    if pid is None:
        return
    if pid_alive(pid):
        terminate(pid, timeout=30)
        log.info("infra.kafka.stopped", pid=pid)
    (state / "kafka.pid").unlink(missing_ok=True)
