"""The path `kspec check` spares a user: start Python, import TensorFlow, build the model in Keras.

    python bench/build_mnist_keras.py            # examples/mnist.kspec built by kspec's builder
    python bench/build_mnist_keras.py --plain    # the same model written by hand in Keras

Either way a mistake in the model (a wrong shape, a bad argument) would surface only here, after
the TensorFlow import; bench/check_speed.py times this script against `kspec check`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

MNIST = Path(__file__).resolve().parent.parent / "examples" / "mnist.kspec"


def plain_model() -> Any:
    """examples/mnist.kspec's convnet as the keras.io MNIST example writes it by hand: the
    reference side of every benchmark here."""
    import keras

    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def build(plain: bool) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if plain:
        model = plain_model()
    else:
        import kspec

        model = kspec.load(MNIST).build()
    return int(model.count_params())


if __name__ == "__main__":
    print(build("--plain" in sys.argv[1:]))
