"""Evaluates a CloudFormation template's intrinsic functions for given
parameter values, offline, as CloudFormation would at deploy time: Ref to a
parameter becomes its value, Fn::If picks a branch by its condition,
AWS::NoValue removes the key or list element it stands for, and Fn::Sub with
only parameters and pseudo parameters becomes a string. Refs and GetAtts of
resources are left as they are, so checks can still see what points where.

Used by check_template.py to assert what each deployment (defaults, every
optional setting given) would actually configure.
"""

import re

NO_VALUE = object()

# The pseudo parameters a check may meet, with stand-in values.
PSEUDO = {
    "AWS::StackName": "teststack",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}


class Resolver:
    def __init__(self, template, overrides=None):
        params = template.get("Parameters", {})
        self.values = {name: p["Default"] for name, p in params.items() if "Default" in p}
        self.values.update(overrides or {})
        missing = sorted(set(params) - set(self.values))
        if missing:
            raise ValueError(f"no value for parameters {missing}")
        self.values.update(PSEUDO)
        self.conditions = template.get("Conditions", {})
        self._decided = {}

    def condition(self, name):
        if name not in self._decided:
            self._decided[name] = bool(self._truth(self.conditions[name]))
        return self._decided[name]

    def _truth(self, expr):
        (fn, args), = expr.items()
        if fn == "Condition":
            return self.condition(args)
        if fn == "Fn::Equals":
            left, right = (self.resolve(a) for a in args)
            return str(left) == str(right)
        if fn == "Fn::Not":
            return not self._truth(args[0])
        if fn == "Fn::And":
            return all(self._truth(a) for a in args)
        if fn == "Fn::Or":
            return any(self._truth(a) for a in args)
        raise ValueError(f"unsupported condition function {fn}")

    def resolve(self, value):
        """The value as deployed with these parameters (NO_VALUE if removed)."""
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (fn, args), = value.items()
            if fn == "Ref":
                if args == "AWS::NoValue":
                    return NO_VALUE
                return self.values.get(args, value)
            if fn == "Fn::If":
                cond, yes, no = args
                return self.resolve(yes if self.condition(cond) else no)
            if fn == "Fn::Sub" and isinstance(args, str):
                names = re.findall(r"\$\{([^}!]+)\}", args)
                if all(n in self.values for n in names):
                    return re.sub(r"\$\{([^}!]+)\}", lambda m: str(self.values[m.group(1)]), args)
                return value
        out = {}
        for key, inner in value.items():
            resolved = self.resolve(inner)
            if resolved is not NO_VALUE:
                out[key] = resolved
        return out
