"""Why bytes, a line, a frame or an epoch were not turned into a record.

Decoders never raise on input: every refusal is counted under one of these reasons, so the
gateway's metrics and ``fieldgate decode`` can say exactly what was thrown away and why.
"""

from __future__ import annotations

import enum


class Reject(enum.StrEnum):
    OVERLONG = "overlong"  #: line longer than the stream's limit (wiring noise, wrong baud rate)
    NO_SENTENCE = "no_sentence"  #: a line without any ``$``: garbage, binary noise
    BAD_CHECKSUM = "bad_checksum"  #: ``*hh`` present and wrong
    MALFORMED = "malformed"  #: too few fields, unparsable numbers, out-of-range values
    UNDATED = "undated"  #: a valid epoch before any RMC/ZDA told the date
    LATE = "late"  #: a sentence for an epoch already emitted (receiver changed its order)
    # binary protocols (JT/T 808, GT06)
    NO_FRAME = "no_frame"  #: bytes outside any frame (line noise, another protocol on the port)
    TRUNCATED = "truncated"  #: a frame shorter than its header or than the length it declares
    UNSUPPORTED = "unsupported"  #: a body the gateway cannot read (encrypted, unknown version)
