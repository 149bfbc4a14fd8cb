// The node template's HTTP API Lambda authorizer (payload 2.0, simple
// responses), an ES module as written for AWS Lambda's Node.js runtime.
// `Bearer allow-NAME` is authorized with NAME in the context, `Bearer
// deny-NAME` is not (403), `Bearer fail` is a failure of the authorizer
// itself (500), `Bearer nobody` throws Error("Unauthorized") (401).
//
// `invocations` counts the calls this process answered: the template sets
// no ReauthorizeEvery, and an HTTP API caches an authorizer's answers only
// when a TTL is set, so every request calls it.
let invocations = 0;

export const handler = async (event) => {
  invocations++;
  const token = event.headers?.authorization ?? '';
  if (token === 'Bearer fail') throw new Error('the user directory is unreachable');
  if (token === 'Bearer nobody') throw new Error('Unauthorized');
  const match = /^Bearer (allow|deny)-([a-z]+)$/.exec(token);
  if (!match) return { isAuthorized: false };
  return { isAuthorized: match[1] === 'allow', context: { user: match[2], invocations } };
};
