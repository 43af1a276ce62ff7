"""similarity: compare submissions' code and write the report of similar pairs."""
