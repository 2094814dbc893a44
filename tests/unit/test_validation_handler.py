"""The application's handler for FastAPI's RequestValidationError.

FastAPI's own handler answers a 422 whose errors carry the offending ``input``: a body a
client sent (a token pasted in the wrong field, a secret) would come back verbatim, and
into any log or proxy that records responses. The service's handler keeps only where
and what. /execute parses its body itself, so no route of the service reaches this
handler today: a route added to the real application here, with a pydantic body, does.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field

from src.app import create_app
from tests.support.server import make_settings

CANARY = "canary-5e1d7a93-input"


class Probe(BaseModel):
    count: int
    name: str = Field(max_length=4)


async def _probe(probe: Probe) -> dict[str, int]:
    return {"count": probe.count}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    app = create_app(make_settings())
    app.add_api_route("/test-only/probe", _probe, methods=["POST"])
    return app


def post(app: FastAPI, body: dict[str, Any]) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post("/test-only/probe", json=body)

    return asyncio.run(send())


def test_the_probe_route_answers_a_valid_body(app: FastAPI) -> None:
    # Without this, a 422 below could come from the route not being there at all.
    response = post(app, {"count": 3, "name": "ok"})
    assert (response.status_code, response.json()) == (200, {"count": 3})


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        pytest.param({"count": CANARY, "name": "ok"}, ["body", "count"], id="not-an-int"),
        pytest.param({"count": 1, "name": CANARY}, ["body", "name"], id="too-long"),
    ],
)
def test_a_validation_error_names_where_and_what_but_not_the_input(
    app: FastAPI, body: dict[str, Any], loc: list[str]
) -> None:
    response = post(app, body)
    assert response.status_code == 422
    assert CANARY not in response.text
    detail = response.json()["detail"]
    assert [sorted(error) for error in detail] == [["loc", "msg", "type"]]
    assert detail[0]["loc"] == loc
    assert isinstance(detail[0]["msg"], str) and detail[0]["msg"]
    assert isinstance(detail[0]["type"], str) and detail[0]["type"]
