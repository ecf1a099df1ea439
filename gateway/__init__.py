"""Transports (TCP, MQTT, serial), terminal sessions and identification, limits, backpressure
and metrics. Knows no SQL: decoded records go to a :class:`gateway.sink.TelemetrySink`.
"""
