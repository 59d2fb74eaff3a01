"""The accountant's workspace (kế toán): one page served here that works on the school's invoices (this
service) and on its credits, exceptions, cash and daily close (reconciliation's API, called from the browser
with the same bearer token; CORS allows this origin there). The page holds no data of its own: every figure
comes from the APIs, under the accountant's token, scoped to their school."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from invoicing.settings import InvoicingSettings
from shared import pages
from shared.service import settings_dependency

router = APIRouter()
Settings = Annotated[InvoicingSettings, Depends(settings_dependency(InvoicingSettings))]
_HERE = Path(__file__).parent
_env = Environment(loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(["html"]))
_SCRIPT = (_HERE / "static" / "workspace.js").read_bytes()
_LINK_SCRIPT = (_HERE / "static" / "account_link.js").read_bytes()
_SIGNIN_SCRIPT = (_HERE / "static" / "signin.js").read_bytes()
_ADMIN_SCRIPT = (_HERE / "static" / "admin.js").read_bytes()
_SIGN_IN_PAGE_SCRIPT = (_HERE / "static" / "sign_in_page.js").read_bytes()


def _script(body: bytes) -> Response:
    """A page's script (read once at import), fetched again on every load: never cached stale."""
    return Response(body, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@router.get("/ketoan", response_class=HTMLResponse, include_in_schema=False)
async def workspace(settings: Settings) -> HTMLResponse:
    apis = {
        "invoicing": "",
        "reconciliation": settings.reconciliation_url.rstrip("/"),
        "receipts": settings.receipts_url.rstrip("/"),
    }
    html = _env.get_template("workspace.html").render(apis=apis)
    return pages.page(html, connect=(apis["reconciliation"], apis["receipts"]))


@router.get("/ketoan/app.js", include_in_schema=False)
async def workspace_script() -> Response:
    return _script(_SCRIPT)


@router.get("/tai-khoan/moi", response_class=HTMLResponse, include_in_schema=False)
async def account_link() -> HTMLResponse:
    """An invitation or reset link's page (the secret is in the fragment, read by its script)."""
    return pages.page(_env.get_template("account_link.html").render())


@router.get("/tai-khoan/moi.js", include_in_schema=False)
async def account_link_script() -> Response:
    return _script(_LINK_SCRIPT)


@router.get("/auth/signin.js", include_in_schema=False)
async def signin_script() -> Response:
    return _script(_SIGNIN_SCRIPT)


@router.get("/quan-tri", response_class=HTMLResponse, include_in_schema=False)
async def administration() -> HTMLResponse:
    """Account administration (district and province administrators), signed in by session."""
    return pages.page(_env.get_template("admin.html").render())


@router.get("/quan-tri/app.js", include_in_schema=False)
async def administration_script() -> Response:
    return _script(_ADMIN_SCRIPT)


@router.get("/dang-nhap", response_class=HTMLResponse, include_in_schema=False)
async def sign_in_page(settings: Settings) -> HTMLResponse:
    """The suite's sign-in page; `?next=` brings the person back to one of the suite's own pages."""
    config = {"origins": sorted(settings.own_origins()), "dashboard": settings.dashboard_url.rstrip("/") + "/dashboard"}
    return pages.page(_env.get_template("sign_in.html").render(config=config))


@router.get("/dang-nhap.js", include_in_schema=False)
async def sign_in_page_script() -> Response:
    return _script(_SIGN_IN_PAGE_SCRIPT)
