"""A SUMO scenario as its ``.sumocfg`` names it: the net file, the route and additional files, and
the simulated window."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from smartopt._files import existing_file
from smartopt.signals.sumo.demand import _time, _xml_root

OPTIONS = {  # option -> the names SUMO also takes for it in a configuration file
    "net-file": ("net-file", "n", "net"),
    "route-files": ("route-files", "r", "routes"),
    "additional-files": ("additional-files", "a", "additional"),
    "begin": ("begin", "b"),
    "end": ("end", "e"),
}


@dataclass(frozen=True)
class SumoConfig:
    """What a ``.sumocfg`` names: files as absolute paths (relative names resolved against the
    configuration's folder, as SUMO does), the simulation's ``begin_s`` (s; SUMO's default 0) and
    ``end_s`` (s; None when the file sets none: SUMO then runs until the last vehicle arrives)."""

    path: Path
    net_file: Path
    route_files: tuple[Path, ...]
    additional_files: tuple[Path, ...]
    begin_s: float
    end_s: float | None

    @property
    def demand_files(self) -> tuple[Path, ...]:
        """The files SUMO reads vehicles, types and routes from: additional files first, as it loads them."""
        return self.additional_files + self.route_files


def read_sumo_config(path: str | os.PathLike[str]) -> SumoConfig:
    """The net, route and additional files and the time window of a SUMO configuration file.

    Options are read wherever they sit (SUMO ignores the section and root names), by their long
    or short names (``net-file``/``n``/``net``, ``route-files``/``r``/``routes``,
    ``additional-files``/``a``/``additional``, ``begin``/``b``, ``end``/``e``) from ``value`` or
    ``v``; file lists are comma separated. ``ValueError`` naming the file and the element for a
    missing net file, no route or additional file, a file that does not exist, an option given
    twice, or a time that is not a SUMO time (seconds or ``[[d:]h:]m:s``)."""
    cfg = existing_file(path)
    root = _xml_root(cfg, None)
    name = cfg.name
    found: dict[str, str] = {}
    for el in root.iter():
        option = next((o for o, names in OPTIONS.items() if el.tag in names), None)
        value = el.get("value", el.get("v"))
        if option is None or value is None:
            continue
        if option in found:
            raise ValueError(f"{name}: <{el.tag}> sets {option} a second time")
        found[option] = value

    def file(text: str, option: str) -> Path:
        path = cfg.parent / text.strip()
        if not path.is_file():
            raise ValueError(f"{name}: <{option}> names {text.strip()!r}, which is not a file ({path})")
        return path.resolve()

    def files(option: str) -> tuple[Path, ...]:
        return tuple(file(text, option) for text in found.get(option, "").split(",") if text.strip())

    if not found.get("net-file", "").strip():
        raise ValueError(f"{name}: no <net-file value=...> (the SUMO network)")
    net = file(found["net-file"], "net-file")
    routes, additional = files("route-files"), files("additional-files")
    if not routes and not additional:
        raise ValueError(f"{name}: no <route-files value=...> (nor additional files) to read the demand from")
    begin = _time(found.get("begin", "0"), f"{name}: <begin>")
    end = None if found.get("end") is None else _time(found["end"], f"{name}: <end>")
    if end is not None and end < 0:  # SUMO: no end
        end = None
    if end is not None and not end > begin:
        raise ValueError(f"{name}: <end> {end:g} s must be after <begin> {begin:g} s")
    return SumoConfig(cfg.resolve(), net, routes, additional, begin, end)
