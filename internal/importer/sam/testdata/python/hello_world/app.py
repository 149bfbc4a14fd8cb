"""The python template's hello function (REST API, payload 1.0): it answers
with what the authorizer decided, the stage, and the settings the template
gave it (PARAM from SSM, the timeout and memory size)."""

import json
import os


def lambda_handler(event, context):
    authorizer = event["requestContext"].get("authorizer") or {}
    body = {
        "resource": event["resource"],
        "stage": event["requestContext"]["stage"],
        "principal": authorizer.get("principalId"),
        "user": authorizer.get("user"),
        "tenant": authorizer.get("tenant"),
        "authorizer_calls": authorizer.get("invocations"),
        "param": os.environ.get("PARAM"),
        "timeout": os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT"),
        "memory": context.memory_limit_in_mb,
    }
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body, sort_keys=True, separators=(",", ":")),
    }
