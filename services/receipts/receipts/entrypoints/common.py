"""What the receipts routes share: the settings, the pages' templates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends
from jinja2 import Environment, FileSystemLoader, select_autoescape

from receipts.settings import ReceiptsSettings
from shared.service import settings_dependency

Settings = Annotated[ReceiptsSettings, Depends(settings_dependency(ReceiptsSettings))]


templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"])
)
