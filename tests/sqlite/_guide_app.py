"""The guide's "Initialize Once" snippet, as written, in a module of its own (its global
``event_store`` would otherwise shadow the guide's ``event_store`` pytest fixture)."""
# mypy: disable-error-code="no-untyped-def"

from eventsource import SQLiteEventStore

event_store = None


async def app_startup():
    global event_store
    event_store = SQLiteEventStore("./events.db")
    await event_store._connect()
    await event_store.initialize()


async def app_shutdown():
    await event_store.close()
