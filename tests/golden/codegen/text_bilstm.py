"""Train the `sentiment` model of text_bilstm.kspec with Keras 3, any backend."""

import argparse

import keras
from keras import layers

VOCAB = 20000
MAXLEN = 200

EPOCHS = 3
BATCH_SIZE = 64
STEPS_PER_EXECUTION = 32  # batches per compiled step: faster; a bar would overshoot: verbose=2
VALIDATION_SPLIT = 0.2


def load_data():
    """The data: keras.datasets.imdb; the last 20% for validation."""
    (x_train, y_train), _ = keras.datasets.imdb.load_data(num_words=20000)
    # Lists of word ids, padded (or cut) to the input's length.
    x_train = keras.utils.pad_sequences(x_train, maxlen=200)
    y_train = y_train.astype("int32")
    return x_train, y_train


def build_model():
    """The `sentiment` model, layer for layer as the spec builds it."""
    return keras.Sequential(
        [
            keras.Input(shape=(MAXLEN,), dtype="int32", name="tokens"),
            layers.Embedding(VOCAB, 128, mask_zero=True),
            layers.Bidirectional(layers.LSTM(64, return_sequences=True)),
            layers.Bidirectional(layers.LSTM(32)),
            layers.Dropout(0.3),
            layers.Dense(1, activation="sigmoid"),
        ],
        name="sentiment",
    )


def main(argv=None):
    """Load the data, build, train and save the model; returns fit's History."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="default: %(default)s")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="default: %(default)s")
    parser.add_argument("--output", default="sentiment.keras", help="default: %(default)s")
    args = parser.parse_args(argv)

    x_train, y_train = load_data()
    model = build_model()
    model.summary()
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.001),
        loss="binary_crossentropy",
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
    )
    model.save(args.output)
    return history


if __name__ == "__main__":
    main()
