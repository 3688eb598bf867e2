#!/usr/bin/env python3
"""Fails when a function's IAM policy in a CloudFormation/SAM template grants a wildcard.

A function role is any AWS::IAM::Role that Lambda assumes. Checked: its inline policies, every
AWS::IAM::Policy attached to it, and its managed policies (none are allowed: AWS's managed
Lambda policies grant `Resource: "*"`). An action or resource containing `*` anywhere, even
inside an intrinsic function (`Fn::Sub`, `Fn::Join`), is a failure.

Usage: check_policies.py TEMPLATE [TEMPLATE ...]     (YAML with short tags, or JSON)
       check_policies.py --self-test
"""
import sys

from cfnlint.decode import decode


def strings(value):
    """Every literal string inside a value, including inside intrinsic functions."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key in ("Ref", "Fn::GetAtt"):
                continue  # names of resources, not patterns
            yield from strings(item)


def referenced_roles(value):
    """Logical ids of roles a policy's `Roles` refers to."""
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict) and "Ref" in item:
            yield item["Ref"]


def assumed_by_lambda(role):
    document = role.get("Properties", {}).get("AssumeRolePolicyDocument", {})
    return any("lambda.amazonaws.com" in s for s in strings(document.get("Statement", [])))


def statements(document):
    found = document.get("Statement", []) if isinstance(document, dict) else []
    return found if isinstance(found, list) else [found]


def problems(template):
    resources = template.get("Resources", {})
    function_roles = {
        rid for rid, r in resources.items() if r.get("Type") == "AWS::IAM::Role" and assumed_by_lambda(r)
    }
    found = []
    checked = []  # (where, document)
    for rid in sorted(function_roles):
        properties = resources[rid].get("Properties", {})
        if properties.get("ManagedPolicyArns"):
            found.append(f"{rid}: managed policies attached to a function role")
        for policy in properties.get("Policies", []):
            checked.append((f"{rid}/{policy.get('PolicyName', '?')}", policy.get("PolicyDocument", {})))
    for rid, r in resources.items():
        if r.get("Type") == "AWS::IAM::Policy":
            roles = set(referenced_roles(r.get("Properties", {}).get("Roles", [])))
            if roles & function_roles:
                checked.append((rid, r["Properties"].get("PolicyDocument", {})))
    for where, document in checked:
        for statement in statements(document):
            if statement.get("Effect") != "Allow":
                continue
            for action in strings(statement.get("Action", [])):
                if "*" in action:
                    found.append(f"{where}: wildcard action {action!r}")
            if "NotAction" in statement or "NotResource" in statement:
                found.append(f"{where}: NotAction/NotResource grants everything else")
            for resource in strings(statement.get("Resource", [])):
                if "*" in resource:
                    found.append(f"{where}: wildcard resource {resource!r}")
    return found, len(function_roles)


def self_test():
    bad = {
        "Resources": {
            "FnRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {"Statement": [{"Principal": {"Service": "lambda.amazonaws.com"}}]},
                    "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [
                        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": {"Fn::Sub": "${T.Arn}/index/*"}}]}}],
                },
            },
            "Extra": {"Type": "AWS::IAM::Policy", "Properties": {"Roles": [{"Ref": "FnRole"}], "PolicyDocument": {
                "Statement": [{"Effect": "Allow", "Action": ["sns:Publish"], "Resource": "*"}]}}},
            "OtherRole": {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": {"Statement": [{"Principal": {"Service": "states.amazonaws.com"}}]},
                "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]}},
        }
    }
    found, roles = problems(bad)
    expected = {
        "FnRole/p: wildcard action 'dynamodb:*'",
        "FnRole/p: wildcard resource '${T.Arn}/index/*'",
        "Extra: wildcard resource '*'",
    }
    assert roles == 1, roles
    assert set(found) == expected, found
    good = {"Resources": {"FnRole": {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Statement": [{"Principal": {"Service": "lambda.amazonaws.com"}}]},
        "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [
            {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": {"Fn::Sub": "${T.Arn}/index/running"}}]}}]}}}}
    assert problems(good) == ([], 1)
    print("check_policies self-test: ok")


def main(paths):
    if paths == ["--self-test"]:
        self_test()
        return 0
    failed = False
    for path in paths:
        template, matches = decode(path)
        if template is None:
            print(f"{path}: cannot parse: {matches}")
            return 2
        found, roles = problems(template)
        if roles == 0:
            print(f"{path}: no function roles found")
            failed = True
        for problem in found:
            print(f"{path}: {problem}")
        failed = failed or bool(found)
        if not found and roles:
            print(f"{path}: {roles} function roles, no wildcard actions or resources")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
