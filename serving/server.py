"""uvicorn's Server (and, with `--workers N`, its supervisor), telling serving's log when it
listens and when it has stopped.

uvicorn's own lines for these are info-level chatter in its format; these are the
`listening` and `shutdown` events. With several workers every event of a worker
carries `worker=<pid>` (its `listening` and `shutdown` included), and the supervisor
logs the last `shutdown`. Nothing else about serving HTTP changes here.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import time
from types import FrameType

import uvicorn
from uvicorn.supervisors import multiprocess

from serving.logs import event


class LoggedServer(uvicorn.Server):
    """A uvicorn Server that logs `listening` once bound and `shutdown` once the app has stopped."""

    def __init__(self, config: uvicorn.Config, *, started_at: float) -> None:
        super().__init__(config)
        self.started_at = started_at  # time.monotonic() at process start, for the uptime
        self.stop_signal: str | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Bind and start the app; then log each address it listens on."""
        # The app is built by now and its modules live as long as the process: kept out of
        # the collector's full passes, which otherwise walk them all and stall every request
        # (~0.3 s during a large batch). Here, so each worker process freezes its own.
        gc.freeze()
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


class LoggedWorker(multiprocess.Process):
    """One worker process of the supervisor: serving's logging, then a LoggedServer on the shared socket."""

    @property
    def server(self) -> uvicorn.Server:
        """The worker's server (made inside the worker process, when first asked for)."""
        if self._server is None:
            self._server = LoggedServer(self.config, started_at=time.monotonic())
        return self._server

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover - in the worker
        """Configure serving's log in this fresh (spawned) interpreter, which inherits none of it; then serve."""
        from serving.logs import configure
        from serving.settings import load_settings

        configure(load_settings())
        _name_worker(os.getpid())
        super().target(sockets)


def _name_worker(pid: int) -> None:
    """Every serving event of this worker carries `worker=<pid>`: several workers share one stderr."""
    def add(record: logging.LogRecord) -> bool:
        if getattr(record, "event", None):
            record.fields = {**getattr(record, "fields", {}), "worker": pid}
        return True

    for handler in logging.getLogger().handlers:
        handler.addFilter(add)


class Supervisor(multiprocess.Multiprocess):
    """uvicorn's multiprocess supervisor with LoggedWorker processes, logging its own `shutdown` last.

    uvicorn has no setting for the class of its worker processes: it names `Process` in its
    module, so that name points at LoggedWorker while the supervisor runs (in this process only)."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket], *, started_at: float) -> None:
        super().__init__(config, sockets)
        self.started_at = started_at
        self.stop_signal: str | None = None

    def run(self) -> None:
        """Start the workers, restart any that die, stop them all on SIGINT/SIGTERM; then log `shutdown`."""
        original, multiprocess.Process = multiprocess.Process, LoggedWorker
        try:
            super().run()
        finally:
            multiprocess.Process = original
        event("shutdown", signal=self.stop_signal, uptime_s=round(time.monotonic() - self.started_at, 1),
              workers=self.processes_num)

    def handle_int(self) -> None:
        self.stop_signal = self.stop_signal or "SIGINT"
        super().handle_int()

    def handle_term(self) -> None:
        self.stop_signal = self.stop_signal or "SIGTERM"
        super().handle_term()


def address(sock: socket.socket, *, tls: bool) -> str:
    """The URL of a listening socket: scheme://host:port (IPv6 in brackets), or the unix socket's path."""
    name = sock.getsockname()
    if isinstance(name, str | bytes):
        return f"unix:{name!s}"
    host, port = name[0], name[1]
    host = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{host}:{port}"
