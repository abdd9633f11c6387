"""HTTP server, settings and command line of Compendium."""
