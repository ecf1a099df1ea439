"""Business operations, one module per resource. Functions take keyword arguments, work in the
caller's session and flush; the caller (API route, CLI command) commits."""
