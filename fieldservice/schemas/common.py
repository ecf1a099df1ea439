"""Building blocks of the request and response schemas.

Request bodies forbid unknown fields (a typo such as ``asignee_id`` is a 422, not a silently
ignored field) and strip surrounding whitespace. Update bodies are partial: only the fields sent
change, and sending ``null`` clears a field that may be empty.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

T = TypeVar("T")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Refusal(BaseModel):
    """One reason a step is refused, for people in any language: the web app words ``code``
    with ``params``; ``message`` is the same in English (``other``: English only)."""

    code: str = Field(description="stable name of the reason, e.g. checklist_unchecked")
    params: dict[str, str | list[str]] = Field(
        description="what the reason names, e.g. {\"items\": [\"tools\"]}")
    message: str = Field(description="the reason in English")


class UpdateBody(Body):
    """A partial update. ``version`` is the record's version as last read (409 when stale)."""

    #: fields that may be left out but not set to null
    not_nullable: ClassVar[frozenset[str]] = frozenset()

    version: int = Field(ge=1, description="the record's version as last read")

    @model_validator(mode="after")
    def _no_null_for_required(self) -> UpdateBody:
        for name in self.model_fields_set & self.not_nullable:
            if getattr(self, name) is None:
                raise PydanticCustomError("not_null", "{field} cannot be null", {"field": name})
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude={"version"})


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _plate(value: str) -> str:
    # plates are written with and without spaces; stored without, upper case
    plate = re.sub(r"\s+", "", value).upper()
    if not plate:
        raise PydanticCustomError("plate_empty", "plate is empty")
    return plate


#: a record id: positive and within the INTEGER columns that hold them
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 ()./-]{2,30}$")]
Plate = Annotated[str, StringConstraints(min_length=1, max_length=20), AfterValidator(_plate)]
#: ISO 3779: 17 characters, letters I, O and Q never used
Vin = Annotated[str, BeforeValidator(_upper),
                StringConstraints(pattern=r"^[A-HJ-NPR-Z0-9]{17}$")]
TerminalId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
#: ITU-T E.118: 19 or 20 digits in practice (18-22 accepted; no Luhn check, some issuers differ)
Iccid = Annotated[str, StringConstraints(pattern=r"^[0-9]{18,22}$")]
Msisdn = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{5,15}$")]
Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@-]{2,64}$")]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=40)]
