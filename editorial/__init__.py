"""The write side: permissions, one module per editorial workflow step, the transaction
runner and the outcome applied after commit; generation (see ARCHITECTURE.md).

Kept empty: generation's worker processes import ``editorial.generation`` alone."""
