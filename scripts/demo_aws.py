#!/usr/bin/env python3
"""The AWS side of scripts/demo.sh, against the local endpoint (boto3 comes with moto).

  demo_aws.py ENDPOINT setup   creates the topic and a subscribed queue, picks the task type
                               with the most runs behind its limit, and prints shell variables
                               (DEMO_TOPIC, DEMO_TASK, DEMO_START, DEMO_ELAPSED) for `eval`
  demo_aws.py ENDPOINT show    prints each message the subscribed queue received (subject,
                               attributes, JSON), and the email and SMS bodies published
"""
import json
import os
import shlex
import sys
import time

import boto3

QUEUE = "overrun-demo-inbox"
TOPIC = "overrun-demo-alerts"


def client(name, endpoint):
    return boto3.client(name, endpoint_url=endpoint, region_name="us-east-1")


def setup(endpoint):
    sns, sqs, dynamodb = (client(n, endpoint) for n in ("sns", "sqs", "dynamodb"))
    topic = sns.create_topic(Name=TOPIC)["TopicArn"]
    queue = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    limits = dynamodb.query(
        TableName=os.environ["OVERRUN_STATS_TABLE"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "LIMITS"}},
    )["Items"]
    with_baseline = [item for item in limits if "upper_ms" in item]
    if not with_baseline:
        sys.exit("no task type has a baseline after the backfill")
    busiest = max(with_baseline, key=lambda item: int(item["n"]["N"]))
    task = busiest["sk"]["S"]
    upper_s = float(busiest["upper_ms"]["N"]) / 1000
    # Well past the critical limit (twice the limit by default), whatever the run's own limit.
    elapsed = max(int(upper_s * 4), 600)
    start = int(time.time()) - elapsed
    for name, value in [("DEMO_TOPIC", topic), ("DEMO_TASK", task), ("DEMO_START", start),
                        ("DEMO_ELAPSED", f"{elapsed // 60} min")]:
        print(f"{name}={shlex.quote(str(value))}")


def published(endpoint):
    """Each message published to the demo topic, per-protocol bodies included, as moto kept it."""
    import urllib.request

    # moto serialises its whole state here: give it time.
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=180) as response:
        state = json.load(response)
    for topic in state.get("sns", {}).get("Topic", []):
        if topic.get("name") == TOPIC:
            return [(subject, json.loads(message)) for _, message, subject, *_ in topic["sent_notifications"]]
    return []


def show(endpoint):
    sqs = client("sqs", endpoint)
    queue = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    delivered = sqs.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
    ).get("Messages", [])
    if not delivered:
        sys.exit("the queue subscribed to the topic received nothing: the checker published nothing")
    for message in delivered:
        envelope = json.loads(message["Body"])
        attributes = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
        print("-" * 78)
        print(f"[received by the SQS subscription] Subject: {envelope.get('Subject')}")
        print(f"Attributes: {json.dumps(attributes, sort_keys=True)}")
        print(f"[json]\n{json.dumps(json.loads(envelope['Message']), indent=2, ensure_ascii=False)}")
    for subject, bodies in published(endpoint):
        print("-" * 78)
        print(f"[published] Subject: {subject}")
        print(f"[email]\n{bodies['email']}")
        print(f"[sms]\n{bodies['sms']}")
    print("-" * 78)
    print(f"{len(delivered)} message(s) published by the checker and received through SQS")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[2] not in ("setup", "show"):
        sys.exit(__doc__)
    {"setup": setup, "show": show}[sys.argv[2]](sys.argv[1])
