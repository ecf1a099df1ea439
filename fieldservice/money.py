"""Money: exact decimal amounts from the request body to the database and back.

- In the database: ``NUMERIC(14, 2)`` on PostgreSQL. SQLite has no exact decimal type (a
  NUMERIC column stores a binary float), so there the column holds an INTEGER count of
  hundredths; ``SUM()`` over it stays exact on both databases and :class:`MoneyColumn` turns the
  result back into a :class:`~decimal.Decimal`.
- In requests: :data:`Amount` accepts a JSON string (``"12.50"``: digits, at most two
  decimals, no sign, exponent or spaces) or an integer, never a JSON number with a fraction
  (it would have passed through a binary float on the way in).
- In responses: pydantic writes a ``Decimal`` as a JSON string, always with two decimals.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError
from sqlalchemy.engine import Dialect

#: every amount has two decimal places (hundredths of the currency unit)
CENT = Decimal("0.01")
#: the largest amount a column holds: 12 digits before the point
MAX_AMOUNT = Decimal("999999999999.99")


def quantize(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class MoneyColumn(sa.types.TypeDecorator[Decimal]):
    """``Decimal`` in and out; NUMERIC(14, 2) on PostgreSQL, hundredths as INTEGER on SQLite."""

    impl = sa.Numeric(14, 2, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(14, 2, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal | int):
            raise TypeError(f"money needs a Decimal, got {value!r}")
        amount = Decimal(value)
        if amount != quantize(amount):
            raise ValueError(f"money has at most two decimal places: {amount}")
        if dialect.name == "sqlite":
            return int(amount * 100)
        return amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return quantize(Decimal(int(value)) / 100)
        return quantize(Decimal(value))


#: what an amount string looks like (a sign is read so that "-1" is refused for its sign)
_AMOUNT_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
#: the amounts a request may send, as its JSON schema says (no sign, at most two decimals)
AMOUNT_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"


def _exact(value: object) -> object:
    if isinstance(value, bool):
        raise PydanticCustomError("amount_type", 'an amount is a decimal string such as "12.50"')
    if isinstance(value, float):
        # a JSON number with no fraction (12.0) is an integer, exactly, below 2**53
        if value.is_integer() and abs(value) < 2**53:
            return Decimal(int(value))
        raise PydanticCustomError("amount_float",
                                  'send amounts as decimal strings ("12.50") or integers, not '
                                  "JSON numbers with a fraction: those pass through a binary "
                                  "float")
    if isinstance(value, str):
        if not _AMOUNT_TEXT.fullmatch(value):
            raise PydanticCustomError("amount_invalid", "not a decimal amount: {value}",
                                      {"value": repr(value)})
        return Decimal(value)
    return value


def _two_places(value: Decimal) -> Decimal:
    if value != quantize(value):
        raise PydanticCustomError("amount_places", "an amount has at most two decimal places")
    return quantize(value)


def _as_text(value: Decimal) -> str:
    return str(quantize(value))


#: a non-negative amount in a request body
Amount = Annotated[Decimal, BeforeValidator(_exact), AfterValidator(_two_places),
                   Field(ge=0, le=MAX_AMOUNT),
                   WithJsonSchema({"anyOf": [
                       {"type": "string", "pattern": AMOUNT_PATTERN},
                       {"type": "integer", "minimum": 0, "maximum": int(MAX_AMOUNT)}],
                       "description": "decimal string, e.g. \"12.50\" (or an integer)"},
                       mode="validation")]
#: an amount in a response: a JSON string with two decimals
MoneyOut = Annotated[Decimal, PlainSerializer(_as_text, return_type=str, when_used="json")]
