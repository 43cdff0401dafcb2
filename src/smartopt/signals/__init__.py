"""Signal timing: the signalised-intersection model."""

from smartopt.signals.model import TURNS, Intersection

__all__ = ["TURNS", "Intersection"]
