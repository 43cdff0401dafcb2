"""``python -m smartopt``: the same as the ``smartopt`` command."""

from smartopt.cli import main

raise SystemExit(main())
