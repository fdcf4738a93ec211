"""The HTTP API: one aws-lambda-powertools resolver, served by the Lambda and `autolabel serve`."""
