"""Request and response models more than one concern of the API uses."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1)
