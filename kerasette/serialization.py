"""The `{"class_name": ..., "config": ...}` form every saveable object (optimizer, schedule, metric,
...) is written in: plain JSON data, so a saved model never holds code."""


def class_config(obj, base: type, what: str, expected: str) -> dict:
    """`{"class_name": type(obj).__name__, "config": obj.get_config()}`, or a TypeError naming `what`
    when `obj` is not a `base` (`expected` is how the message describes a `base`)."""
    if not isinstance(obj, base):
        raise TypeError(f"Invalid {what}: expected {expected}, received {type(obj).__name__}")
    return {"class_name": type(obj).__name__, "config": obj.get_config()}



class Configurable:
    """The plain-data round trip of a saveable object: `get_config()` (its constructor arguments;
    none here), `from_config(config)` (`cls(**config)`) and a repr that lists the config."""

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Registry:
    """`get` / `serialize` / `deserialize` for one kind of saveable object (a constraint, a
    regularizer, ...), by name:

        get(None) -> None; get("name") -> strings["name"](); get(config dict) -> deserialize(it);
        get(obj) -> obj when `accepts(obj)`
        serialize(obj) -> class_config(obj), for the built-in classes only
        deserialize({"class_name": ..., "config": {...}}) -> classes[class_name].from_config(config)

    what: the kind's name in messages ("constraint"); base / a_base: its base class and how a
    message names it ("a Constraint"); expected: what `get` takes, as a TypeError says it;
    builtins: what a message suggests instead of a custom object ("a built-in one").
    """

    def __init__(self, what: str, base: type, a_base: str, classes: dict, strings: dict,
                 accepts, expected: str, builtins: str):
        self.what, self.base, self.a_base = what, base, a_base
        self.classes, self.strings, self.accepts = classes, strings, accepts
        self.expected, self.builtins = expected, builtins

    def get(self, identifier):
        """The object None (None), a string id, a config dict or an accepted object names."""
        if identifier is None:
            return None
        if isinstance(identifier, str):
            make = self.strings.get(identifier)
            if make is None:
                raise ValueError(f"Unknown {self.what}: {identifier!r}; expected one of "
                                 f"{sorted(self.strings)}, {self.a_base} or None")
            return make()
        if isinstance(identifier, dict):
            return self.deserialize(identifier)
        if self.accepts(identifier):
            return identifier
        raise TypeError(f"Invalid {self.what}: expected None, {self.expected}, received "
                        f"{identifier!r}")

    def serialize(self, obj) -> dict | None:
        """`{"class_name": ..., "config": {...}}` for a built-in object, or None for None."""
        if obj is None:
            return None
        if type(obj) not in self.classes.values():
            raise ValueError(f"Cannot serialize custom {self.what} {obj!r}; use {self.builtins} "
                             f"to save")
        return class_config(obj, self.base, self.what, self.a_base)

    def deserialize(self, config: dict):
        """The object a `serialize` dict describes (None for None)."""
        if config is None:
            return None
        if not isinstance(config, dict) or config.get("class_name") not in self.classes:
            raise ValueError(f"Invalid {self.what} config: expected {{'class_name': one of "
                             f"{sorted(self.classes)}, 'config': {{...}}}}, received {config!r}")
        return self.classes[config["class_name"]].from_config(dict(config.get("config") or {}))
