"""Train the `autoencoder` model of autoencoder.kspec with Keras 3, any backend."""

import argparse

import keras
import numpy as np
from keras import layers

LATENT = 16

EPOCHS = 1
BATCH_SIZE = 32
STEPS_PER_EXECUTION = 32  # batches per compiled step: faster; a bar would overshoot: verbose=2


def load_data():
    """The data: random examples shaped to the model, the same for the same seed; no validation
    data.
    """
    n = 256
    rng = np.random.default_rng(0)
    x_train = rng.standard_normal((n, 28, 28, 1)).astype(np.float32)
    y_train = rng.standard_normal((n, 28, 28, 1)).astype(np.float32)
    return x_train, y_train


def build_encoder():
    """The `encoder` model, layer for layer as the spec builds it."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1), name="image"),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(LATENT, name="code"),
        ],
        name="encoder",
    )


def build_decoder():
    """The `decoder` model, layer for layer as the spec builds it."""
    return keras.Sequential(
        [
            keras.Input(shape=(LATENT,), name="code"),
            layers.Dense(128, activation="relu", name="dense"),
            layers.Dense(784, activation="sigmoid", name="dense_1"),
            layers.Reshape((28, 28, 1)),
        ],
        name="decoder",
    )


def build_model():
    """The `autoencoder` model, layer for layer as the spec builds it."""
    image = keras.Input(shape=(28, 28, 1), name="image")
    encoder = build_encoder()
    x = encoder(image)
    decoder = build_decoder()
    x = decoder(x)
    return keras.Model(image, x, name="autoencoder")


def main(argv=None):
    """Load the data, build, train and save the model; returns fit's History."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="default: %(default)s")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="default: %(default)s")
    parser.add_argument("--output", default="autoencoder.keras", help="default: %(default)s")
    args = parser.parse_args(argv)

    x_train, y_train = load_data()
    model = build_model()
    model.summary()
    model.compile(
        optimizer=keras.optimizers.Adam(),
        loss="mse",
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    history = model.fit(x_train, y_train, batch_size=args.batch_size, verbose=2, epochs=args.epochs)
    model.save(args.output)
    return history


if __name__ == "__main__":
    main()
