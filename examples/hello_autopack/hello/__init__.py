"""hello_autopack: a small greeting library that Autopack's demo extends."""

from hello.greet import greet

__all__ = ["greet"]
