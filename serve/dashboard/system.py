"""The host and the server's processes as GET /system reports them (the dashboard's System page):
workers, memory, and GPUs via NVML, with the schema of the answer.

Under gunicorn a worker's parent is the arbiter, whose children are the workers; outside gunicorn
(tests, `flask run`) this process is the only worker. NVML comes with the `gpu` extra
(nvidia-ml-py); without it, or without an NVIDIA driver, the report says why there is no GPU.
"""

from __future__ import annotations

import os
import platform
import time
from typing import Any

import psutil
from pydantic import BaseModel, Field

from serve.api_schemas import ModelRef

MB = 1024 * 1024
STARTED = time.monotonic()
_processes: dict[int, psutil.Process] = {}
"""Each worker's Process object, kept so that cpu_percent measures since the previous reading."""


class WorkerProcess(BaseModel):
    pid: int
    rss_mb: float
    cpu_percent: float = Field(description="Since the previous reading of this process, by this worker.")
    this_worker: bool = Field(description="The worker that answered this request.")


class GpuStatus(BaseModel):
    index: int
    name: str
    memory_used_mb: float
    memory_total_mb: float
    utilization_percent: float
    temperature_c: float
    power_w: float | None


class SystemStatus(BaseModel):
    health: str
    ready: bool
    model: ModelRef | None
    challenger: ModelRef | None
    problem: str | None = Field(description="Why no model is loaded, if none is.")
    uptime_s: float = Field(description="Since this worker started.")
    workers: list[WorkerProcess] = Field(description="Gunicorn's workers on this host (this process alone outside it).")
    cpu_count: int
    load_average: tuple[float, float, float]
    memory_total_mb: float
    memory_available_mb: float
    gpus: list[GpuStatus] = Field(description="Through NVML; empty where there is no NVIDIA GPU.")
    gpu_problem: str | None = Field(description="Why no GPU is reported, when none is.")
    versions: dict[str, str] = Field(description="housing-mlops, MLflow, Python.")


def uptime_s() -> float:
    return time.monotonic() - STARTED


def _process(pid: int) -> psutil.Process:
    if pid not in _processes:
        _processes[pid] = psutil.Process(pid)
    return _processes[pid]


def _is_gunicorn(process: psutil.Process | None) -> bool:
    try:
        return process is not None and any("gunicorn" in part for part in process.cmdline())
    except psutil.Error:
        return False


def workers() -> list[WorkerProcess]:
    """This host's gunicorn workers (or this process alone), each with its memory and CPU share."""
    me = psutil.Process()
    parent = me.parent()
    pids = [child.pid for child in parent.children()] if _is_gunicorn(parent) and parent else [me.pid]
    found = []
    for pid in sorted(pids):
        try:
            process = _process(pid)
            with process.oneshot():
                found.append(
                    WorkerProcess(
                        pid=pid,
                        rss_mb=process.memory_info().rss / MB,
                        cpu_percent=process.cpu_percent(),
                        this_worker=pid == me.pid,
                    )
                )
        except psutil.Error:
            _processes.pop(pid, None)
    return found


def host() -> dict[str, Any]:
    memory = psutil.virtual_memory()
    return {
        "cpu_count": os.cpu_count() or 1,
        "load_average": os.getloadavg(),
        "memory_total_mb": memory.total / MB,
        "memory_available_mb": memory.available / MB,
        "python": platform.python_version(),
    }


def gpus() -> tuple[list[GpuStatus], str | None]:
    """Every NVIDIA GPU's memory, utilisation, temperature and power, or why none is reported."""
    try:
        import pynvml  # the `gpu` extra: nvidia-ml-py
    except ImportError:
        return [], "NVML is not installed (pip install 'housing-mlops[gpu]')"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as error:
        return [], f"no NVIDIA driver: {error}"
    try:
        return [_gpu(index, pynvml) for index in range(pynvml.nvmlDeviceGetCount())], None
    finally:
        pynvml.nvmlShutdown()


def _gpu(index: int, pynvml: Any) -> GpuStatus:
    handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
    try:
        power_w = pynvml.nvmlDeviceGetPowerUsage(handle) / 1000
    except pynvml.NVMLError:  # not every board reports its power
        power_w = None
    return GpuStatus(
        index=index,
        name=str(pynvml.nvmlDeviceGetName(handle)),
        memory_used_mb=memory.used / MB,
        memory_total_mb=memory.total / MB,
        utilization_percent=pynvml.nvmlDeviceGetUtilizationRates(handle).gpu,
        temperature_c=pynvml.nvmlDeviceGetTemperature(handle, pynvml.NVML_TEMPERATURE_GPU),
        power_w=power_w,
    )
