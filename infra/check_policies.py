#!/usr/bin/env python3
"""Fails when a function's IAM policy in a CloudFormation/SAM template grants a wildcard, or
lets a function other than the nightly one write stats items it does not own.

A function role is any AWS::IAM::Role that Lambda assumes. Checked: its inline policies, every
AWS::IAM::Policy attached to it, and its managed policies (none are allowed: AWS's managed
Lambda policies grant `Resource: "*"`). An action or resource containing `*` anywhere, even
inside an intrinsic function (`Fn::Sub`, `Fn::Join`), is a failure. A write to the stats table
(UpdateItem, PutItem, DeleteItem, BatchWriteItem) by any role but the nightly (baseline) one must
be limited by a `ForAllValues:StringLike` condition on `dynamodb:LeadingKeys` to day items
(`DAY#*`), cohort members (`COHORT#*`), starts (`STARTS#*`) and missed-start incidents (`MISSED`):
never limits, overrides or schedules (`LIMITS`, `SCHEDULES`). Secrets
Manager may only be read (`GetSecretValue`), of named secrets: a function that could list, change
or delete secrets could read or lock out every source's credentials.

The roles EventBridge assumes (a member account's forwarding rule) are held to the same: no
wildcard. An event bus's resource policy (the central bus that member accounts put events on)
may grant `events:PutEvents` only, on that bus only, to named accounts or to every principal of
one AWS Organization (`Principal: "*"` with an `aws:PrincipalOrgID` condition): never to anyone.

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


def assumed_by(role, service):
    document = role.get("Properties", {}).get("AssumeRolePolicyDocument", {})
    return any(service in s for s in strings(document.get("Statement", [])))


def assumed_by_lambda(role):
    return assumed_by(role, "lambda.amazonaws.com")


def bus_policy_problems(rid, properties):
    """What an event bus policy grants beyond PutEvents on its bus to named accounts or one
    organization."""
    found = []
    statement = properties.get("Statement")
    if statement is None:
        return [f"{rid}: an event bus policy given as a raw Policy document is not checked: use Statement"]
    actions = list(strings(statement.get("Action", [])))
    if statement.get("Effect") != "Allow":
        return found
    if actions != ["events:PutEvents"]:
        found.append(f"{rid}: an event bus may only be granted events:PutEvents, not {actions}")
    for resource in strings(statement.get("Resource", [])):
        if "*" in resource:
            found.append(f"{rid}: wildcard resource {resource!r}")
    if "Resource" not in statement:
        found.append(f"{rid}: no Resource: name the bus")
    principal = statement.get("Principal")
    organization = statement.get("Condition", {}).get("StringEquals", {}).get("aws:PrincipalOrgID")
    if principal == "*":
        if not organization:
            found.append(f"{rid}: Principal \"*\" without an aws:PrincipalOrgID condition lets anyone put events")
    else:
        named = principal.get("AWS") if isinstance(principal, dict) else None
        if named is None or any("*" in p for p in strings(named)):
            found.append(f"{rid}: the principals must be named accounts (Principal: {{AWS: [...]}}), got {principal!r}")
    return found


WRITE_ACTIONS = {"dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
OWNED_LEADING_KEYS = {"DAY#*", "COHORT#*", "STARTS#*", "MISSED"}


def referenced_resources(value):
    """Logical ids a value refers to with Ref or Fn::GetAtt (at any depth)."""
    if isinstance(value, list):
        for item in value:
            yield from referenced_resources(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                yield item
            elif key == "Fn::GetAtt":
                yield item[0] if isinstance(item, list) else str(item).split(".")[0]
            else:
                yield from referenced_resources(item)


def leading_keys(statement):
    condition = statement.get("Condition", {}).get("ForAllValues:StringLike", {})
    keys = condition.get("dynamodb:LeadingKeys", [])
    return set(keys if isinstance(keys, list) else [keys])


def stats_write_problem(where, roles, statement):
    """A write to the stats table outside the items the role owns, or None."""
    if any(role.lower().startswith("baseline") for role in roles):
        return None
    actions = set(strings(statement.get("Action", [])))
    tables = [rid for rid in referenced_resources(statement.get("Resource", [])) if "statstable" in rid.lower()]
    if not (actions & WRITE_ACTIONS and tables):
        return None
    keys = leading_keys(statement)
    if keys and keys <= OWNED_LEADING_KEYS:
        return None
    return f"{where}: writes the stats table beyond DAY#*/COHORT#*/STARTS#*/MISSED items (LeadingKeys {sorted(keys) or 'unlimited'})"


def secrets_problem(where, statement):
    """A Secrets Manager action other than reading a secret's value, or None."""
    for action in strings(statement.get("Action", [])):
        if action.lower().startswith("secretsmanager:") and action != "secretsmanager:GetSecretValue":
            return f"{where}: {action!r}: a function may only read secrets (secretsmanager:GetSecretValue)"
    return None


