"""uvicorn's Server, telling serving's log when it listens and when it has stopped.

uvicorn's own lines for these are info-level chatter in its format; these are the
`listening` and `shutdown` events. Nothing else about serving HTTP changes here.
"""

from __future__ import annotations

import signal
import socket
import time
from types import FrameType

import uvicorn

from serving.logs import event


class LoggedServer(uvicorn.Server):
    """A uvicorn Server that logs `listening` once bound and `shutdown` once the app has stopped."""

    def __init__(self, config: uvicorn.Config, *, started_at: float) -> None:
        super().__init__(config)
        self.started_at = started_at  # time.monotonic() at process start, for the uptime
        self.stop_signal: str | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Bind and start the app; then log each address it listens on."""
        await super().startup(sockets=sockets)
        if self.started:
            for server in self.servers:
                for sock in server.sockets:
                    event("listening", address=address(sock, tls=self.config.ssl is not None))

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Remember the first stop signal for the `shutdown` line."""
        self.stop_signal = self.stop_signal or signal.Signals(sig).name
        super().handle_exit(sig, frame)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop as uvicorn does (connections, then the app's lifespan); then log `shutdown`.

        Logged here, not after `run()` returns: uvicorn re-raises a caught SIGTERM at the end
        of `run()`, which ends the process before any code after it."""
        await super().shutdown(sockets=sockets)
        event("shutdown", signal=self.stop_signal, uptime_s=round(time.monotonic() - self.started_at, 1))


def address(sock: socket.socket, *, tls: bool) -> str:
    """The URL of a listening socket: scheme://host:port (IPv6 in brackets), or the unix socket's path."""
    name = sock.getsockname()
    if isinstance(name, str | bytes):
        return f"unix:{name!s}"
    host, port = name[0], name[1]
    host = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{host}:{port}"
