"""A real SMTP server on loopback that keeps every message it is sent as a file, for
the email test: `smtp-sink.py DIR [PORT]` listens on PORT (or a free one), prints
`port N` once ready, and writes each message to DIR/{n}.eml until it is killed. aiosmtpd (scripts/setup)."""

import asyncio
import pathlib
import socket
import sys

from aiosmtpd.controller import Controller


class Keep:
    def __init__(self, folder: pathlib.Path):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        partial = self.folder / f".{self.count}.eml"
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.rename(self.folder / f"{self.count}.eml")
        return "250 Message accepted"


def main():
    folder = pathlib.Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    if len(sys.argv) > 2:
        port = int(sys.argv[2])
    else:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    controller = Controller(Keep(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"port {port}", flush=True)
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
