"""The TensorFlow side of a run: a quiet import, seeding, the dtype policy, distribution."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any


def import_tensorflow() -> None:
    """Import TensorFlow with its C++ start-up chatter (oneDNN, CUDA probes) silenced.

    TF 2.21 logs those before reading TF_CPP_MIN_LOG_LEVEL, so stderr's file descriptor is
    pointed at /dev/null for the import; Python errors still surface after it is restored.
    """
    import sys

    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        import tensorflow as tf

        tf.config.list_physical_devices()  # the CUDA probe logs too, on machines without a GPU
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def multi_worker_strategy() -> Any:
    """tf.distribute.MultiWorkerMirroredStrategy, with `reduce` made to work under Keras 3's fit.

    Keras 3.15's TF trainer calls `strategy.reduce` on a whole (x, y) batch (to build the model
    symbolically) and with axis=0 on scalar losses; MultiWorkerMirroredStrategy accepts neither
    with more than one worker, so fit() fails at its first step (keras-team/keras#20585). Reducing
    leaf by leaf, scalars over replicas only, is what both calls mean.
    """
    import tensorflow as tf

    class Strategy(tf.distribute.MultiWorkerMirroredStrategy):  # type: ignore[misc]
        def reduce(self, reduce_op: Any, value: Any, axis: Any) -> Any:
            def one(v: Any) -> Any:
                rank = self.experimental_local_results(v)[0].shape.rank
                return super(Strategy, self).reduce(reduce_op, v, None if rank == 0 else axis)

            return tf.nest.map_structure(one, value)

    return Strategy()


@contextlib.contextmanager
def environment(seed: int | None, mixed_precision: bool, distribute: str | None,
                note: Callable[[str], None]) -> Iterator[Any]:  # fmt: skip
    """Seed, dtype policy and strategy for one run; yields the strategy, restores the policy."""
    import_tensorflow()
    import keras
    import tensorflow as tf

    if seed is not None:
        keras.utils.set_random_seed(seed)
    policy = keras.mixed_precision.global_policy()
    if mixed_precision:
        if tf.config.list_physical_devices("GPU"):
            keras.mixed_precision.set_global_policy("mixed_float16")
        else:
            note("mixed_precision = true is ignored: mixed_float16 needs a GPU")
    if distribute == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
    elif distribute == "multi_worker":
        if seed is None:  # fit shuffles arrays with the global seed: each worker reads its shard
            tf.random.set_seed(0)  # of one order
        strategy = multi_worker_strategy()
    else:
        strategy = tf.distribute.get_strategy()
    try:
        yield strategy
    finally:
        keras.mixed_precision.set_global_policy(policy)
