"""The pupils' keys that seal their names in events (shared/events/pupil_keys.py): made the first time a
pupil's names go into an event, announced on the keys' topic, destroyed when the pupil is erased."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from shared.events import pupil_keys
from shared.events.outbox import Outbox
from shared.events.pupil_keys import PupilKey
from shared.events.topics import Topic
from tuition.invoicing.v1.pupil_keys_pb2 import PupilKeyDestroyed, PupilKeyIssued


async def keys_for(
    conn: asyncpg.Connection, outbox: Outbox, school_id: str, student_ids: list[uuid.UUID]
) -> dict[uuid.UUID, PupilKey]:
    """Each pupil's key; those who have none get one, announced in this transaction."""
    have = await pupil_keys.keys_of_students(conn, student_ids)
    made = [pupil_keys.new_key(s) for s in dict.fromkeys(student_ids) if s not in have]
    if made:
        await pupil_keys.add(conn, school_id, made)
        now = datetime.now(UTC)
        events = []
        for k in made:
            issued = PupilKeyIssued(student_id=str(k.student_id), school_id=school_id, key_id=str(k.key_id), key=k.key)
            issued.issued_at.FromDatetime(now)
            # Keyed by the pupil: compaction keeps only the pupil's last record (the key's destruction).
            events.append((issued, str(k.student_id), school_id))
        await outbox.add_many(conn, Topic.PUPIL_KEYS, events, occurred_at=now)
        have |= {k.student_id: k for k in made}
    return have


async def destroy(conn: asyncpg.Connection, outbox: Outbox, school_id: str, student_id: uuid.UUID) -> int:
    """The pupil's keys deleted here, and their destruction announced to every service that holds a copy."""
    now = datetime.now(UTC)
    destroyed = await pupil_keys.forget(conn, student_id)
    events = []
    for key_id in destroyed:
        event = PupilKeyDestroyed(student_id=str(student_id), school_id=school_id, key_id=str(key_id))
        event.destroyed_at.FromDatetime(now)
        events.append((event, str(student_id), school_id))
    if events:
        await outbox.add_many(conn, Topic.PUPIL_KEYS, events, occurred_at=now)
    return len(destroyed)
