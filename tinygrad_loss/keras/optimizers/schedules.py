"""``keras.optimizers.schedules``: learning-rate schedules."""
from ...optim import ExponentialDecay, LearningRateSchedule

__all__ = ["ExponentialDecay", "LearningRateSchedule"]
