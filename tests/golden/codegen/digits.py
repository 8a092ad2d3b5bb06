"""Train the `digits` model of digits.kspec with Keras 3 and tf.data."""

import argparse

import keras
import tensorflow as tf
from keras import layers
from sklearn.datasets import load_digits

EPOCHS = 20
BATCH_SIZE = 32
SEED = 42
STEPS_PER_EXECUTION = 32  # batches per compiled step: faster; a bar would overshoot: verbose=2
SCALE = 1 / 16
VALIDATION_SPLIT = 0.2


def load_data():
    """The data: scikit-learn's 8x8 handwritten digits; the last 20% for validation."""
    x_train, y_train = load_digits(return_X_y=True)
    x_train = (x_train.astype("float32") * SCALE).reshape(-1, 8, 8, 1)
    y_train = y_train.astype("int32")
    cut = int(len(y_train) * (1.0 - VALIDATION_SPLIT))  # as validation_split
    return (x_train[:cut], y_train[:cut]), (x_train[cut:], y_train[cut:])


def augmented(x, y, batch_size):
    """Shuffled batches, augmented one at a time: the random layers' draws stay reproducible."""
    augment = layers.Pipeline([layers.RandomTranslation(0.125, 0.125, fill_mode="constant")])
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(y), seed=SEED).batch(batch_size)
    return ds.map(lambda x, y: (augment(x, training=True), y)).prefetch(tf.data.AUTOTUNE)


def build_model():
    """The `digits` model, layer for layer as the spec builds it."""
    return keras.Sequential(
        [
            keras.Input(shape=(8, 8, 1), name="image"),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.Flatten(),
            layers.Dropout(0.4),
            layers.Dense(10, activation="softmax"),
        ],
        name="digits",
    )


def main(argv=None):
    """Load the data, build, train and save the model; returns fit's History."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="default: %(default)s")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="default: %(default)s")
    parser.add_argument("--output", default="digits.keras", help="default: %(default)s")
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(SEED)
    (x_train, y_train), validation = load_data()
    model = build_model()
    model.summary()
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate=keras.optimizers.schedules.CosineDecay(0.002, decay_steps=900),
        ),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    history = model.fit(
        augmented(x_train, y_train, args.batch_size),
        validation_data=validation,
        validation_batch_size=args.batch_size,
        shuffle=False,
        verbose=2,
        epochs=args.epochs,
    )
    model.save(args.output)
    return history


if __name__ == "__main__":
    main()
