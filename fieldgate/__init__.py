"""fieldgate: the command line and the wiring that joins gateway, telemetry and fieldservice.

The product's packages (``devices``, ``gateway``, ``telemetry``, ``fieldservice``,
``simulators``) do not import this package: what they share lives below them
(:mod:`telemetry.dburl`, :mod:`devices.session`; ``tests/test_layers.py`` keeps it so).
"""

from fieldservice import __version__

__all__ = ["__version__"]
