"""Arguments the data libraries read as paths or run as format strings.

A path (``read_csv``, ``to_csv``, ``np.load``, ``savefig`` ...) is checked as ``open``
checks it (file_system.confined: inside the working directory, no link) and handed to the
library as ``./<path>``, which no library reads as a URL; a write counts against the files
limits first. A file object passes as it is (the program's own). A format string the
libraries run with the real ``str.format`` may name its values, never their attributes.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from typing import Any

from . import file_system
from .refusal import refused


def local_path(value: Any, function: str, writing: bool = False) -> Any:
    """A path for the library: ``./`` and the checked relative path; a file object as is."""
    if isinstance(value, (bytes, bytearray, int)) and not isinstance(value, bool):
        raise TypeError(f"{function}(): give a path (str) or a file object, not {type(value).__name__}")
    if isinstance(value, str) or hasattr(type(value), "__fspath__"):
        text = file_system.confined(value, function)
        if writing:
            file_system.before_creating(text, function, "file")
        return text if text.startswith("./") else f"./{text}"
    return value


def no_remote_options(function: str, kwargs: Mapping[str, Any]) -> None:
    if kwargs.get("storage_options") is not None:
        raise refused(f"{function}(): storage_options reach remote file systems, which the sandbox does not offer")
    compression = kwargs.get("compression")
    if type(compression) is dict and set(compression) - {"method"}:
        # The rest goes to the archive's open (tarfile's mode="w": a reader that writes).
        raise refused(f"{function}(): compression takes a method name only ('gzip', 'zip', ...)")


def reader(real: Callable[..., Any], name: str) -> Callable[..., Any]:
    def read(source: Any, *args: Any, **kwargs: Any) -> Any:
        no_remote_options(name, kwargs)
        return real(local_path(source, name), *args, **kwargs)

    read.__name__ = read.__qualname__ = name
    read.__doc__ = real.__doc__
    return read


def plain_format(value: Any, what: str) -> Any:
    """A format string the libraries run with the real ``str.format`` (a new-style
    ``float_format``, ``bar_label(fmt=)``): its fields may name positions and keywords and
    format them, never read an attribute or an item (``{0.__class__}``), which the sandbox
    refuses in the program's own format strings."""
    if isinstance(value, str) and "{" in value:
        try:
            fields = [field for _, field, _, _ in string.Formatter().parse(value) if field is not None]
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None
        if any("." in field or "[" in field for field in fields):
            raise refused(f"{what}: a format field names a value, never its attributes or items")
    return value


def writer_method(name: str, target: str, position: int = 0) -> Callable[[Any, Any], Any]:
    """An instance method whose ``target`` argument (at ``position``) may be a path."""

    def guard(receiver: Any, real: Any) -> Callable[..., Any]:
        def write(*args: Any, **kwargs: Any) -> Any:
            no_remote_options(name, kwargs)
            plain_format(kwargs.get("float_format"), f"{name}(float_format=)")
            if len(args) > position and args[position] is not None:
                args = (*args[:position], local_path(args[position], name, writing=True), *args[position + 1 :])
            elif kwargs.get(target) is not None:
                kwargs[target] = local_path(kwargs[target], name, writing=True)
            return real(*args, **kwargs)

        write.__name__ = write.__qualname__ = name
        return write

    return guard


def format_checked(real: Callable[..., Any], name: str, keyword: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        plain_format(kwargs.get(keyword), f"{name}({keyword}=)")
        return real(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


def named(real: Callable[..., Any], name: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return real(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = real.__doc__
    return call
