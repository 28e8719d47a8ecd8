"""The Keras class of a layer type a model file names: ``keras.layers.<type>``, or one of
the few layers ``keras.applications`` defines for itself (not in ``keras.layers``)."""

from __future__ import annotations

import importlib
from typing import Any

#: Layer types defined by ``keras.applications`` models -> the module that defines them.
APPLICATION_LAYERS = {
    "LayerScale": "keras.src.applications.convnext",
}


def layer_class(keras: Any, typ: str) -> type | None:
    """The Keras class for layer type ``typ``; None when Keras has no such layer."""
    cls = getattr(keras.layers, typ, None)
    if isinstance(cls, type):
        return cls
    module = APPLICATION_LAYERS.get(typ)
    if module is None:
        return None
    try:
        found = getattr(importlib.import_module(module), typ, None)
    except ImportError:
        return None
    return found if isinstance(found, type) else None


#: Variables application layers create without a name (Keras then calls them
#: ``variable``, ``variable_1``, ... in creation order) -> the attribute that holds them,
#: which is their name in a weights file.
UNNAMED_VARIABLES = {"LayerScale": ("gamma",)}


def variable_path(layer: Any, variable: Any) -> str:
    """``variable.path``, its last part replaced by the attribute name for an unnamed
    variable of an application layer (LayerScale's ``gamma``) inside ``layer``."""
    sub = layer
    while sub is not None:  # through wrappers down to the layer that owns it
        for attr in UNNAMED_VARIABLES.get(type(sub).__name__, ()):
            if getattr(sub, attr, None) is variable:
                return variable.path.rsplit("/", 1)[0] + "/" + attr
        sub = getattr(sub, "layer", None)
    return variable.path
