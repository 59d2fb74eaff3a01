"""Receipts signed in batches, off the event loop: the XML-DSig and the compact QR of many receipts per call.

Signing is the CPU work of the receipts service (an RSA signature, C14N and a COSE signature per receipt).
With `processes` > 0 the batch is split across that many worker processes, so the service uses every core;
with 0 it runs in one thread beside the loop. A worker keeps each key it was given by key id, so a key is
deserialised once per process, not once per receipt; which key signs is decided by the caller on every
batch (from the database), so a revoked key is never asked for again.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from receipts.adapters import compact, xmlsig
from receipts.adapters.certificates import KeyMaterial
from receipts.domain.receipt import ReceiptContent, build_xml


@dataclass(frozen=True)
class KeyPair:
    """The school's two active keys, as bytes a worker process can receive (DER; never logged)."""

    xml_kid: str
    xml_key: bytes
    xml_cert: bytes
    xml_chain: tuple[bytes, ...]  # above the school's certificate, up to the root (embedded in every receipt)
    compact_kid: str
    compact_key: bytes


@dataclass(frozen=True)
class Signed:
    xml: bytes
    compact: str


def key_pair(xml: KeyMaterial, compact_key: KeyMaterial, chain: tuple[x509.Certificate, ...] = ()) -> KeyPair:
    def der(m: KeyMaterial) -> bytes:
        return m.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    return KeyPair(
        xml_kid=xml.kid,
        xml_key=der(xml),
        xml_cert=xml.cert.public_bytes(serialization.Encoding.DER),
        xml_chain=tuple(c.public_bytes(serialization.Encoding.DER) for c in chain),
        compact_kid=compact_key.kid,
        compact_key=der(compact_key),
    )


CompactKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
_loaded: dict[str, tuple[KeyMaterial, CompactKey]] = {}


def _keys(pair: KeyPair) -> tuple[KeyMaterial, CompactKey]:
    cache_key = f"{pair.xml_kid}:{pair.compact_kid}"
    if cache_key not in _loaded:
        if len(_loaded) > 256:  # a province's schools, rotated keys included; never unbounded
            _loaded.clear()
        # The keys were checked when the service opened them (certificates.from_p12): checking an RSA key
        # again costs some 65 ms, and each worker would pay it for every school's key.
        xml_key = serialization.load_der_private_key(pair.xml_key, None, unsafe_skip_rsa_key_validation=True)
        compact_key = serialization.load_der_private_key(pair.compact_key, None, unsafe_skip_rsa_key_validation=True)
        if not isinstance(compact_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise TypeError(f"the compact signing key {pair.compact_kid} is neither an ECDSA nor an RSA key")
        material = KeyMaterial(
            key=xml_key,  # type: ignore[arg-type]
            cert=x509.load_der_x509_certificate(pair.xml_cert),
            chain=tuple(x509.load_der_x509_certificate(c) for c in pair.xml_chain),
        )
        _loaded[cache_key] = (material, compact_key)
    return _loaded[cache_key]


def claims_of(c: ReceiptContent) -> dict[str, Any]:
    """What the compact QR carries: enough to find and check the receipt, no name."""
    return {
        "s": c.school_id,
        "f": c.form_code,
        "sr": c.series_code,
        "n": c.number,
        "a": c.amount,
        "t": int(c.issued_at.timestamp()),
        "v": c.verification_code,
        "c": c.student_code,
    }


def sign_each(pair: KeyPair, contents: list[ReceiptContent], signing_time: datetime) -> list[Signed]:
    """Sign receipts in this process (a worker's job, or the thread's)."""
    xml_key, compact_key = _keys(pair)
    kid = bytes.fromhex(pair.compact_kid)
    return [
        Signed(
            xml=xmlsig.sign(build_xml(c), xml_key, signing_time),
            compact=compact.sign(claims_of(c), compact_key, kid),
        )
        for c in contents
    ]


def sign_groups(groups: list[tuple[KeyPair, list[ReceiptContent]]], signing_time: datetime) -> list[list[Signed]]:
    """Several schools' receipts, each group with its school's keys, in this process."""
    return [sign_each(pair, contents, signing_time) for pair, contents in groups]


def _end_with_the_service(service_pid: int) -> None:
    """A worker's initializer: the worker ends once the service that started it has ended, however it ended
    (a worker left behind by a killed service would hold its memory and its keys)."""

    def watch() -> None:
        while os.getppid() == service_pid:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="end-with-the-service", daemon=True).start()


class Signer:
    """Where batches are signed: `processes` worker processes, or one thread when 0."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._pool: Executor | None = None

    def _executor(self) -> Executor:
        if self._pool is None:
            # spawn: a fresh interpreter, nothing inherited from the service's loop, threads or sockets.
            self._pool = ProcessPoolExecutor(
                self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_end_with_the_service,
                initargs=(os.getpid(),),
            )
        return self._pool

    def start(self) -> None:
        """Start the worker processes now (a service at start-up) rather than with the first batch."""
        if self.processes > 0:
            executor = self._executor()
            for f in [executor.submit(os.getpid) for _ in range(self.processes)]:
                f.result()

    async def sign(self, pair: KeyPair, contents: list[ReceiptContent], signing_time: datetime) -> list[Signed]:
        [signed] = await self.sign_groups([(pair, contents)], signing_time)
        return signed

    async def sign_groups(
        self, groups: list[tuple[KeyPair, list[ReceiptContent]]], signing_time: datetime
    ) -> list[list[Signed]]:
        """Each group's receipts signed with its keys (several schools at once), the groups' receipts split
        evenly over the processes: one round trip per process whatever the number of schools."""
        total = sum(len(contents) for _, contents in groups)
        if total == 0:
            return [[] for _ in groups]
        if self.processes <= 0 or total == 1:
            return await asyncio.to_thread(sign_groups, groups, signing_time)
        # Cut the receipts (in the groups' order) into `processes` runs of about the same length.
        step = -(-total // self.processes)
        parts: list[list[tuple[KeyPair, list[ReceiptContent]]]] = [[]]
        room = step
        for pair, contents in groups:
            rest = contents
            while rest:
                if room == 0:
                    parts.append([])
                    room = step
                piece, rest = rest[:room], rest[room:]
                parts[-1].append((pair, piece))
                room -= len(piece)
        loop = asyncio.get_running_loop()
        done = await asyncio.gather(
            *(loop.run_in_executor(self._executor(), sign_groups, part, signing_time) for part in parts)
        )
        # Back into the groups: the pieces come back in the order they were cut.
        pieces = iter(signed for part in done for signed in part)
        out: list[list[Signed]] = []
        for _, contents in groups:
            signed: list[Signed] = []
            while len(signed) < len(contents):
                signed += next(pieces)
            out.append(signed)
        return out
