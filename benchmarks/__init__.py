"""Benchmarks of minigrad against PyTorch (CPU, and CUDA where present).

Run ``python -m benchmarks`` (``--quick`` for the smoke test, ``--help`` for the rest);
see ``benchmarks/README.md`` for the workloads, the FLOP counting and the memory method.
"""
