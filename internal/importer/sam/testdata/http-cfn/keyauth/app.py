"""The http-cfn template's REQUEST authorizer (payload 2.0, simple
responses): the x-api-key header must be the key the function is given in
API_KEY."""

import hmac
import os


def handler(event, context):
    given = (event.get("headers") or {}).get("x-api-key", "")
    ok = hmac.compare_digest(given.encode(), os.environ["API_KEY"].encode())
    return {"isAuthorized": ok, "context": {"client": "key-holder" if ok else ""}}
