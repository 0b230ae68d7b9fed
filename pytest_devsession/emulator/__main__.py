"""python -m pytest_devsession.emulator [options] [-- COMMAND ...]

Without a command: serve the emulated HeadSpin API until Ctrl-C.
With a command: serve it while COMMAND runs with HEADSPIN_API_URL, HEADSPIN_API_TOKEN,
DEVSESSION_BACKEND and DEVSESSION_DEVICES pointing at it, then exit with its code.
``--service lambdatest`` serves the emulated LambdaTest instead (``lambdatest/cli.py``), ``--service devrev``
DevRev's observability API (``devrev/cli.py``).
"""

from __future__ import annotations

import argparse
import secrets
import sys

from .launch import serve, where_secret, write_secret


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_devsession.emulator",
        description="Serve an offline emulation of the HeadSpin API; with '-- COMMAND ...', "
                    "run COMMAND against it and exit with its exit code.",
    )
    parser.add_argument("--service", choices=SERVICES, default="headspin",
                        help="the service to emulate (default: headspin); '--service lambdatest --help' "
                             "lists LambdaTest's options, '--service devrev --help' DevRev's")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: 0, any free port)")
    parser.add_argument("--token", help="API token to accept (default: a random one)")
    parser.add_argument("--token-file", help="write the accepted token to this file (mode 0600)")
    parser.add_argument("--device", action="append", default=[], metavar="ID@HOST[:TYPE[:SERIAL]]",
                        help="a device to serve, addressed ID@HOST: TYPE android (default; ID is its serial), "
                             "ios (ID is its UDID; SERIAL its serial where that differs), roku or desktop "
                             "(lockable only by id); repeatable (default: two Android devices and one iOS device)")
    parser.add_argument("--ready-delay", type=float, default=0.05, metavar="S",
                        help="seconds a capture takes to start (default: 0.05)")
    parser.add_argument("--complete-delay", type=float, default=0.05, metavar="S",
                        help="seconds a capture takes to complete after a stop (default: 0.05)")
    parser.add_argument("--cooldown", type=float, default=0.0, metavar="S",
                        help="seconds after a capture on a device is stopped during which a new capture there "
                             "answers 500 'Error starting session.' (default: 0, off)")
    parser.add_argument("--video-metadata-delay", type=float, default=0.0, metavar="S",
                        help="seconds after capture-complete during which a session's video metadata answers 404 "
                             "(default: 0)")
    parser.add_argument("--no-basic-auth", dest="basic_auth", action="store_false",
                        help="accept the token only as 'Authorization: Bearer', not as HTTP Basic credentials")
    parser.add_argument("--latency", type=float, default=0.0, metavar="S",
                        help="seconds added to every API round trip, like a service far away (default: 0)")
    parser.add_argument("--bandwidth", type=_amount, default=None, metavar="BYTES",
                        help="bytes per second of all downloads together, k/M/G decimal suffixes allowed, "
                             "e.g. 40M (default: unlimited)")
    parser.add_argument("--video-bytes", type=_amount, default=None, metavar="BYTES",
                        help="size of a complete capture's video, e.g. 20M (default: a 1 s clip of about 2.5 kB)")
    return parser


_SUFFIXES = {"k": 10**3, "m": 10**6, "g": 10**9}
SERVICES = ("headspin", "lambdatest", "devrev")


def _take_service(argv: list) -> tuple[str, list]:
    """The --service value (default headspin) and the options without it."""
    rest, service, index = [], "headspin", 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--service" and index + 1 < len(argv):
            service, index = argv[index + 1], index + 2
            continue
        if arg.startswith("--service="):
            service = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        index += 1
    return service, rest


def _amount(text: str) -> int:
    """A whole number of bytes, with an optional decimal k/M/G suffix: 40M is 40,000,000."""
    number, scale = text.strip(), 1
    if number[-1:].lower() in _SUFFIXES:
        number, scale = number[:-1], _SUFFIXES[number[-1].lower()]
    try:
        return round(float(number) * scale)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"not a number of bytes: {text!r}") from None




def main(argv: list | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = []
    if "--" in argv:
        split = argv.index("--")
        argv, command = argv[:split], argv[split + 1:]
    service, options = _take_service(argv)
    if service == "lambdatest":
        from .lambdatest.cli import main as lambdatest_main

        return lambdatest_main(options, command)
    if service == "devrev":
        from .devrev.cli import main as devrev_main

        return devrev_main(options, command)
    parser = _parser()
    args = parser.parse_args(argv)

    from .server import HeadSpinEmulator

    token = args.token or secrets.token_hex(16)
    try:
        emulator = HeadSpinEmulator(args.host, args.port, token, args.ready_delay, args.complete_delay,
                                    devices=args.device or None, latency=args.latency,
                                    bandwidth=args.bandwidth, video_bytes=args.video_bytes, cooldown=args.cooldown,
                                    video_metadata_delay=args.video_metadata_delay, basic_auth=args.basic_auth)
    except ValueError as exc:
        parser.error(str(exc))
    if args.token_file:
        write_secret(args.token_file, token)
    return serve(emulator, f"{args.host}:{args.port}", command,
                 lambda: {"HEADSPIN_API_URL": emulator.url,
                          "HEADSPIN_UI_URL": emulator.ui_url,  # session links lead to the emulator, not to HeadSpin
                          "HEADSPIN_API_TOKEN": token, "DEVSESSION_BACKEND": "headspin",
                          "DEVSESSION_DEVICES": "\n".join(emulator.devices)},
                 lambda: f"HeadSpin emulator at {emulator.url} serving {', '.join(emulator.devices)}; "
                         f"set HEADSPIN_API_URL={emulator.url} HEADSPIN_UI_URL={emulator.ui_url} and "
                         f"HEADSPIN_API_TOKEN to {where_secret(bool(args.token), args.token_file, 'token', '--token')}."
                         " Ctrl-C stops it.")


if __name__ == "__main__":
    sys.exit(main())
