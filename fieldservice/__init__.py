"""The service business: customers, vehicles, terminals, SIMs, work orders and their workflows,
persistence, and the REST API. Parses no wire bytes.
"""

#: the product's version (pyproject.toml), shown by the API and ``fieldgate --version``
__version__ = "0.1.0"
