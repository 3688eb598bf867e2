#!/usr/bin/env python3
"""Fails when the deploy paths disagree on Overrun's defaults.

Checked: every `parameter_overrides` entry of samconfig.toml equals the SAM template's default
for that parameter (samconfig must not quietly deploy other settings than the template, as a
`K=2` there once ran the tailored method at k = 2), and every OVERRUN_* variable the SAM template
gives the functions by default has the same value in the synthesized CDK template (variables the
SAM template leaves empty, meaning "the method's own", must be absent or empty there too).

Usage: check_defaults.py TEMPLATE.yaml SAMCONFIG.toml CDK_TEMPLATE.json
       check_defaults.py --self-test
"""
import sys
import tomllib

from cfnlint.decode import decode


def same(a, b):
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a) == str(b)


def sam_defaults(template):
    """The OVERRUN_* variables of the functions with every parameter at its default."""
    parameters = {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()}
    variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    found = {}
    for name, value in variables.items():
        if isinstance(value, dict) and "Ref" in value and value["Ref"] in parameters:
            found[name] = parameters[value["Ref"]]
    return parameters, found


def cdk_variables(template):
    """OVERRUN_* variables shared by every function of the CDK template."""
    merged = {}
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        for name, value in resource.get("Properties", {}).get("Environment", {}).get("Variables", {}).items():
            if name.startswith("OVERRUN_") and isinstance(value, str):
                merged[name] = value
    return merged


def problems(template, samconfig, cdk):
    found = []
    parameters, defaults = sam_defaults(template)
    overrides = samconfig.get("default", {}).get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    for pair in overrides.split():
        name, _, value = pair.partition("=")
        if name not in parameters:
            found.append(f"samconfig.toml sets {name}, which the template does not have")
        elif not same(value.strip('"'), parameters[name]):
            found.append(f"samconfig.toml sets {name}={value}, the template's default is {parameters[name]!r}")
    if not defaults:
        found.append("the SAM template gives the functions no OVERRUN_* parameters")
    cdk_values = cdk_variables(cdk)
    for name, default in sorted(defaults.items()):
        value = cdk_values.get(name, "")
        if not same(value, default):
            found.append(f"{name}: SAM's default is {default!r}, the CDK app's is {value!r}")
    return found


def self_test():
    template = {
        "Parameters": {"K": {"Default": ""}, "WindowDays": {"Default": 14}, "Method": {"Default": "tailored"}},
        "Globals": {"Function": {"Environment": {"Variables": {
            "OVERRUN_K": {"Ref": "K"}, "OVERRUN_WINDOW_DAYS": {"Ref": "WindowDays"},
            "OVERRUN_METHOD": {"Ref": "Method"}, "OVERRUN_RUNS_TABLE": {"Ref": "RunsTable"}}}}},
    }
    cdk = {"Resources": {"F": {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": {
        "OVERRUN_WINDOW_DAYS": "14", "OVERRUN_METHOD": "tailored"}}}}}}
    agreeing = {"default": {"deploy": {"parameters": {"parameter_overrides": "WindowDays=14"}}}}
    assert problems(template, agreeing, cdk) == [], problems(template, agreeing, cdk)
    k2 = {"default": {"deploy": {"parameters": {"parameter_overrides": "K=2 WindowDays=14"}}}}
    assert problems(template, k2, cdk) == ["samconfig.toml sets K=2, the template's default is ''"]
    other_cdk = {"Resources": {"F": {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": {
        "OVERRUN_WINDOW_DAYS": "7", "OVERRUN_METHOD": "tailored", "OVERRUN_K": "6"}}}}}}
    assert problems(template, agreeing, other_cdk) == [
        "OVERRUN_K: SAM's default is '', the CDK app's is '6'",
        "OVERRUN_WINDOW_DAYS: SAM's default is '14', the CDK app's is '7'",
    ], problems(template, agreeing, other_cdk)
    print("check_defaults self-test: ok")


def main(argv):
    if argv == ["--self-test"]:
        self_test()
        return 0
    if len(argv) != 3:
        print(__doc__)
        return 2
    template, matches = decode(argv[0])
    cdk, cdk_matches = decode(argv[2])
    if template is None or cdk is None:
        print(f"cannot parse: {matches or cdk_matches}")
        return 2
    with open(argv[1], "rb") as file:
        samconfig = tomllib.load(file)
    found = problems(template, samconfig, cdk)
    for problem in found:
        print(problem)
    if not found:
        print("SAM template, samconfig.toml and the CDK app agree on every default")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
