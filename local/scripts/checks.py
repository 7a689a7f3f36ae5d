"""The record of passed and failed checks, and helpers to read CloudFormation values,
shared by check_template.py and the checks it runs."""

import re

FAILURES = []
PASSED = []


def check(ok, what):
    (PASSED if ok else FAILURES).append(what)
    return ok


def refs_of(value):
    """Logical ids a CloudFormation value points at (Ref, GetAtt, ${X} and ${X.Attr} in Sub)."""
    found = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                target = inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text, variables = (inner, {}) if isinstance(inner, str) else (inner[0], inner[1])
                for name in re.findall(r"\$\{([^}!]+)\}", text):
                    base = name.split(".")[0]
                    if base in variables:
                        found |= refs_of(variables[base])
                    elif not base.startswith("AWS::"):
                        found.add(base)
                found |= refs_of(variables)
            else:
                found |= refs_of(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= refs_of(inner)
    return found


def as_list(value):
    return value if isinstance(value, list) else [value]
