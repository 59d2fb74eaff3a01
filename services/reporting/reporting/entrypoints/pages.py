"""The dashboard page. It holds no data itself: its script reads the JSON API with a short-lived token that
the suite's sign-in (invoicing, at the workspace's origin) gives the viewer's session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from reporting.settings import ReportingSettings
from shared import pages
from shared.service import settings_dependency

router = APIRouter()
Settings = Annotated[ReportingSettings, Depends(settings_dependency(ReportingSettings))]
PAGE = (Path(__file__).parent / "static" / "dashboard.html").read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    tags=["dashboard"],
    summary="The dashboard page (signed in at the suite's sign-in page; no token in its address)",
)
async def dashboard(settings: Settings) -> HTMLResponse:
    auth = settings.workspace_origin.rstrip("/")
    # JSON inside <script type="application/json">: "</" cannot close the element.
    config = json.dumps({"auth": auth}).replace("</", "<\\/")
    return pages.page(PAGE.replace("__CONFIG__", config), connect=(auth,) if auth else ())