def statements(document):
    found = document.get("Statement", []) if isinstance(document, dict) else []
    return found if isinstance(found, list) else [found]


def problems(template):
    resources = template.get("Resources", {})
    function_roles = {
        rid
        for rid, r in resources.items()
        if r.get("Type") == "AWS::IAM::Role"
        and (assumed_by_lambda(r) or assumed_by(r, "events.amazonaws.com"))
    }
    found = []
    for rid, r in resources.items():
        if r.get("Type") == "AWS::Events::EventBusPolicy":
            found.extend(bus_policy_problems(rid, r.get("Properties", {})))
    checked = []  # (where, document)
    for rid in sorted(function_roles):
        properties = resources[rid].get("Properties", {})
        if properties.get("ManagedPolicyArns"):
            found.append(f"{rid}: managed policies attached to a function role")
        for policy in properties.get("Policies", []):
            checked.append((f"{rid}/{policy.get('PolicyName', '?')}", {rid}, policy.get("PolicyDocument", {})))
    for rid, r in resources.items():
        if r.get("Type") == "AWS::IAM::Policy":
            roles = set(referenced_roles(r.get("Properties", {}).get("Roles", [])))
            if roles & function_roles:
                checked.append((rid, roles & function_roles, r["Properties"].get("PolicyDocument", {})))
    for where, roles, document in checked:
        for statement in statements(document):
            if statement.get("Effect") != "Allow":
                continue
            for problem in (stats_write_problem(where, roles, statement), secrets_problem(where, statement)):
                if problem:
                    found.append(problem)
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

    def role(name, statement):
        return {name: {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Statement": [{"Principal": {"Service": "lambda.amazonaws.com"}}]},
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [statement]}}]}}}

    write = {"Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": {"Fn::GetAtt": ["StatsTable", "Arn"]}}
    owned = dict(write, Condition={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["DAY#*", "COHORT#*"]}})
    limits = dict(write, Condition={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["DAY#*", "LIMITS"]}})
    assert problems({"Resources": role("IngestRole", owned)}) == ([], 1)
    assert problems({"Resources": role("BaselineRole", write)}) == ([], 1), "the nightly job writes limits"
    found, _ = problems({"Resources": role("IngestRole", write)})
    assert found == ["IngestRole/p: writes the stats table beyond DAY#*/COHORT#*/STARTS#*/MISSED items (LeadingKeys unlimited)"], found
    found, _ = problems({"Resources": role("checkerRole1234", limits)})
    assert len(found) == 1 and "LIMITS" in found[0], found
    read = {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": {"Ref": "SourcesSecret"}}
    assert problems({"Resources": role("HttpIngestRole", read)}) == ([], 1)
    change = dict(read, Action=["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"])
    found, _ = problems({"Resources": role("HttpIngestRole", change)})
    assert found == ["HttpIngestRole/p: 'secretsmanager:PutSecretValue': a function may only read secrets "
                     "(secretsmanager:GetSecretValue)"], found
    bus = {"Fn::GetAtt": ["CentralEventBus", "Arn"]}
    org = {"Effect": "Allow", "Principal": "*", "Action": "events:PutEvents", "Resource": bus,
           "Condition": {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "Org"}}}}
    accounts = {"Effect": "Allow", "Principal": {"AWS": ["111122223333"]}, "Action": "events:PutEvents",
                "Resource": bus}
    assert bus_policy_problems("P", {"Statement": org}) == []
    assert bus_policy_problems("P", {"Statement": accounts}) == []
    anyone = {k: v for k, v in org.items() if k != "Condition"}
    found = bus_policy_problems("P", {"Statement": anyone})
    assert len(found) == 1 and "lets anyone" in found[0], found
    found = bus_policy_problems("P", {"Statement": dict(accounts, Action="events:*")})
    assert len(found) == 1 and "only be granted events:PutEvents" in found[0], found
    found = bus_policy_problems("P", {"Statement": dict(accounts, Principal={"AWS": "*"})})
    assert len(found) == 1 and "named accounts" in found[0], found
    forwarding = {"ForwardRole": {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Statement": [{"Principal": {"Service": "events.amazonaws.com"}}]},
        "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [
            {"Effect": "Allow", "Action": "events:PutEvents", "Resource": "*"}]}}]}}}
    assert problems({"Resources": forwarding}) == (["ForwardRole/p: wildcard resource '*'"], 1)
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
            print(f"{path}: {roles} function roles, no wildcard actions or resources, secrets only read")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
