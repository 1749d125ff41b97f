"""Benchmarks: ours against a baseline in the same run, printed and written as a ratio table.

Run ``python -m bench`` (all CPU benchmarks) or ``python bench/gpu_bench.py`` (on a GPU machine); see
bench/README.md. Nothing here is a test: timings never fail anything.
"""
