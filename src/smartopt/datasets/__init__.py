"""Built-in data: the Sejong 5-1 district and synthetic networks."""

from smartopt.datasets.city import manhattan_like, taxi_day
from smartopt.datasets.grid import grid_network
from smartopt.datasets.profiles import year_profiles
from smartopt.datasets.sejong import ASSUMPTIONS, sejong_5_1

__all__ = ["ASSUMPTIONS", "grid_network", "manhattan_like", "sejong_5_1", "taxi_day", "year_profiles"]
