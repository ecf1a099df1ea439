"""``fieldgate decode FILE...``: raw captures to one JSON object per valid fix.

Reads each file (``-`` is standard input) in chunks as terminals wrote it: junk, binary noise,
any talker. NMEA by default: sentences of one navigation epoch are merged into one fix
(devices.nmea). ``--protocol jt808`` or ``gt06`` reads those frames, as binary or, with ``--hex``,
as hex text (one or more frames per line, ``#`` comments and spaces ignored); their fixes carry the
terminal id and a ``status`` object (alarms, ACC, mileage...); ``--model`` names the GT06
terminals' model where their reports differ by model (NT20, XT40, QH302R). Fixes go to stdout
as JSON lines, flushed after every chunk so that ``tail -f capture | fieldgate decode -`` shows
them as they come; the counts of sentences or messages read and rejected (by reason) go to
stderr at the end. Exit status 0 whatever the content; 1 when a file could not be read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import BinaryIO

from devices.gt06 import Gt06Stream
from devices.nmea import MAX_LINE, DecodeStats, NmeaStream
from devices.protocols import PROTOCOLS, ProtocolStream
from devices.records import Fix, Record
from devices.reject import Reject

#: bytes read at a time: memory stays constant whatever the capture's size
CHUNK = 64 * 1024


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "decode",
        help="decode raw captures (NMEA, JT/T 808, GT06) to JSON lines, one per fix",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="capture file, or - for stdin")
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), default="nmea",
                        help="the capture's wire protocol (default nmea)")
    parser.add_argument("--hex", action="store_true",
                        help="the capture is hex text (binary protocols): spaces, line breaks "
                             "and # comments ignored")
    parser.add_argument("--model", metavar="MODEL", default=None,
                        help="the terminals' model, where the protocol's layouts differ by "
                             "model (GT06: NT20, XT40, QH302R...)")
    parser.add_argument("--eager", action="store_true",
                        help="emit each epoch as soon as the receiver's learnt last sentence "
                             "arrives instead of when the next epoch starts (live streams)")
    parser.add_argument("--require-checksum", action="store_true",
                        help="reject sentences without *hh (accepted by default, as gpsd does)")
    parser.add_argument("--max-line", type=int, default=MAX_LINE, metavar="BYTES",
                        help=f"longest NMEA line accepted (default {MAX_LINE})")
    parser.set_defaults(func=run)


def decode_reader(reader: BinaryIO, emit: Callable[[list[Record]], None], *, stats: DecodeStats,
                  eager: bool = False, require_checksum: bool = False,
                  max_line: int = MAX_LINE, protocol: str = "nmea", hex: bool = False,
                  model: str | None = None) -> None:
    """Decode one capture chunk by chunk, handing each chunk's records to ``emit``."""
    stream: ProtocolStream
    if protocol == "nmea":
        stream = NmeaStream(eager=eager, require_checksum=require_checksum, max_line=max_line,
                            stats=stats)
    elif model is not None:  # checked by run(): GT06 is the protocol whose layouts differ
        stream = Gt06Stream(stats=stats, model=model)
    else:
        wire = PROTOCOLS[protocol]
        stream = wire.stream(stats, None, wire.limit, None)
    if hex:
        for line in reader:
            text = line.split(b"#", 1)[0].translate(None, b" \t\r\n")
            try:
                data = bytes.fromhex(text.decode("ascii"))
            except ValueError:  # not hex (or not ASCII): counted like noise on a wire
                stats.reject(Reject.NO_FRAME)
                continue
            emit(stream.feed(data))
            stream.take_output()
        emit(stream.flush())
        return
    read = getattr(reader, "read1", reader.read)  # read1: whatever a pipe has, without waiting
    while True:
        chunk = read(CHUNK)
        if not chunk:
            break
        emit(stream.feed(chunk))
        stream.take_output()  # replies: a capture has no one to send them to
    emit(stream.flush())


_OPTIONAL = ("speed_kn", "course", "alt_m", "sats", "hdop", "fix_quality", "mode")


def json_line(fix: Fix) -> str:
    """``json.dumps(fix.as_json())``, four times faster: the CLI prints one per fix.

    Numbers are finite floats and ints (the decoder refuses inf and nan), whose ``repr`` is
    their JSON form, as it is for the time string; the terminal id goes through json.dumps.
    """
    t = fix.time
    stamp = t.isoformat(timespec="milliseconds" if t.microsecond else "seconds")
    text = f'{{"time": "{stamp.replace("+00:00", "Z")}", "lat": {fix.lat!r}, "lon": {fix.lon!r}'
    for name in _OPTIONAL:
        value = getattr(fix, name)
        if value is not None:
            text += f', "{name}": {value!r}'
    if fix.terminal is not None:
        text += f', "terminal": {json.dumps(fix.terminal)}'
    return text + "}"


def _writer(out) -> Callable[[list[Record]], None]:
    def emit(records: list[Record]) -> None:
        lines = [json_line(r) if r.status is None else json.dumps(r.as_json(), ensure_ascii=False)
                 for r in records if isinstance(r, Fix)]
        if lines:
            out.write("\n".join(lines) + "\n")
            out.flush()
    return emit


def summary(stats: DecodeStats, unit: str = "sentences") -> str:
    types = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_type.items(), key=lambda kv: -kv[1]))
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(stats.rejected.items(),
                                                      key=lambda kv: -kv[1]))
    return (f"{stats.sentences} {unit} read" + (f" ({types})" if types else "")
            + f"; {stats.rejected_total} rejected" + (f" ({reasons})" if reasons else "")
            + f"; {stats.fixes} fixes; {stats.no_fixes} epochs without fix")


def run(args: argparse.Namespace) -> int:
    if args.max_line < 16:
        from fieldgate.cli import CLIError

        raise CLIError("--max-line must be at least 16")
    stats = DecodeStats()
    emit = _writer(sys.stdout)
    failed = 0
    if args.hex and args.protocol == "nmea":
        from fieldgate.cli import CLIError

        raise CLIError("--hex is for binary protocols (--protocol jt808 or gt06)")
    if args.model is not None and args.protocol != "gt06":
        from fieldgate.cli import CLIError

        raise CLIError("--model is for GT06 captures (--protocol gt06)")
    options = {"eager": args.eager, "require_checksum": args.require_checksum,
               "max_line": args.max_line, "protocol": args.protocol, "hex": args.hex,
               "model": args.model}
    try:
        for name in args.files:
            if name == "-":
                decode_reader(sys.stdin.buffer, emit, stats=stats, **options)
                continue
            try:
                reader = open(name, "rb")  # noqa: SIM115 - closed below, errors reported
            except OSError as exc:
                print(f"fieldgate decode: cannot read {name}: {exc.strerror or exc}",
                      file=sys.stderr)
                failed += 1
                continue
            with reader:
                try:
                    decode_reader(reader, emit, stats=stats, **options)
                except OSError as exc:  # a directory, a device that fails mid-read
                    print(f"fieldgate decode: cannot read {name}: {exc.strerror or exc}",
                          file=sys.stderr)
                    failed += 1
    except BrokenPipeError:
        # the reader went away (`| head`): not an error; keep Python from complaining at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    unit = "messages" if PROTOCOLS[args.protocol].binary else "sentences"
    print(f"fieldgate decode: {summary(stats, unit)}", file=sys.stderr)
    return 1 if failed else 0
