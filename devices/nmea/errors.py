"""Why a line or an epoch was not turned into a record: :class:`devices.reject.Reject`, shared by
every wire protocol (kept importable from here)."""

from devices.reject import Reject

__all__ = ["Reject"]
