"""The gateway as `bench/peer.py` measures it: the app of `bench/graphql_http_server.py` (the
real `create_app`, same middleware, same settings) plus a floor served by the same process.

    POST /bench/keep/{name}   stores the request's body (an answer the gateway gave) as is
    POST /bench/bytes/{name}  answers those bytes (pre-serialised: the HTTP ceiling)

`bench/peer.py` asks `/graphql` once for each answer it needs a floor for, hands the bytes to
`/bench/keep/...`, and checks `/bench/bytes/...` returns them unchanged. Not for production.
Run alone (debugging): `.venv/bin/python bench/peer_server.py --port 8766` with the environment
that `bench/peer.py` prints.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.graphql_http_server import bench_app, serve
from ordergate.settings import Settings

NOT_KEPT = b'{"errors":[{"message":"nothing kept under this name"}]}'


def floor_routes() -> list[Route]:
    kept: dict[str, bytes] = {}

    async def keep(request: Request) -> Response:
        name = request.path_params["name"]
        kept[name] = await request.body()
        return JSONResponse({name: len(kept[name])})

    async def answer(request: Request) -> Response:
        await request.body()  # the client sends its GraphQL request; read it as the view does
        body = kept.get(request.path_params["name"])
        if body is None:
            return Response(NOT_KEPT, status_code=503, media_type="application/json")
        return Response(body, media_type="application/json")

    endpoints: list[tuple[str, Callable[[Request], Awaitable[Response]]]] = [
        ("/bench/keep/{name}", keep),
        ("/bench/bytes/{name}", answer),
    ]
    return [Route(path, endpoint, methods=["POST"]) for path, endpoint in endpoints]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    app, _services = bench_app(Settings.from_env())
    app.router.routes[:0] = floor_routes()
    serve(app, args.host, args.port)


if __name__ == "__main__":
    main()
