"""The demo web service: `/` says which release answers, `/health` checks the store."""

from __future__ import annotations

import os

from fastapi import FastAPI, Response
from redis import Redis
from redis.exceptions import RedisError

RELEASE = os.environ.get("APP_RELEASE", "dev")
STORE_URL = os.environ.get("STORE_URL", "redis://store:6379/0")
# A deliberately broken release (tests, demos of the rollback) reports itself unhealthy.
FORCE_UNHEALTHY = os.environ.get("APP_FORCE_UNHEALTHY", "") == "1"

app = FastAPI(title="conveyor-demo")
store = Redis.from_url(STORE_URL, socket_timeout=1.0, socket_connect_timeout=1.0)


@app.get("/")
def index() -> dict[str, str]:
    """Which release is serving, so a deploy or a rollback can be seen from outside."""
    hits = store.incr("hits")
    return {"service": "conveyor-demo", "release": RELEASE, "hits": str(hits)}


@app.get("/health")
def health(response: Response) -> dict[str, str]:
    """200 when the store answers PING, 503 otherwise (the container healthcheck uses it)."""
    if FORCE_UNHEALTHY:
        response.status_code = 503
        return {"status": "unhealthy", "reason": "APP_FORCE_UNHEALTHY=1"}
    try:
        store.ping()
    except RedisError as exc:
        response.status_code = 503
        return {"status": "unhealthy", "reason": f"store: {exc}"}
    return {"status": "ok", "release": RELEASE}
