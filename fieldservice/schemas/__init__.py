"""Request and response schemas (pydantic v2), one family per entity: Create, Update, Public."""
