"""What runs after commits and on timers: the outbox relay (one lane per upstream), the loops
that sync and push to upstreams, and webhook dispatch. Workers call use cases; nothing calls
them but the app's lifespan (and tests)."""
