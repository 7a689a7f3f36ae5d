"""Translates template.yaml (AWS SAM) to plain CloudFormation JSON, offline.

Usage: python sam_translate.py TEMPLATE_YAML OUT_JSON

It runs the same aws-sam-translator that `sam deploy` runs in CloudFormation's
transform, with no AWS call: the local CodeUri of each function is replaced by
an S3 location, as `sam package` does after uploading, and managed policies
must be given by ARN (the loader that would ask IAM for names refuses).
"""

import json
import sys

from samcli.yamlhelper import yaml_parse
from samtranslator.translator.transform import transform


class OfflinePolicyLoader:
    """Stands where SAM's loader would list IAM's managed policies by name."""

    def load(self):
        raise SystemExit(
            "sam_translate: the template names a managed policy without its ARN; "
            "give the ARN (arn:${AWS::Partition}:iam::aws:policy/...) so no IAM call is needed"
        )


def main(src, dst):
    with open(src, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.setdefault("Properties", {})
        code_uri = props.get("CodeUri")
        if isinstance(code_uri, str) and not code_uri.startswith("s3://"):
            # What `sam package` writes after uploading the built artifact.
            props["CodeUri"] = f"s3://sam-artifacts-offline/{logical_id}.zip"
    translated = transform(template, {}, OfflinePolicyLoader())
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(translated, f, indent=2, sort_keys=True)
        f.write("\n")
    kinds = sorted({r["Type"] for r in translated["Resources"].values()})
    print(f"translated {src} -> {dst}: {len(translated['Resources'])} resources ({', '.join(kinds)})")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
