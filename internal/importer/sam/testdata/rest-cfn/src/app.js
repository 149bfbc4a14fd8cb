// The rest-cfn template's function (REST API, payload 1.0).
exports.handler = async (event) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    resource: event.resource,
    id: event.pathParameters?.id ?? null,
    principal: event.requestContext.authorizer?.principalId ?? null,
    stage: event.requestContext.stage,
  }),
});
