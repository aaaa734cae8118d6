"""tinygrad_loss: a small, exact reverse-mode autodiff framework on NumPy, for learning losses.

The public API is re-exported here; nothing is defined in this file. The op functions
(``exp``, ``sum``, ``matmul``...) come from the op registry: ``ops.__all__`` lists them.
"""
from .tensor import Tensor, set_default_dtype, get_default_dtype
from .autograd import (backward, grad, no_grad, enable_grad, is_grad_enabled, name_scope, current_scope,
                       topological_order, visit_order, trace_backward, GraphReleasedError)
from .ops import *  # noqa: F401,F403 -- every public function of the op registry (ops.__all__)
from .creation import (manual_seed, get_generator, tensor, zeros, ones, full, arange, randn, rand, uniform,
                       zeros_like, ones_like, full_like, randn_like, rand_like)
from .gradcheck import gradcheck, gradgradcheck, GradcheckResult
from .viz import (to_dot, draw, render, backprop_steps, render_backprop, BackpropSteps, plot_model, detect_anomaly,
                  AnomalyError)
from . import losses
from .losses import (Loss, MeanSquaredError, MeanAbsoluteError, BinaryCrossentropy, CategoricalCrossentropy,
                     SparseCategoricalCrossentropy)
from . import nn, optim, metrics, callbacks, training, keras
from .nn import Module, Layer, Dense, Dropout, Model, Sequential
from .optim import Optimizer, SGD, Adam, AdamW, RMSprop, Adagrad, ExponentialDecay
from .callbacks import (History, EarlyStopping, TerminateOnNaN, LambdaCallback, ModelCheckpoint, LearningRateScheduler,
                        ReduceLROnPlateau, CSVLogger, WeightHistory)
# TensorFlow custom-loop names (issue 12): tf.Variable, tf.GradientTape, tf.reduce_mean, tf.random...
from .tf_compat import (Variable, constant, convert_to_tensor, GradientTape, reduce_mean, reduce_sum, reduce_max,
                        reduce_min, float32, float64, random)
from . import numpy_interop, inplace  # noqa: F401  (bind Tensor.__array_ufunc__/__array_function__, t += x...)

__version__ = "0.1.0"
