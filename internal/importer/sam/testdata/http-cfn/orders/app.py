"""The http-cfn template's orders function (HTTP API, payload 2.0): it
answers with the route, the path's id, and who the authorizer let in."""

import json


def lambda_handler(event, context):
    authorizer = event["requestContext"].get("authorizer") or {}
    claims = (authorizer.get("jwt") or {}).get("claims") or {}
    body = {
        "route": event["routeKey"],
        "id": (event.get("pathParameters") or {}).get("id"),
        "sub": claims.get("sub"),
        "client": (authorizer.get("lambda") or {}).get("client"),
    }
    return {"statusCode": 200, "body": json.dumps(body, sort_keys=True, separators=(",", ":"))}
