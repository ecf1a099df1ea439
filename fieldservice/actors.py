"""Who is acting: every write names an actor, which the audit log and transitions record."""

from __future__ import annotations

from dataclasses import dataclass

from fieldservice.roles import Role


@dataclass(frozen=True, slots=True)
class Actor:
    """A logged-in user, or a trusted code path (the CLI, the health rules) acting as itself.

    System actors pass every role check: they are code the operator runs, not API callers.
    """

    name: str
    user_pk: int | None = None
    role: Role | None = None

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(name=name)

    @property
    def is_system(self) -> bool:
        return self.user_pk is None
