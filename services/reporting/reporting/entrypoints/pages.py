"""The dashboard page. It holds no data itself: its script reads the JSON API with the viewer's token."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from shared import pages

router = APIRouter()
PAGE = (Path(__file__).parent / "static" / "dashboard.html").read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    tags=["dashboard"],
    summary="The dashboard page (open it with ?token=... once; the token then stays in the tab)",
)
async def dashboard() -> HTMLResponse:
    return pages.page(PAGE)
