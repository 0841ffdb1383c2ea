"""Speed, scaling and memory benchmarks (not tests): `python -m benchmarks.run`.

benchmarks/run.py is the suite's entry point (a Markdown table and a JSON
file); tvl1_speed.py, elrcn_memory.py and baseline_features.py are older
single-purpose programs that share its measuring functions.
"""
