"""``Struct`` that parses into plain dicts, ``Named`` and indexed error paths.

Every decoder builds on construct's ``Struct``; this one keeps its layout
language, its context (``this``, ``this._params.version``) and its build,
and differs in what parsing returns and what it costs:

* a plain ``dict`` of the named fields, in wire order, with no ``_io`` or
  other private keys, instead of a ``Container``.  Together with the other
  parsers here, which return only ``dict``, ``list``, ``str``, ``int``,
  ``bool`` and ``None``, a decoded message is ready for JSON as parsed, so
  ``decode.to_plain`` has nothing left to convert (the tests check the
  contract on every vector and on fuzzed input);
* each field is parsed without construct's ``Renamed`` wrapper call (the
  path gets the same `` -> name``), which with the dict saves about 40% of
  a small message's parse time;
* building an incomplete or mistyped dict fails with a ``ConstructError``
  that names the field (construct lets a bare ``KeyError`` escape).

Read the fields with ``obj["name"]``; a ``Container`` allowed ``obj.name``.

>>> from construct import Int8ub
>>> Struct("a" / Int8ub, "b" / Int8ub).parse(b"\\x01\\x02")
{'a': 1, 'b': 2}
"""

from __future__ import annotations

import io

import construct
from construct import Computed, ConstructError, Container, Renamed, StopFieldError

# Errors a construct lets escape when building from a dict of the wrong shape.
BUILD_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError)


class Struct(construct.Struct):
    """construct's ``Struct``, parsed into a plain ``dict`` (see the module doc)."""

    def __init__(self, *subcons, **subconskw):
        super().__init__(*subcons, **subconskw)
        # (name, construct to call, path suffix); a Renamed carrying a
        # ``parsed`` hook is kept whole so the hook still runs.
        self._fields = tuple(
            (sc.name, sc.subcon, f" -> {sc.name}")
            if type(sc) is Renamed and sc.name is not None and sc.parsed is None
            else (sc.name, sc, "")
            for sc in self.subcons
        )

    def child_context(self, context, stream) -> Container:
        """The context construct's Struct gives its fields (``this``)."""
        inner = Container(
            _=context,
            _params=context["_params"],
            _root=None,
            _parsing=context["_parsing"],
            _building=context["_building"],
            _sizing=context["_sizing"],
            _subcons=self._subcons,
            _io=stream,
            _index=context.get("_index"),
        )
        inner["_root"] = context.get("_root", inner)
        return inner

    def _parse(self, stream, context, path):
        obj = {}
        context = self.child_context(context, stream)
        try:
            for name, sc, suffix in self._fields:
                value = sc._parsereport(stream, context, path + suffix)
                if name is not None:
                    obj[name] = context[name] = value
        except StopFieldError:
            pass
        return obj

    def _build(self, obj, stream, context, path):
        if obj is None:
            obj = {}
        if not isinstance(obj, dict):
            raise ConstructError(f"expected a dict, got {type(obj).__name__}", path=path)
        context = self.child_context(context, stream)
        context.update(obj)
        for sc in self.subcons:
            here = f"{path} -> {sc.name}"
            if sc.flagbuildnone:
                subobj = obj.get(sc.name)
            elif sc.name in obj:
                subobj = obj[sc.name]
            else:
                raise ConstructError(f"missing field {sc.name!r}", path=here)
            if sc.name is not None:
                context[sc.name] = subobj
            try:
                built = sc._build(subobj, stream, context, path)
            except StopFieldError:
                break
            except BUILD_ERRORS as exc:
                raise ConstructError(f"{type(exc).__name__}: {exc}", path=here) from None
            if sc.name is not None:
                context[sc.name] = built
        # The parent keeps this context as the field's built value (construct's
        # way); without its link back to the parent the two would be a
        # reference cycle, garbage for the cycle collector at every build.
        del context["_"]
        return context


class FocusedSeq(construct.FocusedSeq):
    """construct's ``FocusedSeq`` (parse all, return one field), parsed like Struct.

    >>> from construct import Int8ub, Terminated
    >>> FocusedSeq("a", "a" / Int8ub, Terminated).parse(b"\\x05")
    5
    """

    child_context = Struct.child_context

    def _parse(self, stream, context, path):
        context = self.child_context(context, stream)
        focus = construct.evaluate(self.parsebuildfrom, context)
        result = None
        for sc in self.subcons:
            value = sc._parsereport(stream, context, path)
            if sc.name is not None:
                context[sc.name] = value
                if sc.name == focus:
                    result = value
        return result


def _plain_context(parsing: bool, params: dict) -> Container:
    """The context construct's parse_stream/build_stream make, with
    ``_root`` set: left unset, the message's own Struct context becomes its
    own ``_root``, a reference cycle holding every parsed field until the
    cycle collector runs (no decoder reads ``this._root``)."""
    context = Container(params, _parsing=parsing, _building=not parsing, _sizing=False, _root=None)
    context["_params"] = context  # taken out again by the caller, when done
    return context


def parse_plain(construct: construct.Construct, stream, **params):
    """``construct.parse_stream(stream, **params)``, leaving no reference cycle behind.

    >>> import io
    >>> from construct import Int8ub
    >>> parse_plain(Struct("a" / Int8ub), io.BytesIO(b"\\x05"))
    {'a': 5}
    """
    context = _plain_context(True, params)
    try:
        return construct._parsereport(stream, context, "(parsing)")
    finally:
        context.pop("_params", None)


def build_plain(construct: construct.Construct, obj, **params) -> bytes:
    """``construct.build(obj, **params)``, leaving no reference cycle behind.

    >>> from construct import Int8ub
    >>> build_plain(Struct("a" / Int8ub), {"a": 5})
    b'\\x05'
    """
    stream = io.BytesIO()
    context = _plain_context(False, params)
    try:
        construct._build(obj, stream, context, "(building)")
    finally:
        context.pop("_params", None)
    return stream.getvalue()


def Named(table: dict, field: str) -> Computed:
    """A computed name for the number in ``field``: ``table.get(value)``.

    Put right after the field; None when the number has no name.

    >>> from construct import Int8ub
    >>> Struct("n" / Int8ub, "name" / Named({1: "ONE"}, "n")).parse(b"\\x01")
    {'n': 1, 'name': 'ONE'}
    """

    def name(context):
        return table.get(context[field])

    name.__qualname__ = f"Named({field!r})"
    return Computed(name)


def at_index(exc: ConstructError, path: str, index: int) -> ConstructError:
    """Put ``[index]`` into ``exc``'s path right after ``path``, in place.

    Called by vectors when element ``index`` fails, so an error deep in a
    list says which element: ``mn_list -> [17] -> pub_key_operator``
    (construct's own Array says ``mn_list -> pub_key_operator``).  Costs
    nothing until an error is raised.
    """
    old = exc.path
    if isinstance(old, str) and (old == path or old.startswith(path + " -> ")):
        new = f"{path} -> [{index}]{old[len(path) :]}"
        exc.path = new
        if exc.args and isinstance(exc.args[0], str):
            exc.args = (exc.args[0].replace(f"Error in path {old}", f"Error in path {new}", 1),)
    return exc


__all__ = ["BUILD_ERRORS", "FocusedSeq", "Named", "Struct", "at_index", "build_plain", "parse_plain"]
