"""JT/T 808 (2013 and 2019): framing (:mod:`~devices.jt808.frame`), message tables and codecs
(:mod:`~devices.jt808.messages`) and the per-connection decoder (:class:`Jt808Stream`)."""

from devices.jt808.frame import MAX_FRAME, Message, build, parse
from devices.jt808.messages import MsgId, RegisterResult, ReplyResult
from devices.jt808.stream import Jt808Stream

__all__ = ["MAX_FRAME", "Jt808Stream", "Message", "MsgId", "RegisterResult", "ReplyResult",
           "build", "parse"]
