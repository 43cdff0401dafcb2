"""``python -m smartopt``: the same as the ``smartopt`` command."""

from smartopt.app.cli import main

if __name__ == "__main__":  # not when a Dask worker process re-imports the main module
    raise SystemExit(main())
