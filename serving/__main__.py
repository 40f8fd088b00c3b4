"""`python -m serving [--host H] [--port P] [--workers N]`: run the app under uvicorn.

The one place logging is configured (MLPIN_LOG_FORMAT, MLPIN_LOG_LEVEL, MLPIN_ACCESS_LOG),
before anything logs; the `start` line shows the settings without secrets.

With one worker (the default) the app runs in this process. With N > 1 this process
binds the port and supervises N spawned workers (uvicorn's multiprocess supervisor,
restarting any that dies); each builds the app from MLPIN_* itself (`create_app` as a
factory), so `--workers` is handed to them as MLPIN_WORKERS.
"""

from __future__ import annotations

import argparse
import os
import time

from pipelines.argtypes import whole_number


def main(argv: list[str] | None = None) -> None:
    """Parse the listen address, build the app from MLPIN_* settings, serve until stopped."""
    started_at = time.monotonic()
    import uvicorn

    from pipelines import __version__
    from serving.logs import configure, event, settings_fields
    from serving.server import LoggedServer, Supervisor
    from serving.settings import load_settings

    parser = argparse.ArgumentParser(prog="python -m serving", description="Serve the models the pin names.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=worker_count, metavar="N",
                        help=f"worker processes on the port, 1 to {MAX_WORKERS} (default: MLPIN_WORKERS, else 1)")
    args = parser.parse_args(argv)
    if args.workers is not None:
        os.environ["MLPIN_WORKERS"] = str(args.workers)  # the workers read their settings from the environment
    settings = load_settings()
    configure(settings)
    event("start", version=__version__, pid=os.getpid(), host=args.host, port=args.port, **settings_fields(settings))
    listen = {"host": args.host, "port": args.port, "log_config": None, "access_log": settings.access_log}
    if settings.workers == 1:
        from serving.app import create_app

        LoggedServer(uvicorn.Config(create_app(settings), **listen), started_at=started_at).run()
        return
    config = uvicorn.Config("serving.app:create_app", factory=True, workers=settings.workers, **listen)
    Supervisor(config, [config.bind_socket()], started_at=started_at).run()


MAX_WORKERS = 64  # serving.settings.Settings.workers' bound


worker_count = whole_number(1, MAX_WORKERS)  # `--workers`


if __name__ == "__main__":
    main()
