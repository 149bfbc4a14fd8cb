"""The python-http template's Lambda authorizer for an HTTP API on payload
format 1.0: it answers with an IAM policy. `Bearer allow-NAME` allows NAME
on every route of the API, `Bearer deny-NAME` denies explicitly, `Bearer
fail` is a failure of the authorizer itself, anything else is 401 by
raising Exception("Unauthorized")."""


def lambda_handler(event, context):
    token = (event.get("headers") or {}).get("authorization", "")
    if token == "Bearer fail":
        raise RuntimeError("the user directory is unreachable")
    verdict, _, name = token.removeprefix("Bearer ").partition("-")
    if not token.startswith("Bearer ") or verdict not in ("allow", "deny") or not name:
        raise Exception("Unauthorized")
    api = event["methodArn"].split("/")[0]
    return {
        "principalId": name,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": verdict.capitalize(), "Resource": api + "/*"}],
        },
        "context": {"user": name},
    }
