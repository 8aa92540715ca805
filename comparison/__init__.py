"""Reference comparisons: run the same computation in minigrad and in PyTorch /
Hugging Face ``transformers`` and report every difference against a tolerance.

``python -m comparison`` is the project's main job (see ``--help``).
"""
