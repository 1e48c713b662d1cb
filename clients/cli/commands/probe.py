"""`posctl probe PORT`: what is on a serial port, asked with the daemon stopped. The one
command that talks to hardware itself (drivers are imported by it only)."""

from __future__ import annotations

import argparse
from typing import Any

from clients.cli.commands import command
from clients.cli.failure import EXIT_CONNECT, EXIT_DEVICE, EXIT_ERROR, EXIT_OK, Failure
from clients.cli.output import dumps, err, out


def cmd_probe(args: argparse.Namespace) -> Any:
    async def body() -> int:
        try:
            from drivers.base import TransportError
            from drivers.probe import probe
        except ImportError as exc:
            raise Failure(EXIT_ERROR, f"probe needs the drivers package: {exc}") from None
        err(f"probing {args.port} (listening, then asking; nothing is changed on the device)")
        try:
            findings = await probe(args.port)
        except TransportError as exc:
            raise Failure(
                EXIT_CONNECT,
                f"cannot open {args.port}: {exc} (is the daemon still running and holding it?)",
            ) from None
        if args.json:
            out(dumps([f.as_dict() for f in findings]))
        elif not findings:
            out(f"{args.port}: nothing answered")
        else:
            for f in findings:
                s = f.settings
                out(f"{args.port}: {f.kind} ({f.driver or 'unknown driver'}) at "
                     f"{s.baudrate} {s.bytesize}{s.parity}{getattr(s, 'stopbits', 1)}")
                out(f"  {f.detail}")
                if f.answer:
                    out(f"  answer: {f.answer[:32].hex(' ')}")
                if f.driver:
                    out("  config:\n" + "".join(
                        f"    {line}\n" for line in f.config_toml(args.port).splitlines()
                    ).rstrip("\n"))
        known = [f for f in findings if f.driver]
        return EXIT_OK if known else EXIT_DEVICE

    return body()



def register(sub: Any) -> None:
    pr = command(sub, "probe", help="find out what is on a serial port (daemon stopped)",
                 examples=["posctl probe /dev/ttyUSB0"])
    pr.add_argument("port", help="e.g. /dev/ttyUSB0 or /dev/pos/scale")
    pr.set_defaults(fn=cmd_probe)
