"""The data tier against a real server: numpy, pandas and matplotlib programs answer with
their results, the files they wrote and their open figures as PNG images, over HTTP and
MCP; /health says the tier is on and which versions; with the tier off the same imports
are refused as any module outside the allow-list is (docs/data.md)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator

import httpx
import pytest

pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

from tests.e2e.test_mcp import mcp_session
from tests.support.server import LiveServer, run_server

CHART = """
import matplotlib.pyplot as plt
import pandas as pd
sales = pd.read_csv("sales.csv")
totals = sales.groupby("team")["amount"].sum()
totals.plot(kind="bar", figsize=(4, 3))
totals.to_csv("totals.csv")
totals.to_dict()
"""
SALES = "team,amount\na,3\nb,1\na,2\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with run_server(tmp_path_factory.mktemp("data"), {"EXECUTOR_DATA_TIER_ENABLED": "true"}) as running:
        yield running


def test_a_chart_comes_back_as_a_figure_and_the_csv_as_a_file(server: LiveServer) -> None:
    reply = server.reply(CHART, files=[{"path": "sales.csv", "content": SALES}])
    assert reply["success"] is True, reply
    assert reply["result"] == {"a": 5, "b": 1}
    assert [(f["path"], f["encoding"], f["content"]) for f in reply["files"]] == [
        ("totals.csv", "utf-8", "team,amount\na,5\nb,1\n")
    ]
    [figure] = reply["figures"]
    assert (figure["media_type"], figure["width"], figure["height"]) == ("image/png", 400, 300)
    assert base64.b64decode(figure["content"]).startswith(b"\x89PNG\r\n\x1a\n")


def test_a_refusal_names_the_family(server: LiveServer) -> None:
    reply = server.reply("import numpy as np\nnp.zeros(2).ctypes")
    assert reply["error"]["type"] == "SecurityError"
    assert "'ndarray.ctypes' is not offered" in reply["error"]["message"]
    server.assert_still_serves()


def test_health_says_the_tier_is_on_with_its_versions(server: LiveServer) -> None:
    checks = httpx.get(server.url + "/health", timeout=10).json()["checks"]
    tier = checks["data_tier"]
    assert tier["enabled"] is True and tier["template_alive"] is True
    assert set(tier["versions"]) == {"numpy", "pandas", "matplotlib"}


def test_over_mcp_the_figure_is_an_image_the_model_sees(server: LiveServer) -> None:
    async def scenario() -> object:
        async with mcp_session(server) as session:
            return await session.call_tool(
                "run_python", {"code": CHART, "files": [{"path": "sales.csv", "content": SALES}]}
            )

    result = asyncio.run(scenario())
    assert result.is_error is False, result.content  # type: ignore[attr-defined]
    kinds = [content.type for content in result.content]  # type: ignore[attr-defined]
    assert kinds.count("image") == 1
    image = next(content for content in result.content if content.type == "image")  # type: ignore[attr-defined]
    assert image.mime_type == "image/png" and base64.b64decode(image.data).startswith(b"\x89PNG")


def test_with_the_tier_off_the_imports_are_refused_and_health_says_so(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with run_server(tmp_path_factory.mktemp("off")) as off:
        response = off.execute("import pandas as pd\npd.DataFrame()")
        assert response.status_code == 400
        assert "import of 'pandas' is not allowed" in response.text
        assert httpx.get(off.url + "/health", timeout=10).json()["checks"]["data_tier"]["enabled"] is False


def test_a_session_keeps_a_dataframe_across_calls_and_shows_each_calls_figures_once(server: LiveServer) -> None:
    with server.client() as http:
        created = http.post("/sessions")
        assert created.status_code == 201 and created.json()["data_libraries"] is True
        assert created.json()["limits"]["memory_mb"] >= 1024  # the data tier's address space
        session = f"/sessions/{created.json()['session_id']}/execute"
        steps = [
            "import pandas as pd\nimport matplotlib.pyplot as plt\n"
            "sales = pd.DataFrame({'team': ['a', 'b', 'a'], 'amount': [3.0, 1.5, 2.0]})",
            "totals = sales.groupby('team')['amount'].sum()\ntotals.to_dict()",
            "fig, ax = plt.subplots(figsize=(2, 2), dpi=50)\nax.bar(list(totals.index), list(totals.values))",
            "len(plt.get_fignums())",
        ]
        replies = [http.post(session, json={"code": code}).json() for code in steps]
        assert http.delete(session.removesuffix("/execute")).status_code == 204
    assert all(reply["success"] for reply in replies), replies
    assert replies[1]["result"] == {"a": 5.0, "b": 1.5}
    assert [len(reply["figures"]) for reply in replies] == [0, 0, 1, 0]
    # Shown once, then closed, as a notebook shows a cell's figures.
    assert replies[3]["result"] == 0


def test_a_session_without_the_data_libraries_when_asked(server: LiveServer) -> None:
    with server.client() as http:
        created = http.post("/sessions", json={"data_libraries": False})
        assert created.status_code == 201 and created.json()["data_libraries"] is False
        session = f"/sessions/{created.json()['session_id']}/execute"
        reply = http.post(session, json={"code": "import pandas"}).json()
        assert http.delete(session.removesuffix("/execute")).status_code == 204
    assert reply["success"] is False and reply["error"]["type"] in ("ModuleNotFoundError", "ImportError")
