"""The service business: customers, vehicles, terminals, SIMs, work orders and their workflows,
persistence, and the REST API. Parses no wire bytes.
"""
