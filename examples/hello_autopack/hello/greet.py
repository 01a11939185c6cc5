"""Greetings."""


def greet(name: str) -> str:
    """Returns a greeting for `name`; an empty name greets the world."""
    name = name.strip()
    if not name:
        name = "world"
    return f"Hello, {name}!"
