"""`python -m serving [--host H] [--port P]`: run the app under uvicorn (one worker)."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    """Parse the listen address, build the app from MLPIN_* settings, serve until stopped."""
    import uvicorn

    from serving.app import create_app

    parser = argparse.ArgumentParser(prog="python -m serving", description="Serve the models the pin names.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
