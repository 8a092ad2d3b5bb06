"""Train the `listing` model of two_inputs.kspec with Keras 3, any backend."""

import argparse

import keras
import numpy as np
from keras import layers

EPOCHS = 2
BATCH_SIZE = 32
STEPS_PER_EXECUTION = 32  # batches per compiled step: faster; a bar would overshoot: verbose=2


def load_data():
    """The data: random examples shaped to the model, the same for the same seed; no validation
    data.
    """
    n = 512
    rng = np.random.default_rng(0)
    x_train = {
        "photo": rng.standard_normal((n, 64, 64, 3)).astype(np.float32),
        "meta": rng.standard_normal((n, 12)).astype(np.float32),
    }
    y_train = {
        "price": rng.standard_normal((n, 1)).astype(np.float32),
        "category": rng.integers(0, 5, (n,)).astype(np.int32),
    }
    return x_train, y_train


def build_model():
    """The `listing` model, layer for layer as the spec builds it."""
    photo = keras.Input(shape=(64, 64, 3), name="photo")
    meta = keras.Input(shape=(12,), name="meta")
    features = layers.Conv2D(16, 3, activation="relu")(photo)
    features = layers.MaxPooling2D(2)(features)
    features = layers.Conv2D(32, 3, activation="relu")(features)
    features = layers.GlobalAveragePooling2D()(features)
    extra = layers.Dense(32, activation="relu")(meta)
    joined = layers.Concatenate()([features, extra])
    joined = layers.Dense(64, activation="relu")(joined)
    joined = layers.Dropout(0.2)(joined)
    price = layers.Dense(1, name="price")(joined)
    category = layers.Dense(5, activation="softmax", name="category")(joined)
    return keras.Model([photo, meta], [price, category], name="listing")


def main(argv=None):
    """Load the data, build, train and save the model; returns fit's History."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="default: %(default)s")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="default: %(default)s")
    parser.add_argument("--output", default="listing.keras", help="default: %(default)s")
    args = parser.parse_args(argv)

    x_train, y_train = load_data()
    model = build_model()
    model.summary()
    model.compile(
        optimizer=keras.optimizers.Adam(),
        loss={"price": "mse", "category": "sparse_categorical_crossentropy"},
        loss_weights={"price": 0.5, "category": 1.0},
        metrics={"price": ["mae"], "category": ["accuracy"]},
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    history = model.fit(x_train, y_train, batch_size=args.batch_size, verbose=2, epochs=args.epochs)
    model.save(args.output)
    return history


if __name__ == "__main__":
    main()
