"""AWS adapters of the ports (S3, DynamoDB, SQS). The only package that imports boto3.

Clients are passed in, so the Lambdas build them once per container and the tests build them
under moto; ``clients`` holds the shared retry configuration.
"""
