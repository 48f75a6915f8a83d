"""Use cases: one async function per operation, over the store, connectors and broker."""
