"""GraphQL object types, each built from a domain record by `from_model`."""
