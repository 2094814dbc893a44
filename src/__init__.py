"""The sandboxed Python executor (one top-level package, ``src``)."""

#: The one version string: pyproject.toml reads it (dynamic version), the API and MCP report it.
__version__ = "0.1.0"
