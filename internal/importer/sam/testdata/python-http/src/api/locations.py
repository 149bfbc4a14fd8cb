"""The python-http template's locations function (HTTP API, payload
2.0)."""

import json
import os


def lambda_handler(event, context):
    authorizer = (event["requestContext"].get("authorizer") or {}).get("lambda") or {}
    body = {
        "route": event["routeKey"],
        "location": (event.get("pathParameters") or {}).get("locationid"),
        "user": authorizer.get("user"),
        "table": os.environ["LOCATIONS_TABLE"],
    }
    return {"statusCode": 200, "body": json.dumps(body, sort_keys=True, separators=(",", ":"))}
