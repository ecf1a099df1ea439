"""Bodies of transition requests (shared by the service layer and the API)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TransitionRequest(BaseModel):
    """Every transition names the version of the order the caller acted on (optimistic
    concurrency: a stale version is refused with 409) and may carry a note."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, description="the work order's version as last read")
    note: str | None = Field(default=None, max_length=4000)


class AssignRequest(TransitionRequest):
    assignee_id: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                    description="user id of the technician")
