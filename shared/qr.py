"""QR images (qrcode library): PNG for apps and print, SVG for pages. VietQR payloads and receipt QRs."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def _qr(payload: str, box_size: int = 8, border: int = 4) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=border)
    qr.add_data(payload)
    qr.make(fit=True)
    return qr


def png(payload: str, *, box_size: int = 8, border: int = 4) -> bytes:
    buf = io.BytesIO()
    _qr(payload, box_size, border).make_image().save(buf)
    return buf.getvalue()


def svg(payload: str) -> str:
    image = _qr(payload).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(encoding="unicode")  # type: ignore[no-any-return]
