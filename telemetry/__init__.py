"""Time-series storage (positions, terminal state), the batch writer and its spool, queries
and fault rules. Knows no HTTP.
"""
