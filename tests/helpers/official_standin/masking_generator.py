"""Stand-in module: the benchmark makes its own masks."""
