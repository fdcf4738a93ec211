"""The CDK app: one construct per concern, composed by ``stack.AutolabelStack``."""
