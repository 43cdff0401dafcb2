"""The application layer: the code that joins the domains, and the only code that imports more than
one of them (``docs/architecture.md``; ``tests/test_architecture.py`` keeps it so).

- :mod:`~smartopt.app.district`: the district model (:class:`~smartopt.app.district.District`) and a
  run of its day;
- :mod:`~smartopt.app.coupling`: where the solvers see each other (signal delays -> travel times,
  spare grid power -> depot charging, shuttle charging -> the grid);
- :mod:`~smartopt.app.pipeline`: the district day as one system (``smartopt run``);
- :mod:`~smartopt.app.report`: ``report.html``; :mod:`~smartopt.app.scenarios`: scenario sweeps;
- :mod:`~smartopt.app.config`: a district from ``district.toml``; :mod:`~smartopt.app.cli`: the
  ``smartopt`` command.

Nothing is imported here: import the module you need.
"""
