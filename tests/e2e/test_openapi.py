"""/docs and /openapi.json on a real server: Swagger UI served by the service itself (no
CDN), and examples that are what the service really answers."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from src.api.openapi_examples import (
    EXAMPLE_ANSWER,
    EXAMPLE_ERROR_ANSWER,
    EXAMPLE_REQUEST,
    REFUSED_CODE,
    WRONG_TYPE_BODY,
)
from tests.support.server import TOKEN, LiveServer


@pytest.fixture(scope="module")
def spec(live_server: LiveServer) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(live_server.url + "/openapi.json").json()
    return document


def examples(spec: dict[str, Any], status: str) -> dict[str, Any]:
    content = spec["paths"]["/execute"]["post"]["responses"][status]["content"]["application/json"]
    found: dict[str, Any] = content["examples"]
    return found


def test_the_docs_page_loads_nothing_from_another_origin(live_server: LiveServer) -> None:
    page = httpx.get(live_server.url + "/docs")
    assert page.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls  # the script, the styles and the icon
    assert [url for url in urls if not url.startswith("/")] == []
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_every_asset_of_the_docs_page_is_served_by_the_service(live_server: LiveServer) -> None:
    page = httpx.get(live_server.url + "/docs").text
    for url in re.findall(r'(?:src|href)="(/[^"]+)"', page):
        asset = httpx.get(live_server.url + url)
        assert (url, asset.status_code) == (url, 200)
        assert len(asset.content) > 1000


def test_both_ways_of_sending_the_token_are_documented(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["APIKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Executor-Token",
        "description": "the service's shared secret",
    }
    assert schemes["HTTPBearer"]["scheme"] == "bearer"


def test_the_request_example_is_a_real_request(spec: dict[str, Any]) -> None:
    body = spec["paths"]["/execute"]["post"]["requestBody"]["content"]["application/json"]
    assert body["examples"]["compute"]["value"] == EXAMPLE_REQUEST
    assert "additionalProp1" not in str(body)


@pytest.mark.parametrize(
    ("request_body", "answer"),
    [
        pytest.param(EXAMPLE_REQUEST, EXAMPLE_ANSWER, id="compute"),
        pytest.param({"code": "1 / 0"}, EXAMPLE_ERROR_ANSWER, id="raise"),
    ],
)
def test_the_answer_examples_are_what_the_service_answers(
    live_server: LiveServer, spec: dict[str, Any], request_body: dict[str, Any], answer: dict[str, Any]
) -> None:
    assert answer in [example["value"] for example in examples(spec, "200").values()]
    real = live_server.execute(**request_body).json()
    unique = ("request_id", "duration_ms")
    assert {k: v for k, v in real.items() if k not in unique} == {k: v for k, v in answer.items() if k not in unique}


def test_the_400_example_is_the_validators_answer(live_server: LiveServer, spec: dict[str, Any]) -> None:
    real = live_server.execute(REFUSED_CODE)
    assert real.status_code == 400
    assert examples(spec, "400")["import-os"]["value"] == real.json()


def test_the_401_example_is_the_answer_to_a_wrong_token(live_server: LiveServer, spec: dict[str, Any]) -> None:
    real = httpx.post(live_server.url + "/execute", json={"code": "1"}, headers={"X-Executor-Token": "nope"})
    assert real.status_code == 401
    assert examples(spec, "401")["wrong-token"]["value"] == real.json()


def test_the_422_example_is_the_answer_to_a_wrong_type(live_server: LiveServer, spec: dict[str, Any]) -> None:
    real = httpx.post(
        live_server.url + "/execute",
        content=WRONG_TYPE_BODY,
        headers={"X-Executor-Token": TOKEN, "Content-Type": "application/json"},
    )
    assert real.status_code == 422
    assert examples(spec, "422")["wrong-type"]["value"] == real.json()


@pytest.mark.parametrize("status", ["408", "413", "429", "503"])
def test_every_refusal_has_an_example_in_the_contracts_shape(spec: dict[str, Any], status: str) -> None:
    for example in examples(spec, status).values():
        assert isinstance(example["value"]["detail"], str)
        assert example["value"]["detail"] != "string"


def test_the_session_routes_are_documented_with_their_refusals(spec: dict[str, Any]) -> None:
    paths = spec["paths"]
    assert set(paths["/sessions"]) == {"post"}
    assert set(paths["/sessions/{session_id}"]) == {"get", "delete"}
    create = paths["/sessions"]["post"]
    assert create["requestBody"]["required"] is False
    assert "data_libraries" in create["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert {"201", "404", "410", "429"} <= set(create["responses"]) | {"201"}
    call = paths["/sessions/{session_id}/execute"]["post"]
    assert call["requestBody"]["content"]["application/json"]["schema"]["properties"]["code"]
    for status in ("404", "410", "429", "400", "413", "422"):
        assert status in call["responses"], status
