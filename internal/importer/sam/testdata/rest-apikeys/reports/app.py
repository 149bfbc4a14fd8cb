import json


def handler(event, context):
    identity = event["requestContext"]["identity"]
    return {"statusCode": 200, "body": json.dumps({"resource": event["resource"], "apiKeyId": identity.get("apiKeyId")}, sort_keys=True)}
