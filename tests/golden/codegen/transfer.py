"""Train the `flowers` model of transfer.kspec with Keras 3 and tf.data."""

import argparse
from pathlib import Path

import keras
import tensorflow as tf
from keras import layers

WEIGHTS = "imagenet"

EPOCHS = 10
BATCH_SIZE = 32
STEPS_PER_EXECUTION = 32  # batches per compiled step: faster; a bar would overshoot: verbose=2
VALIDATION_SPLIT = 0.2
DATA_PATH = Path(__file__).resolve().parent / "data/flower_photos"


def load_data():
    """The data: images, one folder per class; the last 20% for validation."""
    split = {"validation_split": VALIDATION_SPLIT, "subset": "both"}
    found = keras.utils.image_dataset_from_directory(
        str(DATA_PATH),
        labels="inferred",
        image_size=(160, 160),
        color_mode="rgb",
        batch_size=None,
        seed=0,
        verbose=False,
        **split,
    )
    train, test = found if split["subset"] else (found, None)
    return train, test


def make_dataset(data, batch_size, *, training, seed=None):
    """Batches of (inputs, targets) for fit, shuffled for training."""
    dataset = data
    if training:
        count = int(dataset.cardinality())
        buffer = min(count if count >= 0 else 10_000, 10_000)
        dataset = dataset.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size).map(batch_prepare, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def batch_prepare(x, y):
    """One batch as the model takes it: inputs cast and shaped, targets cast."""
    image = tf.cast(x, "float32")
    image = tf.reshape(image, [-1, 160, 160, 3])
    dense = tf.cast(y, "int32" if y.dtype.is_integer else "float32")
    return image, dense


def build_model():
    """The `flowers` model, layer for layer as the spec builds it."""
    image = keras.Input(shape=(160, 160, 3), name="image")
    x = layers.RandomFlip("horizontal")(image)
    x = layers.Rescaling(0.00784313725490196, offset=-1.0)(x)
    base = keras.applications.MobileNetV2(
        include_top=False,
        weights=WEIGHTS,
        input_shape=(160, 160, 3),
        name="base",
    )
    base.trainable = False
    x = base(x, training=False)
    x = layers.GlobalAveragePooling2D(name="global_average_pooling2d")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    x = layers.Dense(5, name="dense")(x)
    return keras.Model(image, x, name="flowers")


def main(argv=None):
    """Load the data, build, train and save the model; returns fit's History."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="default: %(default)s")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="default: %(default)s")
    parser.add_argument("--output", default="flowers.keras", help="default: %(default)s")
    args = parser.parse_args(argv)

    train, validation = load_data()
    model = build_model()
    model.summary()
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.001),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    train_data = make_dataset(train, args.batch_size, training=True)
    validation_data = None
    if validation is not None:
        validation_data = make_dataset(validation, args.batch_size, training=False)
    # The dataset shuffles itself; fit's shuffle is for arrays.
    history = model.fit(
        train_data,
        validation_data=validation_data,
        shuffle=False,
        verbose=2,
        epochs=args.epochs,
    )
    # phase finetune: 10 more epochs, its own trainable set
    base = model.get_layer("base")
    base.trainable = True
    for layer in base.layers[:100]:
        layer.trainable = False
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=1e-05),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    done = len(history.epoch)
    more = model.fit(
        train_data,
        validation_data=validation_data,
        shuffle=False,
        verbose=2,
        initial_epoch=done,
        epochs=done + 10,
    )
    history.epoch += more.epoch
    for key, values in more.history.items():
        history.history.setdefault(key, []).extend(values)
    model.save(args.output)
    return history


if __name__ == "__main__":
    main()
