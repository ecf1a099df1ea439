"""fieldgate: the command line and the wiring that joins gateway, telemetry and fieldservice.

The product's packages (``devices``, ``gateway``, ``telemetry``, ``fieldservice``,
``simulators``) do not import this package, except for :mod:`fieldgate.dburl`, the one value
object they share.
"""

__version__ = "0.1.0"
