// The node template's items function (HTTP API, payload 2.0), CommonJS as
// written for AWS Lambda's Node.js runtime: it answers with the route, who
// the authorizer let in, and the settings the template gave it. `?crash=1`
// makes it fail, which an HTTP API answers with 500.
exports.getAll = async (event, context) => {
  if (event.queryStringParameters?.crash) throw new Error('asked to crash');
  const lambda = event.requestContext.authorizer?.lambda ?? {};
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      route: event.routeKey,
      id: event.pathParameters?.id ?? null,
      user: lambda.user ?? null,
      authorizerCalls: lambda.invocations ?? null,
      table: process.env.TABLE_NAME,
      timeout: process.env.AWS_LAMBDA_FUNCTION_TIMEOUT,
      memory: context.memoryLimitInMB,
    }),
  };
};
