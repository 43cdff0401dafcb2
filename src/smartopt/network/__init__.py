"""Road networks and travel times.

:class:`RoadNetwork` holds nodes and directed links as validated numpy arrays; its queries
(:meth:`~RoadNetwork.travel_time_matrix`, :meth:`~RoadNetwork.distance_matrix`,
:meth:`~RoadNetwork.shortest_path`, :meth:`~RoadNetwork.assign`) run on the C++ engine.
:func:`read_csv`, :func:`write_csv` and :func:`read_sumo` read and write networks.
"""

from smartopt.network.io import read_csv, read_sumo, write_csv
from smartopt.network.road import DEFAULT_LANE_CAPACITY_VPH, Assignment, Path, RoadNetwork

__all__ = ["DEFAULT_LANE_CAPACITY_VPH", "Assignment", "Path", "RoadNetwork", "read_csv", "read_sumo", "write_csv"]
