"""Thin GraphQL resolvers, DataLoaders and the review composer."""
