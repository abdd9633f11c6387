"""GraphQL over HTTP (GET and POST ``/graphql``): the endpoint as a pipeline of stages."""
