from hello.greet import greet


def test_greets_by_name():
    assert greet("Ada") == "Hello, Ada!"


def test_strips_whitespace():
    assert greet("  Ada ") == "Hello, Ada!"


def test_empty_name_greets_the_world():
    assert greet("") == "Hello, world!"
