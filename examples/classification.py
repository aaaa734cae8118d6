"""A softmax classifier: Dense layers + CategoricalCrossentropy(from_logits=True) + Adam.

The data are generated here (no download): three classes of 2-D points, each a noisy ring
segment around the origin, so the classes interleave and a linear model is not enough.
The model outputs logits; the loss applies log-softmax itself (stable for large logits),
and ``predict`` followed by ``argmax`` gives the class.

Stated result: at least 95% accuracy on the 150 held-out test points (the test suite checks it).
"""
import numpy as np

import tinygrad_loss as tl
from tinygrad_loss.losses import CategoricalCrossentropy
from tinygrad_loss.nn import Dense, Sequential
from tinygrad_loss.optim import Adam

STATED_TEST_ACCURACY = 0.95


def make_spirals(n_per_class: int, n_classes: int = 3, noise: float = 0.2):
    """Points (x, y) on ``n_classes`` interleaved spiral arms, and one-hot labels."""
    rng = tl.get_generator()
    xs, labels = [], []
    for k in range(n_classes):
        r = np.linspace(0.2, 1.0, n_per_class)
        theta = 2 * np.pi * k / n_classes + 4.0 * r + rng.normal(0.0, noise, n_per_class)
        xs.append(np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1))
        labels.append(np.full(n_per_class, k))
    x, y = np.concatenate(xs), np.concatenate(labels)
    order = rng.permutation(len(x))
    return x[order].astype(np.float32), np.eye(n_classes, dtype=np.float32)[y[order]]


tl.manual_seed(0)
x, y = make_spirals(200)  # 600 points
x_train, y_train, x_test, y_test = x[:450], y[:450], x[450:], y[450:]

model = Sequential([
    Dense(32, activation="relu", input_shape=(2,)),
    Dense(32, activation="relu"),
    Dense(3),  # logits
])
model.compile(optimizer=Adam(learning_rate=0.01), loss=CategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
model.summary()
history = model.fit(x_train, y_train, epochs=60, batch_size=32, validation_split=0.1, verbose=0)

test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
predicted = model.predict(x_test).argmax(axis=1)
print(f"train loss: first epoch {history.history['loss'][0]:.4f}, last epoch {history.history['loss'][-1]:.4f}")
print(f"validation accuracy (last epoch): {history.history['val_accuracy'][-1]:.3f}")
print(f"test loss {test_loss:.4f}, test accuracy {test_accuracy:.3f} (stated: >= {STATED_TEST_ACCURACY})")
print("test predictions per class:", np.bincount(predicted, minlength=3).tolist())
