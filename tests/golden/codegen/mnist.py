"""Train the `mnist` model of mnist.kspec with Keras 3, any backend."""

import argparse

import keras
from keras import layers

EPOCHS = 5
BATCH_SIZE = 128
STEPS_PER_EXECUTION = 32  # batches per compiled step: faster; a bar would overshoot: verbose=2
SCALE = 1 / 255
VALIDATION_SPLIT = 0.1


def load_data():
    """The data: keras.datasets.mnist; the last 10% for validation."""
    (x_train, y_train), _ = keras.datasets.mnist.load_data()
    x_train = (x_train.astype("float32") * SCALE).reshape(-1, 28, 28, 1)
    y_train = y_train.astype("int32")
    return x_train, y_train


def build_model():
    """The `mnist` model, layer for layer as the spec builds it."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1), name="image"),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ],
        name="mnist",
    )


def main(argv=None):
    """Load the data, build, train and save the model; returns fit's History."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="default: %(default)s")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="default: %(default)s")
    parser.add_argument("--output", default="mnist.keras", help="default: %(default)s")
    args = parser.parse_args(argv)

    x_train, y_train = load_data()
    model = build_model()
    model.summary()
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.001),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    history = model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        validation_split=VALIDATION_SPLIT,
        verbose=2,
        epochs=args.epochs,
        callbacks=[
            keras.callbacks.EarlyStopping(
                monitor="val_loss",
                patience=2,
                restore_best_weights=True,
            ),
        ],
    )
    model.save(args.output)
    return history


if __name__ == "__main__":
    main()
