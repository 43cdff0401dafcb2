"""Road networks and travel times.

:class:`RoadNetwork` holds nodes and directed links as validated numpy arrays; its queries
(:meth:`~RoadNetwork.travel_time_matrix`, :meth:`~RoadNetwork.distance_matrix`,
:meth:`~RoadNetwork.shortest_path`, :meth:`~RoadNetwork.assign`) run on the C++ engine.
:class:`ContractionHierarchy` (from :meth:`~RoadNetwork.hierarchy`) answers exact fastest-time
queries on networks too large for all-pairs matrices.
:func:`read_csv`, :func:`write_csv` and :func:`read_sumo` read and write networks.
"""

from smartopt.network.hierarchy import ContractionHierarchy
from smartopt.network.io import read_csv, read_sumo, write_csv
from smartopt.network.road import DEFAULT_LANE_CAPACITY_VPH, Assignment, Path, RoadNetwork

__all__ = [
    "DEFAULT_LANE_CAPACITY_VPH",
    "Assignment",
    "ContractionHierarchy",
    "Path",
    "RoadNetwork",
    "read_csv",
    "read_sumo",
    "write_csv",
]
