"""`python -m serving [--host H] [--port P]`: run the app under uvicorn (one worker).

The one place logging is configured (MLPIN_LOG_FORMAT, MLPIN_LOG_LEVEL, MLPIN_ACCESS_LOG),
before anything logs; the `start` line shows the settings without secrets.
"""

from __future__ import annotations

import argparse
import gc
import os
import time


def main(argv: list[str] | None = None) -> None:
    """Parse the listen address, build the app from MLPIN_* settings, serve until stopped."""
    started_at = time.monotonic()
    import uvicorn

    from pipelines import __version__
    from serving.app import create_app
    from serving.logs import configure, event, settings_fields
    from serving.server import LoggedServer
    from serving.settings import load_settings

    parser = argparse.ArgumentParser(prog="python -m serving", description="Serve the models the pin names.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    settings = load_settings()
    configure(settings)
    event("start", version=__version__, pid=os.getpid(), host=args.host, port=args.port, **settings_fields(settings))
    config = uvicorn.Config(
        create_app(settings), host=args.host, port=args.port, log_config=None, access_log=settings.access_log
    )
    # Imported modules live as long as the process: kept out of the collector's full passes,
    # which otherwise walk them all and stall every request (~0.3 s during a large batch).
    gc.freeze()
    LoggedServer(config, started_at=started_at).run()


if __name__ == "__main__":
    main()
