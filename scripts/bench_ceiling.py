"""The ceiling server of scripts/bench_serving: what uvicorn + FastAPI alone can answer here.

`POST /predict` and `POST /invocations` read the body, parse it (orjson, as mlpin does
in the common case) into the same shape mlpin predicts on (a list of records; MLflow's
`dataframe_records` unwrapped) and answer a constant: no model, no checks, no
prediction log. The same uvicorn defaults as `python -m serving` (one worker, uvloop and
httptools where installed). mlpin's requests/s as a share of this server's is how close
mlpin is to the framework's limit on the machine that ran the benchmark.

Usage: .venv/bin/python scripts/bench_ceiling.py [--port 18083]
"""

from __future__ import annotations

import argparse
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response


def create_app() -> FastAPI:
    """The bare app: two routes, each parsing its body into records and answering a constant."""
    app = FastAPI()
    constant = orjson.dumps({"predictions": [0]})

    def records(payload: Any) -> list:
        if isinstance(payload, dict) and "dataframe_records" in payload:
            payload = payload["dataframe_records"]
        return payload if isinstance(payload, list) else [payload]

    @app.post("/predict")
    @app.post("/invocations")
    async def answer(request: Request) -> Response:
        records(orjson.loads(await request.body()))
        return Response(constant, media_type="application/json")

    @app.get("/ping")
    async def ping() -> Response:
        return Response(b"{}", media_type="application/json")

    return app


def main(argv: list[str] | None = None) -> None:
    """Serve the ceiling app on 127.0.0.1 until stopped."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18083)
    args = parser.parse_args(argv)
    uvicorn.run(create_app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
