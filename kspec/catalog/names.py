"""Keras's own names, as plain strings, so the checker can suggest and validate without Keras.

`tests/test_catalog.py` checks every list against the installed Keras.
"""

from __future__ import annotations

ACTIVATIONS = (
    "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu",
    "hard_swish", "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish",
    "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign",
    "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh", "tanh_shrink",
    "threshold",
)  # fmt: skip

# Every class in keras.layers (Keras 3.15); the ones without a catalog entry are still
# accepted as steps, marked "not statically checked".
KERAS_LAYERS = (
    "Activation", "ActivityRegularization", "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D",
    "AdaptiveAveragePooling3D", "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D",
    "AdaptiveMaxPooling3D", "Add", "AdditiveAttention", "AlphaDropout", "Attention", "AugMix",
    "AutoContrast", "Average", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "AvgPool1D", "AvgPool2D", "AvgPool3D", "BatchNormalization", "Bidirectional",
    "CategoryEncoding", "CenterCrop", "Concatenate", "ContrastLimitedAdaptiveHistogramEqualization",
    "Conv1D", "Conv1DTranspose", "Conv2D",
    "Conv2DTranspose", "Conv3D", "Conv3DTranspose", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D",
    "Convolution1D", "Convolution1DTranspose", "Convolution2D", "Convolution2DTranspose",
    "Convolution3D", "Convolution3DTranspose", "Cropping1D", "Cropping2D", "Cropping3D", "CutMix",
    "Dense", "DepthwiseConv1D", "DepthwiseConv2D", "Discretization", "Dot", "Dropout", "ELU",
    "EinsumDense", "Embedding", "Equalization", "Flatten", "GRU", "GRUCell", "GaussianDropout",
    "GaussianNoise", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
    "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D",
    "GlobalMaxPool3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "GroupNormalization", "GroupQueryAttention", "HashedCrossing", "Hashing", "Identity",
    "IntegerLookup", "LSTM", "LSTMCell", "LayerNormalization", "LeakyReLU", "Masking", "MaxPool1D",
    "MaxPool2D", "MaxPool3D", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "Maximum",
    "MelSpectrogram", "Minimum", "MixUp", "MultiHeadAttention", "Multiply", "Normalization",
    "PReLU", "Permute", "Pipeline", "RMSNormalization", "RNN", "RandAugment", "RandomBrightness",
    "RandomColorDegeneration", "RandomColorJitter", "RandomContrast", "RandomCrop",
    "RandomElasticTransform", "RandomErasing", "RandomFlip", "RandomGaussianBlur",
    "RandomGrayscale", "RandomHue", "RandomInvert", "RandomPerspective", "RandomPosterization",
    "RandomRotation", "RandomSaturation", "RandomSharpness", "RandomShear", "RandomTranslation",
    "RandomZoom", "ReLU", "RepeatVector", "Rescaling", "Reshape", "Resizing",
    "ReversibleEmbedding", "STFTSpectrogram", "SeparableConv1D", "SeparableConv2D",
    "SeparableConvolution1D", "SeparableConvolution2D", "SimpleRNN", "SimpleRNNCell", "Softmax",
    "Solarization", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
    "SpectralNormalization", "StackedRNNCells", "StringLookup", "Subtract", "TextVectorization",
    "TimeDistributed", "UnitNormalization", "UpSampling1D", "UpSampling2D", "UpSampling3D",
    "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
)  # fmt: skip
# Lambda and the framework wrappers run arbitrary code; kspec never builds them.
REFUSED_LAYERS = ("Lambda", "FlaxLayer", "JaxLayer", "TorchModuleWrapper", "TFSMLayer")
# The other keras.layers classes without a catalog entry, and why none is a step of a spec.
NOT_STEPS = {
    "Layer": 'the base class: a layer of your own comes in with `use "pkg.module:Class"`',
    "InputLayer": "written as `input NAME: SHAPE`",
    "InputSpec": "not a layer: the input constraints a layer declares",
    "Wrapper": "the abstract base of Bidirectional, TimeDistributed and SpectralNormalization",
}

