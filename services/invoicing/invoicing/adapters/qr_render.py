"""QR images of VietQR payloads (qrcode library): PNG for apps and print, SVG for the payment page."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M


def _qr(payload: str) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(payload)
    qr.make(fit=True)
    return qr


def png(payload: str) -> bytes:
    buf = io.BytesIO()
    _qr(payload).make_image().save(buf)
    return buf.getvalue()


def svg(payload: str) -> str:
    image = _qr(payload).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(encoding="unicode")  # type: ignore[no-any-return]
