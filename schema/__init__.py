"""GraphQL types (strawberry)."""
