// The rest-cfn template's TOKEN authorizer, a callback-style handler as
// older AWS Lambda Node.js examples write them. The token is a word in the
// authorizationToken header: allow gets an Allow policy for the method
// called (and only that method), deny an explicit Deny, unauthorized is
// 401 by callback("Unauthorized"), anything else an error (500).
function policy(principalId, effect, resource) {
  return {
    principalId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }],
    },
    context: { token: 'checked' },
  };
}

exports.handler = function (event, context, callback) {
  switch (event.authorizationToken) {
    case 'allow':
      callback(null, policy('user', 'Allow', event.methodArn));
      break;
    case 'deny':
      callback(null, policy('user', 'Deny', event.methodArn));
      break;
    case 'unauthorized':
      callback('Unauthorized');
      break;
    default:
      callback('Error: Invalid token');
  }
};
