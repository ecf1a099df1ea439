"""Virtual terminals and fleets speaking every wire protocol over every transport, with fault
injection. Used by tests, benchmarks, the demo and testers; never by production code paths.
"""
