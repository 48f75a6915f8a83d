"""The GraphQL surface: each field converts its input, calls one resolver, wraps the result."""
