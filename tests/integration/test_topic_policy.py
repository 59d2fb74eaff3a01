"""Topics are created by the deployment's policy: every event kept (retention -1), min in-sync replicas as set;
a replication the cluster cannot give is an error, not a topic quietly created with one replica. The pupils'
keys' topic is compacted."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import InvalidReplicationFactorError

from shared.events.kafka import TopicPolicy, delete_topics, ensure_topics
from shared.events.topics import Topic, topic_name

pytestmark = pytest.mark.integration


async def test_topics_keep_every_event_and_refuse_a_replication_the_cluster_lacks(infra_endpoints):
    prefix = f"t{uuid.uuid4().hex[:10]}."
    keys = topic_name(Topic.PUPIL_KEYS, prefix)
    try:
        await ensure_topics(infra_endpoints.kafka, [f"{prefix}kept", keys], TopicPolicy(partitions=2))
        admin = AIOKafkaAdminClient(bootstrap_servers=infra_endpoints.kafka)
        await admin.start()
        try:
            # The broker answers CreateTopics before its own view of the new topic's configs is filled (KRaft
            # metadata reaches it a moment later): an early describe came back empty once in a full run.
            for _ in range(50):
                (described,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, f"{prefix}kept")])
                (of_keys,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, keys)])
                known = {n for n, *_ in described.resources[0][4]} & {n for n, *_ in of_keys.resources[0][4]}
                if "retention.ms" in known:
                    break
                await asyncio.sleep(0.1)
            (topic,) = await admin.describe_topics([f"{prefix}kept"])
        finally:
            await admin.close()
        configs = {name: value for name, value, *_ in described.resources[0][4]}
        assert configs["retention.ms"] == "-1" and configs["min.insync.replicas"] == "1"
        assert configs["cleanup.policy"] == "delete"
        # The pupils' keys: compacted, so a destroyed key's record is removed within the bounded lag.
        key_configs = {name: value for name, value, *_ in of_keys.resources[0][4]}
        assert key_configs["cleanup.policy"] == "compact" and key_configs["retention.ms"] == "-1"
        assert key_configs["max.compaction.lag.ms"] == str(7 * 24 * 3600 * 1000)
        assert len(topic["partitions"]) == 2
        with pytest.raises(InvalidReplicationFactorError):
            await ensure_topics(infra_endpoints.kafka, [f"{prefix}three"], TopicPolicy(replication=3))
    finally:
        await delete_topics(infra_endpoints.kafka, lambda name: name.startswith(prefix))
