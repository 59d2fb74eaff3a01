"""Does a school's certificate chain, through its intermediates, to an authority this deployment trusts?

The trusted authorities are configuration (`RECEIPTS_TRUST_BUNDLE`, a PEM file: the national root and the
licensed digital-signature providers' CAs that issue school certificates). The path is built and checked by
`cryptography`'s X.509 verifier at a given time: the receipt's issue time when verifying, now when importing.
Certificate authorities are held to the Web PKI's CA rules; the school's certificate only has to be allowed
to sign (digitalSignature or nonRepudiation), since signing certificates carry no TLS extended key usage.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

# A trust bundle is a few certificates; a file much larger than this is not one.
MAX_BUNDLE_BYTES = 1024 * 1024


class BundleError(ValueError):
    """The trust bundle cannot be read; the message names the file and what is wrong."""


def _may_sign(_policy: object, _cert: x509.Certificate, usage: x509.KeyUsage | None) -> None:
    if usage is None or not (usage.digital_signature or usage.content_commitment):
        raise ValueError("the certificate is not allowed to sign (key usage)")


_SIGNER = ExtensionPolicy.permit_all().require_present(x509.KeyUsage, Criticality.AGNOSTIC, _may_sign)


def problem(
    cert: x509.Certificate, intermediates: Sequence[x509.Certificate], anchors: Sequence[x509.Certificate], at: datetime
) -> str | None:
    """None when `cert` chains to one of `anchors` with every certificate valid at `at`; otherwise why not."""
    if not anchors:
        return "no trusted certification authority is configured"
    verifier = (
        PolicyBuilder()
        .store(Store(list(anchors)))
        .time(at)
        .max_chain_depth(4)
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=_SIGNER)
        .build_client_verifier()
    )
    try:
        verifier.verify(cert, list(intermediates))
    except VerificationError as exc:
        return str(exc)
    return None


def load_bundle(path: Path) -> tuple[x509.Certificate, ...]:
    """The certificates of a PEM bundle (re-read when the file changes)."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise BundleError(f"cannot read the trust bundle {path}: {exc.strerror}") from exc
    return _load(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _load(path: Path, _mtime: int, size: int) -> tuple[x509.Certificate, ...]:
    if size > MAX_BUNDLE_BYTES:
        raise BundleError(f"the trust bundle {path} is {size} bytes: not a bundle of CA certificates")
    try:
        certs = x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise BundleError(f"the trust bundle {path} holds no readable PEM certificate: {exc}") from exc
    not_ca = [c.subject.rfc4514_string() for c in certs if not _is_ca(c)]
    if not_ca:
        raise BundleError(f"the trust bundle {path} holds certificates that are not CAs: {'; '.join(not_ca)}")
    return tuple(certs)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False