OPTIMIZERS = (
    "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "Ftrl", "Lamb", "Lion",
    "Muon", "Nadam", "RMSprop", "SGD",
)  # fmt: skip
SCHEDULES = (
    "CosineDecay", "CosineDecayRestarts", "ExponentialDecay", "InverseTimeDecay",
    "PiecewiseConstantDecay", "PolynomialDecay",
)  # fmt: skip
LOSS_CLASSES = (
    "BinaryCrossentropy", "BinaryFocalCrossentropy", "CTC", "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy", "CategoricalGeneralizedCrossEntropy", "CategoricalHinge",
    "Circle", "CosineSimilarity", "Dice", "Hinge", "Huber", "KLDivergence", "LogCosh",
    "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredError",
    "MeanSquaredLogarithmicError", "Poisson", "SparseCategoricalCrossentropy", "SquaredHinge",
    "Tversky",
)  # fmt: skip
LOSS_FUNCTIONS = (
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
    "categorical_focal_crossentropy", "categorical_hinge", "circle", "cosine_similarity", "ctc",
    "dice", "hinge", "huber",
    "kl_divergence", "log_cosh", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_error", "mean_squared_logarithmic_error", "poisson",
    "sparse_categorical_crossentropy", "squared_hinge", "tversky", "mse", "mae", "mape", "msle",
)  # fmt: skip
METRIC_CLASSES = (
    "AUC", "Accuracy", "BinaryAccuracy", "BinaryCrossentropy", "BinaryIoU", "CategoricalAccuracy",
    "CategoricalCrossentropy", "CategoricalHinge", "ConcordanceCorrelation", "CosineSimilarity",
    "F1Score", "FBetaScore", "FalseNegatives", "FalsePositives", "Hinge", "IoU", "KLDivergence",
    "LogCoshError", "Mean", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanIoU",
    "MeanSquaredError", "MeanSquaredLogarithmicError", "OneHotIoU", "OneHotMeanIoU",
    "PearsonCorrelation", "Poisson", "Precision", "PrecisionAtRecall", "R2Score", "Recall",
    "RecallAtPrecision", "RootMeanSquaredError", "SensitivityAtSpecificity",
    "SparseCategoricalAccuracy", "SparseCategoricalCrossentropy", "SparseTopKCategoricalAccuracy",
    "SpecificityAtSensitivity", "SquaredHinge", "Sum", "TopKCategoricalAccuracy", "TrueNegatives",
    "TruePositives",
)  # fmt: skip
METRIC_FUNCTIONS = (
    "accuracy", "acc", "binary_accuracy", "binary_crossentropy", "categorical_accuracy",
    "categorical_crossentropy", "categorical_hinge", "hinge", "kl_divergence",
    "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
    "mean_squared_logarithmic_error", "poisson", "sparse_categorical_accuracy",
    "sparse_categorical_crossentropy", "sparse_top_k_categorical_accuracy", "squared_hinge",
    "top_k_categorical_accuracy", "mse", "mae", "mape", "msle",
)  # fmt: skip
CALLBACKS = (
    "BackupAndRestore", "CSVLogger", "EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau",
    "TensorBoard", "TerminateOnNaN", "SwapEMAWeights",
)  # fmt: skip
# The file or folder argument of each callback that writes one: (position, name, Keras's
# default). `kspec run` puts a relative path, written either way or left at its default, in the
# run folder.
CALLBACK_PATHS: dict[str, tuple[int, str, str | None]] = {
    "BackupAndRestore": (0, "backup_dir", None),
    "CSVLogger": (0, "filename", None),
    "ModelCheckpoint": (0, "filepath", None),
    "TensorBoard": (0, "log_dir", "logs"),
}
INITIALIZERS = (
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity", "LecunNormal",
    "LecunUniform", "Ones", "Orthogonal", "RandomNormal", "RandomUniform", "TruncatedNormal",
    "VarianceScaling", "Zeros", "glorot_normal", "glorot_uniform", "he_normal",
    "he_uniform", "identity", "lecun_normal", "lecun_uniform", "ones", "orthogonal",
    "random_normal", "random_uniform", "truncated_normal", "variance_scaling", "zeros",
)  # fmt: skip
REGULARIZERS = ("L1", "L1L2", "L2", "OrthogonalRegularizer", "l1", "l2")
CONSTRAINTS = ("MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "max_norm", "min_max_norm",
               "non_neg", "unit_norm")  # fmt: skip
DTYPES = ("float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
          "uint8", "bool", "string")  # fmt: skip
# float32 first: what a layer that takes numbers is fed in the differential tests.
NUMERIC_DTYPES = ("float32", *(d for d in DTYPES if d not in ("float32", "string")))

# Keras objects that a spec may construct by calling their class name.
KERAS_OBJECTS: dict[str, str] = {
    **{n: "keras.optimizers" for n in OPTIMIZERS},
    **{n: "keras.optimizers.schedules" for n in SCHEDULES},
    **{n: "keras.losses" for n in LOSS_CLASSES},
    **{n: "keras.metrics" for n in METRIC_CLASSES if n not in LOSS_CLASSES},
    **{n: "keras.callbacks" for n in CALLBACKS},
    **{n: "keras.initializers" for n in INITIALIZERS if n[0].isupper()},
    **{n: "keras.regularizers" for n in REGULARIZERS if n[0].isupper()},
    **{n: "keras.constraints" for n in CONSTRAINTS if n[0].isupper()},
}

_MODULE_CLASSES: dict[str, tuple[str, ...]] = {
    "keras.optimizers": OPTIMIZERS,
    "keras.optimizers.schedules": SCHEDULES,
    "keras.losses": LOSS_CLASSES,
    "keras.metrics": METRIC_CLASSES,
    "keras.callbacks": CALLBACKS,
    "keras.initializers": INITIALIZERS,
    "keras.regularizers": REGULARIZERS,
    "keras.constraints": CONSTRAINTS,
}


def object_module(name: str, context: str = "keras") -> str:
    """The Keras module a spec's `Name(...)` resolves to where a value of `context` is expected.

    The context wins when it has the class: `metrics = [BinaryCrossentropy()]` is the metric,
    `loss = BinaryCrossentropy()` the loss; elsewhere the one module that has it.
    """
    if name in _MODULE_CLASSES.get(context, ()):
        return context
    return KERAS_OBJECTS.get(name, context)
