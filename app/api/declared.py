"""What a hot route reads itself, declared the FastAPI way for the OpenAPI document.

A hot route (`app.api.edge`) takes only the request and reads its body (`app.api.body`) and
its parameters (`app.api.params`) itself. Its declaration is a function with the signature
FastAPI would have had (the body model, the path and query parameters): the document takes
the route's `parameters` and `requestBody`, and the schemas they name, from FastAPI's own
description of that signature, so the document is what it was when FastAPI read them. The
tests serve each declaration as a FastAPI route beside the hot one and compare the answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

Declaration = Callable[..., Any]


def document_declared(app: FastAPI, declared: dict[tuple[str, str], Declaration]) -> None:
    """The app's OpenAPI document with each (method, path) described as `declared` says."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        probe = FastAPI()
        for (method, path), declaration in declared.items():
            probe.add_api_route(path, declaration, methods=[method])
        described = probe.openapi()
        schemas = described.get("components", {}).get("schemas", {})
        components = document.setdefault("components", {}).setdefault("schemas", {})
        for (method, path), _ in declared.items():
            operation = document["paths"][path][method.lower()]
            for part in ("parameters", "requestBody"):
                if part in described["paths"][path][method.lower()]:
                    operation[part] = described["paths"][path][method.lower()][part]
                    for name in _named(operation[part], schemas):
                        if components.setdefault(name, schemas[name]) != schemas[name]:
                            raise RuntimeError(f"two different schemas are named {name}")
        document["components"]["schemas"] = dict(sorted(components.items()))
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _named(part: Any, schemas: dict[str, Any]) -> set[str]:
    """The names of the component schemas `part` refers to, directly or through others."""
    names: set[str] = set()
    todo = [part]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(_REF):
                name = ref.removeprefix(_REF)
                if name not in names:
                    names.add(name)
                    todo.append(schemas[name])
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return names


_REF = "#/components/schemas/"
