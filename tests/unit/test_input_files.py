"""The request's input files: what the rules refuse (422 naming the file), what is too
large (413), and what is decoded for the working directory (src/input_files.py)."""

from __future__ import annotations

import base64

import pytest

from src.errors import InvalidRequest, PayloadTooLarge
from src.input_files import decode_input_files, path_problem
from src.schemas import InputFile
from src.settings import Settings


def settings(**overrides: object) -> Settings:
    return Settings(api_token="t", **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("", "empty"),
        ("/etc/passwd", "absolute"),
        ("../secret", '".."'),
        ("a/../../b", '".."'),
        ("a//b", "empty"),
        ("a/", "empty"),
        ("./a", '"."'),
        ("a\\b", "backslash"),
        ("a\x00b", "control"),
        ("a\nb", "control"),
        ("\ud800", "Unicode"),
        ("/".join("d" * 9), "9 levels"),
        ("x" * 300, "300 characters"),
        ("d/" + "x" * 256, "255 bytes"),
    ],
)
def test_a_path_outside_the_rules_is_refused_with_why(path: str, why: str) -> None:
    max_chars = 255 if path == "x" * 300 else 1000
    problem = path_problem(path, max_chars=max_chars, max_depth=8)
    assert problem is not None and why in problem, problem


@pytest.mark.parametrize("path", ["data.csv", "out/report.txt", "a/b/c/d/e/f/g/h", "naïve.txt", ".hidden", "a b"])
def test_ordinary_paths_pass(path: str) -> None:
    assert path_problem(path, max_chars=255, max_depth=8) is None


def test_files_are_decoded_in_order() -> None:
    files = [
        InputFile(path="data.csv", content="a,b\n1,2\n"),
        InputFile(path="img/x.bin", content=base64.b64encode(b"\x00\xff").decode(), encoding="base64"),
    ]
    decoded = decode_input_files(files, settings())
    assert [(f.path, f.data) for f in decoded] == [("data.csv", b"a,b\n1,2\n"), ("img/x.bin", b"\x00\xff")]


def test_every_refused_file_is_named_in_one_answer() -> None:
    files = [
        InputFile(path="a", content="x"),
        InputFile(path="../b", content="x"),
        InputFile(path="a/c", content="x"),
        InputFile(path="d", content="not base64!", encoding="base64"),
        InputFile(path="e", content="x"),
        InputFile(path="e", content="y"),
    ]
    with pytest.raises(InvalidRequest) as refused:
        decode_input_files(files, settings())
    details = refused.value.detail
    assert [(d["loc"][2], d["loc"][3]) for d in details] == [(0, "path"), (1, "path"), (3, "content"), (5, "path")]
    messages = [d["msg"] for d in details]
    assert messages[0] == "file 'a': file 2 needs it to be a directory"
    assert "'../b'" in messages[1] and '".."' in messages[1]
    assert messages[2] == "file 'd': the content is not base64"
    assert messages[3] == "file 'e': the same path as file 4"


def test_too_many_files_is_a_422() -> None:
    files = [InputFile(path=f"f{i}", content="") for i in range(3)]
    with pytest.raises(InvalidRequest) as refused:
        decode_input_files(files, settings(max_files=2))
    assert refused.value.detail[0]["msg"] == "3 files were sent; at most 2 are allowed"


def test_a_file_over_its_limit_is_a_413_naming_it() -> None:
    with pytest.raises(PayloadTooLarge, match=r"file 'big.txt' is 2,000 bytes; the limit is 1,024"):
        decode_input_files([InputFile(path="big.txt", content="x" * 2000)], settings(max_file_bytes=1024))


def test_files_over_their_total_are_a_413() -> None:
    files = [InputFile(path=f"f{i}", content="x" * 1000) for i in range(3)]
    with pytest.raises(PayloadTooLarge, match=r"the files are 3,000 bytes in all; the limit is 2,048"):
        decode_input_files(files, settings(max_file_bytes=1024, max_files_bytes=2048))


def test_a_long_refused_path_is_quoted_short() -> None:
    with pytest.raises(InvalidRequest) as refused:
        decode_input_files([InputFile(path="/" + "x" * 500, content="")], settings())
    assert len(refused.value.detail[0]["msg"]) < 200
