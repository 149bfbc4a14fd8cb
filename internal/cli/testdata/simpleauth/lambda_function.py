"""An HTTP API payload 2.0 authorizer with simple responses: the caller is
authorized when the x-api-key header is "open-sesame"."""


def lambda_handler(event, context):
    key = event.get("headers", {}).get("x-api-key", "")
    return {"isAuthorized": key == "open-sesame", "context": {"tenant": "acme"}}
