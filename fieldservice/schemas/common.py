"""Building blocks of the request and response schemas.

Request bodies forbid unknown fields (a typo such as ``asignee_id`` is a 422, not a silently
ignored field) and strip surrounding whitespace. Update bodies are partial: only the fields sent
change, and sending ``null`` clears a field that may be empty.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from types import UnionType
from typing import Annotated, Any, ClassVar, Generic, TypeVar, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

T = TypeVar("T")

#: the spaces stripped from text, exactly those of JSON Schema's (ECMAScript's) ``\\s``, so that
#: the document's patterns and the validation agree (Python's str.strip() also strips U+0085
#: and U+001C..U+001F)
SPACES = ("\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
          "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff")
_SPACE_RUN = re.compile(f"[{SPACES}]+")


#: a number where a time is expected: pydantic would read it as seconds since 1970
_NUMBER = re.compile(r"\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*")


def _is_number(value: object) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            or isinstance(value, str) and _NUMBER.fullmatch(value) is not None)


def iso_only(value: object) -> object:
    """Refuse numbers for a date or time: the API documents ISO 8601 strings only."""
    if _is_number(value):
        raise PydanticCustomError("datetime_iso", _KIND_MESSAGES["datetime_iso"])
    return value


#: a date and time in a query parameter: ISO 8601 only (naive = UTC where the route says so)
Instant = Annotated[datetime, BeforeValidator(iso_only)]


#: a date in a query parameter: ISO 8601 only
Day = Annotated[date, BeforeValidator(iso_only)]


def _json_kind(annotation: Any, value: object) -> str | None:
    """The error type when ``value`` is not of the JSON type the document gives for
    ``annotation`` (pydantic would convert it: ``0`` to false, ``false`` to 0, ``"5"`` to 5, a
    number to a time), else None."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _json_kind(get_args(annotation)[0], value)
    if origin in (Union, UnionType):
        kinds = [_json_kind(a, value) for a in get_args(annotation) if a is not type(None)]
        if value is None or any(k is None for k in kinds):
            return None
        return kinds[0]
    if origin is list and isinstance(value, list):
        return next((k for item in value if (k := _json_kind(get_args(annotation)[0], item))),
                    None)
    if annotation is bool:
        return None if isinstance(value, bool) else "bool_type"
    if annotation is int:
        whole = isinstance(value, int) or isinstance(value, float) and value.is_integer()
        return None if whole and not isinstance(value, bool) else "int_type"
    if annotation is float:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return None if number else "float_type"
    if annotation in (datetime, date) and _is_number(value):
        return "datetime_iso"
    return None


def _stripped(annotation: Any, value: object) -> object:
    """Text without surrounding :data:`SPACES` (in lists too), where the field is text."""
    if isinstance(value, str):
        return value.strip(SPACES) if _is_text(annotation) else value
    if isinstance(value, list) and get_origin(annotation) is list:
        return [_stripped(get_args(annotation)[0], item) for item in value]
    if isinstance(value, list) and get_origin(annotation) in (Union, UnionType):
        lists = [a for a in get_args(annotation) if get_origin(a) is list]
        return _stripped(lists[0], value) if lists else value
    return value


def _is_text(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _is_text(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return any(_is_text(a) for a in get_args(annotation))
    return annotation is str


_KIND_MESSAGES = {"bool_type": "Input should be true or false",
                  "int_type": "Input should be an integer (a JSON number, not a string)",
                  "float_type": "Input should be a number (a JSON number, not a string)",
                  "datetime_iso": "give an ISO 8601 date or time such as 2026-12-07T08:00:00Z, "
                                  "not a number"}


class Body(BaseModel):
    """A request body: unknown fields refused, text stripped, and every value of the JSON type
    the document gives (pydantic alone would turn ``0`` into false, ``"5"`` into 5, a number
    into a time)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _json_types(cls, value: object, info: ValidationInfo) -> object:
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return value
        kind = _json_kind(field.annotation, value)
        if kind is not None:
            raise PydanticCustomError(kind, _KIND_MESSAGES[kind])
        return _stripped(field.annotation, value)


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

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        # the fields that may be left out but not cleared: their schema admits no null
        schema = handler.resolve_ref_schema(handler(core_schema))
        for name in cls.not_nullable:
            prop = schema.get("properties", {}).get(name, {})
            choices = [c for c in prop.get("anyOf", ()) if c.get("type") != "null"]
            if choices and len(choices) < len(prop["anyOf"]):
                del prop["anyOf"]
                if len(choices) == 1:
                    prop.update(choices[0])
                else:
                    prop["anyOf"] = choices
            prop.pop("default", None)
        return schema

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
    return value.strip(SPACES).upper() if isinstance(value, str) else value


def _plate(value: str) -> str:
    # plates are written with and without spaces; stored without, upper case
    plate = _SPACE_RUN.sub("", value).upper()
    if not plate:
        raise PydanticCustomError("plate_empty", "plate is empty")
    return plate


#: a record id: positive and within the INTEGER columns that hold them
MAX_ID = 2**31 - 1
#: text is stripped of surrounding spaces before its length is checked: the document says that
#: only blanks are no text
NOT_BLANK = f"[^{SPACES}]"
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=NOT_BLANK)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK)]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 ()./-]{1,29}[0-9()./-]$")]
Plate = Annotated[str, StringConstraints(min_length=1, max_length=20, pattern=NOT_BLANK),
                  AfterValidator(_plate)]
#: ISO 3779: 17 characters, letters I, O and Q never used
Vin = Annotated[str, BeforeValidator(_upper),
                StringConstraints(pattern=r"^[A-HJ-NPR-Z0-9]{17}$"),
                WithJsonSchema({"type": "string",
                                "pattern": r"^\s*[A-HJ-NPR-Za-hj-npr-z0-9]{17}\s*$",
                                "description": "17 characters (ISO 3779: no I, O or Q); case "
                                               "and surrounding spaces do not matter"},
                               mode="validation")]
TerminalId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
#: ITU-T E.118: 19 or 20 digits in practice (18-22 accepted; no Luhn check, some issuers differ)
Iccid = Annotated[str, StringConstraints(pattern=r"^[0-9]{18,22}$")]
Msisdn = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{5,15}$")]
Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@-]{2,64}$")]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=NOT_BLANK)]
