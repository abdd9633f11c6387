"""The catalog file format: model, checks, loading with caps, import and export."""
