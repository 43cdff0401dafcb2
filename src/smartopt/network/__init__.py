"""Road networks and travel times.

:class:`RoadNetwork` holds nodes and directed links as validated numpy arrays; its queries
(:meth:`~RoadNetwork.travel_time_matrix`, :meth:`~RoadNetwork.distance_matrix`,
:meth:`~RoadNetwork.shortest_path`, :meth:`~RoadNetwork.assign`) run on the C++ engine.
"""

from smartopt.network.io import read_csv, read_sumo
from smartopt.network.road import DEFAULT_LANE_CAPACITY_VPH, Assignment, Path, RoadNetwork

__all__ = ["DEFAULT_LANE_CAPACITY_VPH", "Assignment", "Path", "RoadNetwork", "read_csv", "read_sumo"]
