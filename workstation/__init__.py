"""Halong, a radiology reading workstation: the application package."""


def halong_version() -> str:
    """The installed Halong's version ("development" when run from a source tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("halong-workstation")
    except PackageNotFoundError:
        return "development"
