"""Request-only routes: endpoints that take the request and read their inputs themselves.

The busiest routes read their JSON body in one pass, `Model.model_validate_json(await
request.body())`, where FastAPI's declared body takes several steps (the content type parsed,
the bytes decoded by `json`, the objects validated) inside its dependency solver. Such a route
is a `RequestOnlyRoute` (an `APIRoute` whose handler is the endpoint itself, the extension
point MLServer's `mlserver/rest/app.py` uses), so FastAPI's router and the edge's bypass
(`app.api.edge`) run the same handler.

What the route reads is declared once, as `Param`s and a `JsonBody`: the endpoint reads with
them, and `describe` asks FastAPI's own OpenAPI generator (`fastapi.openapi.utils.get_openapi`)
how a route declaring those inputs is documented; `document_inputs` puts that operation's
`parameters` or `requestBody`, and the schemas they name, into the app's document, when the
document is first asked for (describing builds the JSON schemas of the routes' models, which
a worker that is never asked for its document need not). (Not as
the route's `openapi_extra`: FastAPI would pass the operation through its OpenAPI models,
which reorder its keys, and the document would change under its readers' diffs.)

A bad input raises FastAPI's `RequestValidationError` with FastAPI's locations (`("body",
...)`, `("path", name)`, `("query", name)`) and pydantic's words for it, rendered by the
app's one problem handler; `tests/unit/test_json_body.py` and `test_hot_params.py` hold the
answers to FastAPI's own.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar, get_args

from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.params import Path
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError

M = TypeVar("M", bound=BaseModel)
REQUIRED: Any = inspect.Parameter.empty
_REF = "#/components/schemas/"


class RequestOnlyRoute(APIRoute):
    """A route whose endpoint takes only the request and answers a `Response`: its handler is
    the endpoint, without FastAPI's dependency solver (there is nothing to solve)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if list(inspect.signature(endpoint).parameters) != ["request"]:
            raise TypeError(f"{path}: a request-only endpoint takes only the request")
        if kwargs.get("dependencies"):
            raise TypeError(f"{path}: a request-only route has no dependencies to run")
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler: Callable[[Request], Any] = self.endpoint
        return handler


@dataclass(frozen=True)
class Param:
    """A path or query parameter: its name, its annotation with FastAPI's `Path(...)` or
    `Query(...)` (for the document), and its default when it may be left out."""

    name: str
    annotation: Any
    default: Any = REQUIRED
    where: str = field(init=False)
    adapter: TypeAdapter[Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        in_path = any(isinstance(mark, Path) for mark in get_args(self.annotation)[1:])
        object.__setattr__(self, "where", "path" if in_path else "query")
        object.__setattr__(self, "adapter", TypeAdapter(self.annotation))


def read_params(request: Request, params: Iterable[Param]) -> dict[str, Any]:
    """The parameters' values; a 422 naming every bad or missing one, all together."""
    values: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for param in params:
        source = request.path_params if param.where == "path" else request.query_params
        raw = source.get(param.name)
        if raw is None:
            if param.default is REQUIRED:
                errors.append(_missing(param.where, param.name))
            else:
                values[param.name] = param.default
            continue
        try:
            values[param.name] = param.adapter.validate_python(raw)
        except ValidationError as exc:
            errors += _located(exc, param.where, param.name)
    if errors:
        raise RequestValidationError(errors)
    return values


@dataclass(frozen=True)
class JsonBody(Generic[M]):
    """A JSON body read as `model` in one pass; `examples` are the document's."""

    model: type[M]
    examples: Mapping[str, Any] | None = None

    async def read(self, request: Request) -> M:
        """The body as the model; a 422 naming each field and rule it breaks."""
        raw = await request.body()
        if not raw:  # no body at all: the body is missing, not bad JSON
            raise RequestValidationError([_missing("body")])
        try:
            return self.model.model_validate_json(raw)
        except ValidationError as exc:
            raise RequestValidationError(_located(exc, "body"), body=raw) from None


def _missing(*loc: str) -> dict[str, Any]:
    return {"type": "missing", "loc": loc, "msg": "Field required", "input": None}


def _located(exc: ValidationError, *where: str) -> list[dict[str, Any]]:
    return [{**e, "loc": (*where, *e["loc"])} for e in exc.errors(include_url=False)]


@dataclass(frozen=True)
class Described:
    """How FastAPI documents the route at `method` `path` declaring some inputs: the
    operation's `parameters` and `requestBody`, and the component schemas they refer to."""

    method: str
    path: str
    operation: dict[str, Any]
    schemas: dict[str, Any]


def declared_parameters(params: Iterable[Param]) -> list[inspect.Parameter]:
    """`params` as the keyword parameters of an endpoint FastAPI would read them from."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    return [
        inspect.Parameter(p.name, keyword, annotation=p.annotation)
        if p.default is REQUIRED
        else inspect.Parameter(p.name, keyword, annotation=p.annotation, default=p.default)
        for p in params
    ]


def describe(
    method: str, path: str, *, params: Iterable[Param] = (), body: JsonBody[Any] | None = None
) -> Described:
    """The `parameters` and `requestBody` FastAPI gives a route that declares `params` and
    `body`, and the schemas they name (directly or through others)."""
    declared = declared_parameters(params)
    if body is not None:
        annotation = Annotated[body.model, Body(openapi_examples=body.examples)]  # type: ignore[name-defined]
        declared.append(
            inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
        )

    async def declaration(**_: Any) -> None: ...

    declaration.__signature__ = inspect.Signature(declared)  # type: ignore[attr-defined]
    route = APIRoute(path, declaration, methods=[method])
    document = get_openapi(title="", version="", routes=[route])
    described = document["paths"][path][method.lower()]
    operation = {
        part: described[part] for part in ("parameters", "requestBody") if part in described
    }
    every = document.get("components", {}).get("schemas", {})
    schemas = {name: every[name] for name in _named(operation, every)}
    return Described(method, path, operation, schemas)


def document_inputs(app: FastAPI, described: Callable[[], Iterable[Described]]) -> None:
    """The app's OpenAPI document with what each request-only route reads (as `described()`
    gives it, called when the document is first built), and the schemas that names in the
    components (sorted by name, as FastAPI sorts them)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        components = document.setdefault("components", {}).setdefault("schemas", {})
        for route in described():
            document["paths"][route.path][route.method.lower()].update(route.operation)
            for name, schema in route.schemas.items():
                if components.setdefault(name, schema) != schema:
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
