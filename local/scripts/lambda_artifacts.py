"""The Lambda artifacts `sam build` made, by function: the one place that knows
where they are, for the size check (lambda_sizes.py) and the cold-start
benchmark (bench_cold_start.py).

Each function of template.yaml (a resource built by `rust-cargolambda`) is
named by its binary (Metadata.BuildProperties.Binary) and found at
<build dir>/<logical id>/bootstrap, where `sam build` puts it. The hello-world
baseline is not in the template: it comes from `cargo lambda build` at
target/lambda/hello-world/bootstrap.
"""

from pathlib import Path

import yaml  # PyYAML, installed with aws-sam-cli in .build/venv

HELLO_WORLD = Path("target/lambda/hello-world/bootstrap")


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation YAML: short-form intrinsics (!Ref, !If, ...) load as
    None, which is enough here (Metadata and resource types never use them)."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def functions(template="template.yaml"):
    """{binary: logical id} of the template's cargo-lambda functions."""
    with open(template) as f:
        doc = yaml.load(f, Loader=_CfnLoader)
    found = {}
    for logical_id, res in doc.get("Resources", {}).items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        meta = res.get("Metadata") or {}
        if meta.get("BuildMethod") != "rust-cargolambda":
            continue
        found[meta["BuildProperties"]["Binary"]] = logical_id
    if not found:
        raise SystemExit(f"{template}: no function built by rust-cargolambda")
    return found


def artifacts(template="template.yaml", build_dir=".aws-sam/build", hello_world=True):
    """{binary: path of its bootstrap}, each checked to exist."""
    paths = {b: Path(build_dir, lid, "bootstrap") for b, lid in functions(template).items()}
    if hello_world:
        paths["hello-world"] = HELLO_WORLD
    for binary, path in paths.items():
        if not path.is_file():
            raise SystemExit(f"{path} ({binary}) is missing: build first (local/scripts/lambda-build.sh)")
    return paths
