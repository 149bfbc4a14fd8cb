// A REST TOKEN Lambda authorizer, as written for AWS Lambda's Node.js
// runtime (CommonJS, exports.handler). It is a demonstration, not a way to
// check real tokens: the "token" is a word. `Bearer allow-NAME` gets an
// Allow policy for the method called, with NAME as principal and context;
// `Bearer deny-NAME` gets a deny-all policy (403); `Bearer fail` is a
// failure of the authorizer itself (500); anything else is 401, by
// throwing Error("Unauthorized") as API Gateway expects.
let invocations = 0; // module-level state: kept while the process is warm

function allowPolicy(principalId, methodArn, context) {
  return {
    principalId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: methodArn }],
    },
    context,
  };
}

function denyAllPolicy(principalId) {
  return {
    principalId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: '*', Effect: 'Deny', Resource: '*' }],
    },
  };
}

exports.handler = async (event, context) => {
  invocations++;
  const match = /^Bearer (allow|deny)-([a-z]+)$/.exec(event.authorizationToken || '');
  if (event.authorizationToken === 'Bearer fail') {
    throw new Error('the user directory is unreachable');
  }
  if (!match) {
    console.log('no usable token');
    throw new Error('Unauthorized');
  }
  const [, verdict, name] = match;
  console.log(`${verdict} ${name}`);
  if (verdict === 'deny') return denyAllPolicy(name);
  return allowPolicy(name, event.methodArn, { user: name, invocations, requestId: context.awsRequestId });
};
