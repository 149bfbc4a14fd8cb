"""A REST API REQUEST authorizer for the python template, written as for
AWS Lambda's Python runtime. Its identity sources are the Authorization
header and the `auth` query string (API Gateway answers 401 without calling
it when either is missing). `Bearer allow-NAME` allows NAME on the whole
stage, `Bearer deny-NAME` denies explicitly (403), `Bearer fail` is a
failure of the authorizer itself (500), anything else is 401 by raising
Exception("Unauthorized").

`invocations` counts the calls this process answered: the template sets no
ReauthorizeEvery, so API Gateway caches each answer for 300 s per identity
(header and query string), and a request answered from the cache does not
count.
"""

invocations = 0


def handler(event, context):
    global invocations
    invocations += 1
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    token = headers.get("authorization", "")
    if token == "Bearer fail":
        raise RuntimeError("the user directory is unreachable")
    verdict, _, name = token.removeprefix("Bearer ").partition("-")
    if not token.startswith("Bearer ") or verdict not in ("allow", "deny") or not name:
        raise Exception("Unauthorized")
    # arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE/METHOD/RESOURCE...
    api, stage = event["methodArn"].split("/")[:2]
    return {
        "principalId": name,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Action": "execute-api:Invoke",
                "Effect": verdict.capitalize(),
                "Resource": "%s/%s/*/*" % (api, stage),
            }],
        },
        "context": {
            "user": name,
            "tenant": (event.get("queryStringParameters") or {}).get("auth", ""),
            "invocations": invocations,
        },
    }
