"""Hardware telemetry of one fit: what ran it, how busy it was, and how much memory it took.

On CUDA, NVML (nvidia-ml-py, the `gpu` extra) is sampled in a background thread: utilisation,
memory used, temperature and power. MLflow's own system metrics log utilisation, memory and power
over time in the run; this adds temperature, the peaks and the means, so the same figures land in
the stage's metrics file and `dvc exp show` can compare CPU and GPU runs.
"""

from __future__ import annotations

import platform
import resource
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

SAMPLE_EVERY_S = 0.2


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


class _NvmlSampler(threading.Thread):
    def __init__(self, pynvml: Any):
        super().__init__(name="nvml-sampler", daemon=True)
        self.nvml = pynvml
        self.handle = pynvml.nvmlDeviceGetHandleByIndex(torch.cuda.current_device())
        self.samples: list[tuple[float, float, float, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        """Sample at the start, every SAMPLE_EVERY_S, and once more at the end: a fit shorter than the
        interval still has figures (on the lent H200 a short one had none)."""
        self._sample()
        while not self.done.wait(SAMPLE_EVERY_S):
            self._sample()
        self._sample()

    def _sample(self) -> None:
        nvml, handle = self.nvml, self.handle
        self.samples.append(
            (
                nvml.nvmlDeviceGetUtilizationRates(handle).gpu,
                nvml.nvmlDeviceGetMemoryInfo(handle).used / 2**20,
                nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU),
                nvml.nvmlDeviceGetPowerUsage(handle) / 1000,
            )
        )

    def summary(self) -> dict[str, Any]:
        figures: dict[str, Any] = {
            "device_name": self.nvml.nvmlDeviceGetName(self.handle),
            "driver": self.nvml.nvmlSystemGetDriverVersion(),
        }
        if self.samples:
            utilisation, memory, temperature, power = zip(*self.samples, strict=True)
            figures |= {
                "gpu_utilisation_mean_pct": round(sum(utilisation) / len(utilisation), 1),
                "gpu_memory_peak_mb": round(max(memory)),
                "gpu_temperature_max_c": max(temperature),
                "gpu_power_mean_w": round(sum(power) / len(power), 1),
                "gpu_power_max_w": round(max(power), 1),
            }
        return figures


def _start_nvml(figures: dict[str, Any]) -> _NvmlSampler | None:
    try:
        import pynvml
    except ImportError:
        figures["nvml"] = "not installed (pip install -e '.[gpu]')"
        return None
    try:
        pynvml.nvmlInit()
        sampler = _NvmlSampler(pynvml)
    except pynvml.NVMLError as error:
        figures["nvml"] = f"unavailable ({error})"
        return None
    sampler.start()
    return sampler


@contextmanager
def fit_telemetry(device: str) -> Iterator[dict[str, Any]]:
    """Measure the enclosed fit; the yielded dict is filled in when the block ends."""
    figures: dict[str, Any] = {"device": device}
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    sampler = _start_nvml(figures) if device == "cuda" else None
    try:
        yield figures
    finally:
        if sampler is not None:
            sampler.done.set()
            sampler.join()
            figures |= sampler.summary()
        if device == "cuda":
            figures.setdefault("device_name", torch.cuda.get_device_name())
            figures["torch_peak_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)
        else:
            figures["device_name"] = cpu_name()
        figures["process_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
