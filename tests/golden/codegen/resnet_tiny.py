"""Train the `resnet_tiny` model of resnet_tiny.kspec with Keras 3 and tf.data."""

import argparse

import keras
import tensorflow as tf
from keras import layers

EPOCHS = 30
BATCH_SIZE = 128
STEPS_PER_EXECUTION = 32  # batches per compiled step: faster; a bar would overshoot: verbose=2
SCALE = 1 / 255
VALIDATION_SPLIT = 0.1


def load_data():
    """The data: keras.datasets.cifar10; the last 10% for validation."""
    (x_train, y_train), _ = keras.datasets.cifar10.load_data()
    y_train = y_train[:, 0]  # labels come as (n, 1)
    x_train = x_train.astype("float32") * SCALE
    y_train = y_train.astype("int32")
    cut = int(len(y_train) * (1.0 - VALIDATION_SPLIT))  # as validation_split
    return (x_train[:cut], y_train[:cut]), (x_train[cut:], y_train[cut:])


def augmented(x, y, batch_size):
    """Shuffled batches, augmented."""
    augment = layers.Pipeline(
        [layers.RandomFlip(mode="horizontal"), layers.RandomTranslation(0.1, 0.1)],
    )
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(y)).batch(batch_size)
    ds = ds.map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def residual(x, filters, stride=1, *, name):
    """Block `residual`: its layers' names start with the instance's, `name`."""
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", name=f"{name}_conv2d")(x)
    y = layers.BatchNormalization(name=f"{name}_batch_normalization")(y)
    y = layers.ReLU(name=f"{name}_re_lu")(y)
    y = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv2d_1")(y)
    y = layers.BatchNormalization(name=f"{name}_batch_normalization_1")(y)
    if stride != 1:
        shortcut = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_conv2d_2")(x)
    else:
        shortcut = x
    out = layers.Add(name=f"{name}_add")([y, shortcut])
    out = layers.ReLU(name=f"{name}_re_lu_1")(out)
    return out


def build_model():
    """The `resnet_tiny` model, layer for layer as the spec builds it."""
    image = keras.Input(shape=(32, 32, 3), name="image")
    x = layers.Conv2D(32, 3, padding="same")(image)
    for i in range(3):
        x = residual(x, 32 * 2**i, stride=1 if i == 0 else 2, name=f"residual{i + 1}")
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(10, activation="softmax")(x)
    return keras.Model(image, x, name="resnet_tiny")


def main(argv=None):
    """Load the data, build, train and save the model; returns fit's History."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="default: %(default)s")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="default: %(default)s")
    parser.add_argument("--output", default="resnet_tiny.keras", help="default: %(default)s")
    args = parser.parse_args(argv)

    (x_train, y_train), validation = load_data()
    model = build_model()
    model.summary()
    model.compile(
        optimizer=keras.optimizers.SGD(
            learning_rate=keras.optimizers.schedules.CosineDecay(0.1, decay_steps=10560),
            momentum=0.9,
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
