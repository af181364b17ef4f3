"""Load benchmarks: `make bench`. Ratios against baselines measured in the same run."""
