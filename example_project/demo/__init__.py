"""The demo app: sample job definitions and a ``demo`` command that enqueues them."""
