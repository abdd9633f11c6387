"""The Mutation root's fields by domain (``schema/mutation.py`` composes them): each module
holds its inputs, payloads and mutation fields; each field names its permission and makes
one call into editorial/."""
