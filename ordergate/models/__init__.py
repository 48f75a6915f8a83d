"""The domain: records and pure rules. No I/O, no clock, no web or GraphQL code."""
