"""A REST TOKEN Lambda authorizer, as written for AWS Lambda's Python runtime.

It verifies the bearer token against the issuer's published keys (its JWKS,
fetched with urllib and kept between invocations), and answers with an IAM
policy: Allow when the token carries the scope this API needs, an explicit
Deny otherwise. A missing or invalid token raises Exception("Unauthorized"),
which API Gateway (and Portcullis) answer with 401. Any other failure, such
as the issuer being unreachable, is a 500.

Configuration comes from the environment: JWKS_URL, ISSUER, AUDIENCE and
REQUIRED_SCOPE. Its one third-party dependency is PyJWT with cryptography
(Debian: python3-jwt python3-cryptography; pip: "PyJWT[crypto]").
"""
import json
import os
import time
import urllib.request

import jwt

JWKS_URL = os.environ["JWKS_URL"]
ISSUER = os.environ["ISSUER"]
AUDIENCE = os.environ["AUDIENCE"]
REQUIRED_SCOPE = os.environ.get("REQUIRED_SCOPE", "pets:read")
JWKS_MAX_AGE = 300  # seconds a fetched key set is trusted before fetching again

# Module-level state: kept while the process is warm, as on Lambda.
_keys = {}
_fetched_at = 0.0


def _fetch_keys():
    global _keys, _fetched_at
    with urllib.request.urlopen(JWKS_URL, timeout=2) as response:
        jwks = json.load(response)
    _keys = {k["kid"]: jwt.PyJWK(k) for k in jwks.get("keys", []) if "kid" in k}
    _fetched_at = time.time()
    print(f"fetched {len(_keys)} keys from {JWKS_URL}")


def _signing_key(kid):
    """The published key named kid; the set is fetched again when it is
    old or does not know kid (the issuer may have rotated its keys)."""
    if kid not in _keys or time.time() - _fetched_at > JWKS_MAX_AGE:
        _fetch_keys()  # a failure here is not the caller's fault: 500
    return _keys.get(kid)


def _policy(principal_id, effect, resource, context):
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": context,
    }


def lambda_handler(event, context):
    scheme, _, token = event.get("authorizationToken", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Exception("Unauthorized")
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        raise Exception("Unauthorized")
    key = _signing_key(kid)
    if key is None:
        print(f"no published key {kid!r}")
        raise Exception("Unauthorized")
    try:
        claims = jwt.decode(token, key.key, algorithms=["RS256", "ES256"], audience=AUDIENCE, issuer=ISSUER)
    except jwt.PyJWTError as e:
        print(f"token refused: {e}")  # the reason, never the token
        raise Exception("Unauthorized")

    scopes = claims.get("scope", "").split()
    effect = "Allow" if REQUIRED_SCOPE in scopes else "Deny"
    return _policy(claims["sub"], effect, event["methodArn"], {
        "sub": claims["sub"],
        "scope": " ".join(scopes),
        "tenant": claims.get("tenant", ""),
        "request": context.aws_request_id,
    })
