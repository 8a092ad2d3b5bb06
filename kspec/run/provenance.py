"""What run.json records about where a run ran: versions, platform, devices, seed."""

from __future__ import annotations

import platform
import sys
from typing import Any


def environment_record(seed: int | None) -> dict[str, Any]:
    import keras
    import numpy as np
    import tensorflow as tf

    devices = []
    for d in tf.config.list_physical_devices():
        name = d.name
        try:
            details = tf.config.experimental.get_device_details(d)
            name = details.get("device_name") or name
        except (ValueError, RuntimeError):
            pass
        devices.append({"type": d.device_type, "name": name})
    return {
        "versions": {
            "kspec": _kspec_version(),
            "keras": keras.__version__,
            "tensorflow": tf.__version__,
            "python": sys.version.split()[0],
            "numpy": np.__version__,
        },
        "platform": platform.platform(),
        "machine": platform.machine(),
        "devices": devices,
        "seed": seed,
    }


def _kspec_version() -> str:
    """The installed distribution's version (importing `kspec` here would be an import loop)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kspec")
    except PackageNotFoundError:
        return "unknown"
