"""Every sealed value of a service's database sealed again with its data key (`tuition reseal <service>`):
after a key rotation (the old key in `<SERVICE>_DATA_KEYS_PREVIOUS`), and for values written before sealing
existed. Each table's batch is one transaction; running it again changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from shared.sealed import Sealer

BATCH = 1_000


@dataclass(frozen=True)
class SealedColumn:
    table: str
    key: tuple[str, ...]  # the row's primary key columns
    column: str

    def keys(self) -> str:
        return ", ".join(f'"{k}"' for k in self.key)


async def reseal(pool: asyncpg.Pool, sealer: Sealer, columns: tuple[SealedColumn, ...]) -> dict[str, int]:
    """Values sealed again, by `table.column`."""
    changed: dict[str, int] = {}
    for c in columns:
        changed[f"{c.table}.{c.column}"] = await _reseal_column(pool, sealer, c)
    return changed


async def _reseal_column(pool: asyncpg.Pool, sealer: Sealer, c: SealedColumn) -> int:
    n = len(c.key)
    head = f'SELECT {c.keys()}, "{c.column}" FROM "{c.table}" WHERE "{c.column}" IS NOT NULL'  # noqa: S608
    tail = f" ORDER BY {c.keys()} LIMIT {BATCH} FOR UPDATE"
    after_key = f" AND ({c.keys()}) > ({', '.join(f'${i + 1}' for i in range(n))})"
    match = " AND ".join(f'"{k}" = ${i + 2}' for i, k in enumerate(c.key))
    update = f'UPDATE "{c.table}" SET "{c.column}" = $1 WHERE {match}'  # noqa: S608 (names from the code)
    total, after = 0, None
    async with pool.acquire() as conn:
        while True:
            async with conn.transaction():
                rows = await (conn.fetch(head + tail) if after is None else conn.fetch(head + after_key + tail, *after))
                if not rows:
                    return total
                fresh = [(new, *r[:n]) for r in rows if (new := sealer.resealed(r[n])) is not None]
                if fresh:
                    await conn.executemany(update, fresh)
            total += len(fresh)
            after = tuple(rows[-1][:n])
