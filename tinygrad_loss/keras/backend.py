"""``keras.backend``: ``clear_session`` resets automatic layer names."""
from ..nn.module import clear_session

__all__ = ["clear_session"]
