# An empty handler: what Portcullis's Python runtime client costs by itself.
def handler(event, context):
    return {}
