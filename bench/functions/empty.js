// An empty handler: what Portcullis's Node.js runtime client costs by itself.
exports.handler = async () => ({});
