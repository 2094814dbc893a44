"""numpy's guarded members: no pickle (``np.load``/``save``/``savez`` force
``allow_pickle`` off, no memory maps), paths as data_arguments checks them, no array over
raw memory (``np.ndarray`` an isinstance-only stand-in, ``np.frombuffer`` with neither an
object dtype nor a buffer of references), and ``np.empty`` zero-filled."""

from __future__ import annotations

from typing import Any

from .buffers import refuse_references
from .data_arguments import local_path, named, reader
from .membrane import instances_still_made
from .refusal import refused
from .stand_ins import stand_in


def numpy_replacements() -> dict[str, Any]:
    import numpy as np  # noqa: PLC0415 - the data template only

    def load(file: Any, mmap_mode: Any = None, allow_pickle: bool = False, **kwargs: Any) -> Any:
        if allow_pickle or mmap_mode is not None:
            raise refused("np.load(): pickled arrays and memory maps are not offered in the sandbox")
        return np.load(local_path(file, "load"), allow_pickle=False, **kwargs)

    def save(file: Any, arr: Any, allow_pickle: bool = False, **kwargs: Any) -> None:
        np.save(local_path(file, "save", writing=True), arr, allow_pickle=False, **kwargs)

    def savez(file: Any, *args: Any, **kwds: Any) -> None:
        np.savez(local_path(file, "savez", writing=True), *args, allow_pickle=False, **kwds)

    def savez_compressed(file: Any, *args: Any, **kwds: Any) -> None:
        np.savez_compressed(local_path(file, "savez_compressed", writing=True), *args, allow_pickle=False, **kwds)

    def savetxt(fname: Any, *args: Any, **kwargs: Any) -> None:
        np.savetxt(local_path(fname, "savetxt", writing=True), *args, **kwargs)

    def frombuffer(buffer: Any, dtype: Any = float, count: int = -1, offset: int = 0, **kwargs: Any) -> Any:
        if np.dtype(dtype).hasobject:
            raise refused("np.frombuffer(): bytes read as object references are raw memory, not offered")
        refuse_references(buffer, "np.frombuffer()")  # numbers over references: writable pointers
        return np.frombuffer(buffer, dtype=dtype, count=count, offset=offset, **kwargs)

    # Arrays are handed out by every numpy call; the class is a stand-in (isinstance only).
    instances_still_made(np.ndarray)
    message = "np.ndarray(...) builds an array over raw memory: use np.array, np.zeros or np.empty"
    return {
        "load": load,
        "save": save,
        "savez": savez,
        "savez_compressed": savez_compressed,
        "savetxt": savetxt,
        "loadtxt": reader(np.loadtxt, "loadtxt"),
        "genfromtxt": reader(np.genfromtxt, "genfromtxt"),
        "frombuffer": frombuffer,
        # Zeroed: np.empty's memory would show what the worker's heap held before (the
        # sandbox's own data), as any value the program may read.
        "empty": named(np.zeros, "empty"),
        "empty_like": named(np.zeros_like, "empty_like"),
        "ndarray": stand_in(np.ndarray, message),
    }
