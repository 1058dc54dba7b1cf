"""What the tests and the tools around them share: the tiny params, generated data, the processes and
servers they start and wait for, the project's images, temporary git + DVC repositories, a tiny
registered model, and headless Chromium.

The tests import it, and so may bench/, demo/ and tools/; it imports none of them, and no test imports
those (the import contracts in pyproject.toml keep it so). Nothing here imports MLflow at module level
except the modules that register, serve or read models: bench/gpu_run.sh runs tests/stages/test_gpu.py
on GPU machines that may lack MLflow."""
