"""ordergate: order management as one GraphQL API."""

__version__ = "0.1.0"
