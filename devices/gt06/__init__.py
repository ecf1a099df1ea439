"""GT06 (Concox family): framing (:mod:`~devices.gt06.frame`), message tables and codecs
(:mod:`~devices.gt06.messages`) and the per-connection decoder (:class:`Gt06Stream`)."""

from devices.gt06.frame import MAX_FRAME, Packet, build, crc_itu, parse
from devices.gt06.messages import Proto
from devices.gt06.stream import Gt06Stream

__all__ = ["MAX_FRAME", "Gt06Stream", "Packet", "Proto", "build", "crc_itu",
           "parse"]
