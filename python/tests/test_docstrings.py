# Every public call of the module says what it does.
import inspect
import re

import pymetal

# The classes Python code constructs itself; the others come from calls (device.compile, ...).
CONSTRUCTED = {"Device", "PyMetal"}


def public_calls():
    yield "pymetal", pymetal
    for name, member in vars(pymetal).items():
        if name.startswith("_"):
            continue
        yield name, member
        if inspect.isclass(member) and not issubclass(member, BaseException):
            for attribute in vars(member):
                if not attribute.startswith("_") or attribute == "__call__" or (
                        attribute == "__init__" and name in CONSTRUCTED):
                    yield f"{name}.{attribute}", getattr(member, attribute)


def description(doc):
    # pybind11 starts a function's docstring with its signature lines: keep only what follows them.
    lines = [line for line in (doc or "").splitlines() if not re.match(r"^\s*(\d+\. )?\w+\(.*\)( -> .*)?$", line)]
    return "\n".join(lines).strip()


def test_every_public_call_has_a_docstring():
    undocumented = [name for name, member in public_calls() if len(description(member.__doc__)) < 10]
    assert not undocumented, undocumented
