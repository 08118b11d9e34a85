"""The `{"class_name": ..., "config": ...}` form every saveable object (optimizer, schedule, metric,
...) is written in: plain JSON data, so a saved model never holds code."""


def class_config(obj, base: type, what: str, expected: str) -> dict:
    """`{"class_name": type(obj).__name__, "config": obj.get_config()}`, or a TypeError naming `what`
    when `obj` is not a `base` (`expected` is how the message describes a `base`)."""
    if not isinstance(obj, base):
        raise TypeError(f"Invalid {what}: expected {expected}, received {type(obj).__name__}")
    return {"class_name": type(obj).__name__, "config": obj.get_config()}
