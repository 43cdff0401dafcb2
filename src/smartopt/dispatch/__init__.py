"""Vehicle dispatch: the shuttle fleet and ride requests."""

from smartopt.dispatch.model import Fleet, Requests

__all__ = ["Fleet", "Requests"]
