"""Topics are created by the deployment's policy: every event kept (retention -1), min in-sync replicas as set;
a replication the cluster cannot give is an error, not a topic quietly created with one replica."""

from __future__ import annotations

import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import InvalidReplicationFactorError

from shared.events.kafka import TopicPolicy, delete_topics, ensure_topics

pytestmark = pytest.mark.integration


async def test_topics_keep_every_event_and_refuse_a_replication_the_cluster_lacks(infra_endpoints):
    prefix = f"t{uuid.uuid4().hex[:10]}."
    try:
        await ensure_topics(infra_endpoints.kafka, [f"{prefix}kept"], TopicPolicy(partitions=2))
        admin = AIOKafkaAdminClient(bootstrap_servers=infra_endpoints.kafka)
        await admin.start()
        try:
            (described,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, f"{prefix}kept")])
            (topic,) = await admin.describe_topics([f"{prefix}kept"])
        finally:
            await admin.close()
        configs = {name: value for name, value, *_ in described.resources[0][4]}
        assert configs["retention.ms"] == "-1" and configs["min.insync.replicas"] == "1"
        assert len(topic["partitions"]) == 2
        with pytest.raises(InvalidReplicationFactorError):
            await ensure_topics(infra_endpoints.kafka, [f"{prefix}three"], TopicPolicy(replication=3))
    finally:
        await delete_topics(infra_endpoints.kafka, lambda name: name.startswith(prefix))
