"""The launcher behind `tuition infra up|down`, on its own ports and state folder."""

from __future__ import annotations

import shutil
import socket
import uuid

import asyncpg
import pytest

import devinfra as infra
from devinfra import kafka, postgres
from devinfra.proc import port_open, read_pid
from devinfra.testing import free_port, free_ports

pytestmark = pytest.mark.integration


async def test_postgres_up_is_idempotent_and_down_leaves_nothing_running():
    # Under the project's cache: the `postgres` user must be able to reach it (pytest's tmp is 0700).
    state = infra.cache_dir() / "test-infra" / uuid.uuid4().hex[:8]
    port = free_port()
    assert postgres.start(state, port=port) is True
    try:
        assert postgres.start(state, port=port) is False  # second `up`: a no-op
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres")
        assert await conn.fetchval("SHOW listen_addresses") == "127.0.0.1"
        await conn.close()
    finally:
        postgres.stop(state)
    assert not postgres.is_running(state)
    assert not port_open(port)
    shutil.rmtree(state)


def test_a_data_folder_the_postgres_user_cannot_reach_is_reported(tmp_path):
    (tmp_path / "locked").mkdir(mode=0o700)
    with pytest.raises(infra.proc.InfraError, match="not traversable by the postgres user"):
        postgres.start(tmp_path / "locked" / "pg", port=free_port())


def test_kafka_up_is_idempotent_and_down_leaves_nothing_running(tmp_path):
    port, cport = free_ports(2)
    jars, pom = infra.cache_dir() / "kafka-jars", infra.PROJECT_ROOT / "deploy" / "kafka" / "pom.xml"
    assert kafka.start(tmp_path, jars_dir=jars, pom=pom, port=port, controller_port=cport) is True
    pid = read_pid(tmp_path / "kafka.pid")
    try:
        assert kafka.start(tmp_path, jars_dir=jars, pom=pom, port=port, controller_port=cport) is False
        assert "listeners=PLAINTEXT://127.0.0.1:" in (tmp_path / "server.properties").read_text()
    finally:
        kafka.stop(tmp_path)
    assert pid is not None and not kafka.is_running(tmp_path, port)
    assert not port_open(port) and not port_open(cport)


def test_a_cluster_id_that_starts_with_a_dash_formats_the_storage(tmp_path):
    # One random cluster id in 64 starts with "-"; passed as `-t ID` it was read as an option and the
    # format failed (a flaky `make test`).
    jars = kafka.ensure_jars(infra.cache_dir() / "kafka-jars", infra.PROJECT_ROOT / "deploy" / "kafka" / "pom.xml")
    port, cport = free_ports(2)
    props = tmp_path / "server.properties"
    props.write_text(kafka.server_properties(tmp_path / "data", port, cport))
    cluster_id = "-" + kafka.new_cluster_id()[1:]

    kafka.format_storage(f"{jars}/*", props, cluster_id)

    assert f"cluster.id={cluster_id}" in (tmp_path / "data" / "meta.properties").read_text()


def test_a_port_taken_by_another_program_is_reported_not_fought_over(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(infra.proc.InfraError, match=f"port {port} is taken"):
            postgres.start(tmp_path, port=port)
