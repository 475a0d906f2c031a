"""The ``halong`` subcommands, one module each (or a few close relatives per module).

Every module exposes ``register(subparsers)``, which adds its parsers and sets
``handler`` to a function ``(argparse.Namespace) -> int``. Modules import only the
standard library at import time; the engine is imported inside the handler, so
``halong --help`` stays instant.
"""
