"""``python -m src``: the ``sandboxed-executor`` console script."""

from .main import serve

serve()
