"""Speed benchmarks (run as programs, e.g. python -m benchmarks.tvl1_speed); not tests."""
