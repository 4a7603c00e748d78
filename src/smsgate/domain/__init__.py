"""Pure domain logic: no I/O, no asyncio, no SQLAlchemy, no Starlette; imports nothing else of ours."""
